// `npm test`: compile tests/vectors.ts with asc and check the SDK's codec against the
// shared ABI vectors (sdk/abi/vectors.json): every request decodes to its fields and
// re-encodes byte for byte, every response re-encodes byte for byte, and broken
// responses are refused. tests/sdk/test_ts_sdk.py runs the same checks under wasmtime.
import asc from "assemblyscript/asc";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const vectors = JSON.parse(readFileSync(here("../../abi/vectors.json"), "utf8"));
const hex = (s) => Buffer.from(s, "hex");

async function compile() {
  let binary = null;
  const { error, stderr } = await asc.main(["tests/vectors.ts", "-O3", "--outFile", "vectors.wasm"], {
    baseDir: here(".."),
    writeFile(name, contents) {
      if (name.endsWith(".wasm")) binary = contents;
    },
  });
  if (error) throw new Error(`asc failed: ${error.message}\n${stderr.toString()}`);
  return binary;
}

function codec(binary) {
  let exports;
  const env = {
    abort(msg, file, line, col) {
      throw new Error(`abort at ${line}:${col}`);
    },
  };
  exports = new WebAssembly.Instance(new WebAssembly.Module(binary), { env }).exports;
  return function call(name, data) {
    const ptr = exports.alloc(data.length);
    new Uint8Array(exports.memory.buffer, ptr, data.length).set(data);
    const ret = exports[name](ptr, data.length);
    if (ret < 0n) return null;
    const at = Number(ret >> 32n);
    const len = Number(ret & 0xffffffffn);
    return Buffer.from(new Uint8Array(exports.memory.buffer, at, len));
  };
}

const call = codec(await compile());
let checked = 0;

for (const v of vectors.requests) {
  const encoded = hex(v.encoded);
  assert.deepEqual(call("reencode_request", encoded), encoded, `request ${v.name} re-encodes`);
  const lines = call("describe_request", encoded).toString("utf8").split("\n");
  const text = (key) => hex(v[key]).toString("utf8");
  assert.deepEqual(lines.slice(0, 6), ["method", "url", "route", "base", "path_info", "client"].map(text),
    `request ${v.name} fields`);
  assert.deepEqual(lines.slice(6, 9), [String(v.params.length), String(v.headers.length), String(hex(v.body).length)],
    `request ${v.name} counts`);
  v.headers.forEach(([name, value], i) => {
    assert.equal(lines[9 + i], `${hex(name).toString("utf8")}: ${hex(value).toString("utf8")}`,
      `request ${v.name} header ${i}`);
  });
  checked++;
}

for (const v of vectors.responses) {
  const encoded = hex(v.encoded);
  assert.deepEqual(call("reencode_response", encoded), encoded, `response ${v.name} re-encodes`);
  checked++;
}

const first = hex(vectors.responses[0].encoded);
for (const bad of [Buffer.alloc(0), Buffer.from([1, 2]), first.subarray(0, -1), Buffer.concat([first, Buffer.from([0])])]) {
  assert.equal(call("reencode_response", bad), null, `a broken response (${bad.length} bytes) is refused`);
}

console.log(`ok: ${checked} vectors (${vectors.requests.length} requests, ${vectors.responses.length} responses)` +
  " decode and re-encode byte for byte; broken responses are refused");
