// The wasm-server ABI v1 codec in JavaScript (docs/abi.md, "Encodings").
// Pure functions over Uint8Array: runs in Node.js and in browsers alike.

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Error codes of host imports (docs/abi.md, "Error codes"). */
export const ErrorCode = Object.freeze({
  NOT_FOUND: -1, DENIED: -2, TOO_LARGE: -3, INVALID: -4, IO: -5, TIMEOUT: -6,
});

/** Event kinds of wasm_server_handle. */
export const Kind = Object.freeze({
  HTTP_REQUEST: 1, TCP_CONNECT: 2, TCP_DATA: 3, TCP_CLOSE: 4, UDP_DATAGRAM: 5,
  WS_OPEN: 6, WS_MESSAGE: 7, WS_CLOSE: 8, TIMER: 9,
});

/** Bytes of a string (UTF-8) or a byte array as it is. */
export function bytes(value) {
  if (value === undefined || value === null) return new Uint8Array(0);
  if (typeof value === 'string') return utf8.encode(value);
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new TypeError(`expected a string or bytes, got ${typeof value}`);
}

/** Appends little-endian u32s and length-prefixed byte strings. */
export class Writer {
  constructor(size = 256) {
    this.buf = new Uint8Array(size);
    this.len = 0;
  }

  reserve(n) {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
  }

  u32(v) {
    this.reserve(4);
    const b = this.buf, at = this.len;
    b[at] = v & 0xff; b[at + 1] = (v >>> 8) & 0xff; b[at + 2] = (v >>> 16) & 0xff; b[at + 3] = (v >>> 24) & 0xff;
    this.len += 4;
    return this;
  }

  bytes(value) {
    const b = bytes(value);
    this.u32(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  pairs(list) {
    this.u32(list.length);
    for (const [name, value] of list) this.bytes(name).bytes(value);
    return this;
  }

  done() {
    return this.buf.subarray(0, this.len);
  }
}

/** Reads what Writer wrote; every read checks the bounds and throws RangeError past the end. */
export class Reader {
  constructor(buf) {
    this.buf = buf;
    this.at = 0;
  }

  u32() {
    if (this.at + 4 > this.buf.length) throw new RangeError(`truncated: u32 at ${this.at}`);
    const b = this.buf, at = this.at;
    this.at += 4;
    return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
  }

  bytes() {
    const n = this.u32();
    if (this.at + n > this.buf.length) throw new RangeError(`truncated: ${n} bytes at ${this.at}`);
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  str() {
    return fromUtf8.decode(this.bytes());
  }

  pairs() {
    const count = this.u32();
    const out = [];
    for (let i = 0; i < count; i++) out.push([this.bytes(), this.bytes()]);
    return out;
  }
}

/**
 * Encode an inbound request. Fields: method, url, route, base, pathInfo,
 * client (strings), params and headers ([name, value] lists), body.
 */
export function encodeRequest(req, w = new Writer(256)) {
  w.len = 0;
  return w.u32(req.flags || 0).bytes(req.method || 'GET').bytes(req.url || '/').bytes(req.route || '')
    .bytes(req.base || '').bytes(req.pathInfo ?? req.url ?? '/').bytes(req.client || '')
    .pairs(req.params || []).pairs(req.headers || []).bytes(req.body).done();
}

/** Decode a request encoding (the inverse of encodeRequest; strings stay bytes for exactness). */
export function decodeRequest(buf) {
  const r = new Reader(buf);
  const out = {
    flags: r.u32(), method: r.bytes(), url: r.bytes(), route: r.bytes(), base: r.bytes(),
    pathInfo: r.bytes(), client: r.bytes(), params: r.pairs(), headers: r.pairs(), body: r.bytes(),
  };
  if (r.at !== buf.length) throw new RangeError(`${buf.length - r.at} bytes after the request`);
  return out;
}

/** Encode a response: status, headers ([name, value] list), body; flags bit 0 = streamed. */
export function encodeResponse(res, w = new Writer(64)) {
  return w.u32(res.status).u32(res.flags || 0).pairs(res.headers || []).bytes(res.body).done();
}

/** Decode a response encoding; throws RangeError/TypeError on anything malformed. */
export function decodeResponse(buf) {
  const r = new Reader(buf);
  const status = r.u32();
  if (status < 100 || status > 999) throw new RangeError(`status ${status} out of range`);
  const out = { status, flags: r.u32(), headers: r.pairs(), body: r.bytes() };
  if (r.at !== buf.length) throw new RangeError(`${buf.length - r.at} bytes after the response`);
  return out;
}

/** Decode an outbound request (http_send): flags, method, url, headers, body. */
export function decodeOutboundRequest(buf) {
  const r = new Reader(buf);
  return { flags: r.u32(), method: r.str(), url: r.str(), headers: r.pairs(), body: r.bytes() };
}

/** TCP_CONNECT: `u32 conn, str peer, str local`. */
export function encodeConnect(conn, peer, local) {
  return new Writer(64).u32(conn).bytes(peer).bytes(local).done();
}

/** TCP_DATA: `u32 conn, bytes data`. */
export function encodeData(conn, data) {
  return new Writer(bytes(data).length + 8).u32(conn).bytes(data).done();
}

/** TCP_CLOSE: `u32 conn`. */
export function encodeConn(conn) {
  return new Writer(4).u32(conn).done();
}

/** WS_OPEN: `u32 conn`, then the request encoding of the upgrade request. */
export function encodeWsOpen(conn, request) {
  const req = encodeRequest(request);
  const w = new Writer(req.length + 4).u32(conn);
  w.reserve(req.length);
  w.buf.set(req, w.len);
  w.len += req.length;
  return w.done();
}

/** WS_MESSAGE: `u32 conn, u32 flags (bit 0 = binary), bytes data`. */
export function encodeWsMessage(conn, binary, data) {
  return new Writer(bytes(data).length + 12).u32(conn).u32(binary ? 1 : 0).bytes(data).done();
}

/** WS_CLOSE: `u32 conn, u32 code, str reason`. */
export function encodeWsClose(conn, code, reason) {
  return new Writer(64).u32(conn).u32(code).bytes(reason).done();
}

/** Encode a sorted key list (kv_keys). */
export function encodeKeys(keys) {
  const w = new Writer(64);
  w.u32(keys.length);
  for (const k of keys) w.bytes(k);
  return w.done();
}

/** Text of a byte array (UTF-8). */
export function text(b) {
  return fromUtf8.decode(b);
}
