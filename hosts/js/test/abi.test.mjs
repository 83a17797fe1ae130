// The JS codec against the shared vectors (sdk/abi/vectors.json), byte for byte.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Reader, decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../abi.mjs';

const vectors = JSON.parse(readFileSync(new URL('../../../sdk/abi/vectors.json', import.meta.url)));
const hex = (s) => Uint8Array.from(Buffer.from(s, 'hex'));
const pairs = (list) => list.map(([n, v]) => [hex(n), hex(v)]);

for (const v of vectors.requests) {
  test(`request vector ${v.name} decodes and re-encodes`, () => {
    const req = decodeRequest(hex(v.encoded));
    assert.deepEqual(req.method, hex(v.method));
    assert.deepEqual(req.url, hex(v.url));
    assert.deepEqual(req.pathInfo, hex(v.path_info));
    assert.deepEqual(req.headers, pairs(v.headers));
    assert.deepEqual(req.params, pairs(v.params));
    assert.deepEqual(req.body, hex(v.body));
    const again = encodeRequest({ ...req, pathInfo: req.pathInfo });
    assert.equal(Buffer.from(again).toString('hex'), v.encoded);
  });
}

for (const v of vectors.responses) {
  test(`response vector ${v.name} encodes byte for byte`, () => {
    const encoded = encodeResponse({ status: v.status, flags: v.flags, headers: pairs(v.headers), body: hex(v.body) });
    assert.equal(Buffer.from(encoded).toString('hex'), v.encoded);
    const back = decodeResponse(hex(v.encoded));
    assert.equal(back.status, v.status);
    assert.deepEqual(back.body, hex(v.body));
  });
}

test('truncated and trailing input is refused', () => {
  const good = hex(vectors.responses[0].encoded);
  assert.throws(() => decodeResponse(good.subarray(0, good.length - 1)), RangeError);
  assert.throws(() => decodeResponse(Uint8Array.of(...good, 0)), RangeError);
  assert.throws(() => new Reader(Uint8Array.of(255, 255, 255, 255)).bytes(), RangeError);
  assert.throws(() => decodeResponse(Uint8Array.of(5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), /status 5/);
});
