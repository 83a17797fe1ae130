// The guest exports of ABI v1 (docs/abi.md, "Guest exports"). `wasm-server
// ts-build` re-exports these from a generated entry next to yours, so a
// service only registers handlers (serve, serveTcp, ...).

import * as host from "./host";
import { Reader, Request, Response, Writer } from "./codec";
import { Conn, Handlers } from "./index";

const KIND_HTTP: i32 = 1;
const KIND_TCP_CONNECT: i32 = 2;
const KIND_TCP_DATA: i32 = 3;
const KIND_TCP_CLOSE: i32 = 4;
const KIND_UDP: i32 = 5;
const KIND_WS_OPEN: i32 = 6;
const KIND_WS_MESSAGE: i32 = 7;
const KIND_WS_CLOSE: i32 = 8;

// the encoded response must outlive the call: the host reads it afterwards
const out = new Writer(1024);
let requestBuffer: usize = 0;
let requestBufferSize: i32 = 0;

export function wasm_server_abi_version(): i32 {
  return 1;
}

export function wasm_server_alloc(size: i32): usize {
  return heap.alloc(<usize>max(size, 1));
}

/** One reusable buffer for requests: the host skips the alloc call (one crossing per request). */
export function wasm_server_request_buffer(size: i32): usize {
  if (size > requestBufferSize) {
    if (requestBuffer != 0) heap.free(requestBuffer);
    requestBuffer = heap.alloc(<usize>size);
    requestBufferSize = size;
  }
  return requestBuffer;
}

export function wasm_server_handle(kind: i32, ptr: usize, len: i32): i64 {
  const ret = dispatch(kind, ptr, <usize>len);
  if (ptr != requestBuffer) heap.free(ptr);
  // A full collection after every event: the garbage of this one is gone before the
  // next, so a reused instance idles at its live data (with the incremental collector
  // alone, a 1 MiB echo held twice the pages). The live heap is small, so it is cheap.
  if (ASC_RUNTIME != 0) __collect();
  return ret;
}

function packed(data: Uint8Array): i64 {
  return (<i64>data.dataStart << 32) | <i64>data.length;
}

function keep(yes: bool): i64 {
  return yes ? 0 : -1;
}

function dispatch(kind: i32, ptr: usize, len: usize): i64 {
  if (kind == KIND_HTTP) {
    const handler = Handlers.http;
    if (handler == null) return -1;
    const req = Request.decode(ptr, len);
    if (req == null) return -2;
    const res: Response = handler(req);
    return packed(res.encode(out));
  }
  const r = new Reader(ptr, len);
  const conn = new Conn(r.u32());
  if (kind == KIND_TCP_CONNECT) {
    if (Handlers.tcpData == null) return -1;
    const peer = r.str();
    const onConnect = Handlers.tcpConnect;
    return onConnect == null ? 0 : keep(onConnect(conn, peer));
  }
  if (kind == KIND_TCP_DATA) {
    const onData = Handlers.tcpData;
    if (onData == null) return -1;
    return keep(onData(conn, r.bytes()));
  }
  if (kind == KIND_TCP_CLOSE) {
    const onClose = Handlers.tcpClose;
    if (onClose != null) onClose(conn);
    return Handlers.tcpData == null ? -1 : 0;
  }
  if (kind == KIND_UDP) {
    const handler = Handlers.udp;
    if (handler == null) return -1;
    const peer = r.str();
    handler(conn.id, peer, r.bytes());
    return 0;
  }
  if (kind == KIND_WS_OPEN) {
    if (Handlers.wsMessage == null) return -1;
    const onOpen = Handlers.wsOpen;
    if (onOpen == null) return 0;
    const req = Request.decode(r.pos, r.end - r.pos);
    return req == null ? -1 : keep(onOpen(conn, req));
  }
  if (kind == KIND_WS_MESSAGE) {
    const onMessage = Handlers.wsMessage;
    if (onMessage == null) return -1;
    const flags = r.u32();
    return keep(onMessage(conn, r.bytes(), (flags & 1) != 0));
  }
  if (kind == KIND_WS_CLOSE) {
    const onClose = Handlers.wsClose;
    if (Handlers.wsMessage == null) return -1;
    const code = r.u32();
    if (onClose != null) onClose(conn, <i32>code, r.str());
    return 0;
  }
  return -1;
}
