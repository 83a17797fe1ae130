// Test exports over the SDK's codec: tests/sdk/test_ts_sdk.py feeds every vector of
// sdk/abi/vectors.json through these and compares bytes and fields.
import { Request, Response, Writer } from "../assembly/codec";

let keep: Uint8Array = new Uint8Array(0);

function packed(data: Uint8Array): i64 {
  keep = data;
  return (<i64>data.dataStart << 32) | <i64>data.length;
}

export function alloc(size: i32): usize {
  return heap.alloc(<usize>max(size, 1));
}

/** Decode a request encoding and encode it again. */
export function reencode_request(ptr: usize, len: i32): i64 {
  const req = Request.decode(ptr, <usize>len);
  if (req == null) return -1;
  return packed(req.encode());
}

/** The decoded fields, one per line, for the test to compare with the vector. */
export function describe_request(ptr: usize, len: i32): i64 {
  const req = Request.decode(ptr, <usize>len);
  if (req == null) return -1;
  let text = req.method + "\n" + req.url + "\n" + req.route + "\n" + req.base + "\n" + req.pathInfo + "\n" +
    req.client + "\n" + req.params.size.toString() + "\n" + req.headers.size.toString() + "\n" +
    req.body.length.toString() + "\n";
  for (let i = 0; i < req.headers.size; i++) text += req.headers.names[i] + ": " + req.headers.values[i] + "\n";
  return packed(Uint8Array.wrap(String.UTF8.encode(text)));
}

/** Decode a response encoding (null → -1) and encode it again. */
export function reencode_response(ptr: usize, len: i32): i64 {
  const res = Response.decode(ptr, <usize>len);
  if (res == null) return -1;
  return packed((<Response>res).encode(new Writer(64)));
}
