// A wasm-server ABI v1 host in JavaScript: runs the same guest modules as
// the Python server, in Node.js or in a browser, on the JS engine's own
// WebAssembly (V8, SpiderMonkey …). Every host capability is a plain object
// the embedder passes in, so a browser page can mock KV, variables, the log
// and outbound HTTP; `mocks` replaces any import outright.
//
//   const guest = await GuestModule.compile(bytes, { variables: { greeting: 'hi' } });
//   const instance = guest.instantiate();
//   const res = instance.handleHttp({ method: 'GET', url: '/x?y=1' });
//   // → { status, headers: [[name, value] …] (strings), body: Uint8Array }
//
// TCP and WebSocket services run as in the server: one instance per
// connection, events in order. The embedder plays the peer and collects
// what the guest sent (conn_send, ws_send, conn_close, pub/sub):
//
//   const conn = guest.instantiate().openConnection('websocket', { url: '/ws' });
//   conn.instance.wsMessage(conn, 'hi', false);
//   conn.take();   // → [{ data: Uint8Array, binary: false }]; conn.closed, conn.closeCode
//   conn.instance.closeConnection(conn, 1000, 'bye');
//
// UDP: instance.datagram(socket, peer, data) sends UDP_DATAGRAM and returns
// what the guest sent back with udp_send. A streamed response (stream_start,
// stream_write) comes back whole, its body read up to `streamLimit` bytes
// (default 1 MiB; past it stream_write answers IO, as when a client left).
//
// Calls are synchronous: a host import returns at once (mocked KV, a
// synchronous fetch mock). Nothing waits: sleep_ms and WASI poll_oneoff
// return at once and advance the instance's clock instead, so a guest that
// sleeps between events sees the time it expects. Outbound sockets answer
// IO unless mocked. publish reaches the subscribed connections of the same
// GuestModule (the server's per-component channels, in one process).

import {
  ErrorCode, Kind, Writer, bytes, decodeOutboundRequest, decodeResponse, encodeConn, encodeConnect, encodeData,
  encodeKeys, encodeRequest, encodeWsClose, encodeWsMessage, encodeWsOpen, text,
} from './abi.mjs';
import { WasiExit, notImplemented, wasiImports } from './wasi.mjs';

export { ErrorCode, Kind } from './abi.mjs';
export { WasiExit } from './wasi.mjs';

/** An error a capability raises to hand the guest an ABI error code and a message. */
export class HostError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** A guest failure the embedder should report (trap, bad return, malformed response). */
export class GuestError extends Error {}

/** The KV store used when none is given: Maps in memory, one per store label. */
export class MemoryKv {
  constructor() {
    this.stores = new Map();
  }

  store(label) {
    let s = this.stores.get(label);
    if (!s) this.stores.set(label, (s = new Map()));
    return s;
  }

  get(label, key) { return this.store(label).get(text(key)); }
  set(label, key, value) { this.store(label).set(text(key), value.slice()); }
  delete(label, key) { this.store(label).delete(text(key)); }
  exists(label, key) { return this.store(label).has(text(key)); }
  keys(label, prefix) {
    const p = text(prefix);
    return [...this.store(label).keys()].filter((k) => k.startsWith(p)).sort();
  }
  incr(label, key, delta) {
    const old = this.get(label, key);
    const current = old === undefined ? 0n : BigInt(text(old).trim() || 'x');
    const value = current + delta;
    this.set(label, key, bytes(String(value)));
    return value;
  }
}

const MAX_MESSAGE = 1024 * 1024;
const STDIO_MAX = 64 * 1024;
const STREAM_LIMIT = 1024 * 1024;
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];
const fatalText = new TextDecoder('utf-8', { fatal: true });

// connection ids are unique within the process, as in the server
let nextConnId = 1;

/**
 * One TCP connection or WebSocket served by one GuestInstance. `output`
 * collects what the guest sent ({data: Uint8Array, binary}); `closed` is
 * set once it ended, with `closeCode`/`closeReason` and `closedBy`
 * ('guest' | 'peer' | 'trap').
 */
export class Connection {
  constructor(instance, kind, peer) {
    this.instance = instance;
    this.kind = kind;
    this.id = nextConnId++;
    this.peer = peer;
    this.output = [];
    this.closed = false;
    this.closing = null;
    this.closeCode = null;
    this.closeReason = '';
    this.closedBy = null;
    this.channels = new Set();
  }

  /** What the guest sent since the last take(), and forget it. */
  take() {
    const out = this.output;
    this.output = [];
    return out;
  }

  /** The peer closes: `instance.closeConnection(this, code, reason)`. */
  close(code = 1000, reason = '') {
    return this.instance.closeConnection(this, code, reason);
  }

  /** Queue a message for the peer; false once the connection is closing. */
  send(data, binary) {
    if (this.closed || this.closing) return false;
    if (this.kind === 'websocket' && !binary) {
      try { fatalText.decode(data); } catch { return false; } // a text message must be UTF-8
    }
    this.output.push({ data: data.slice(), binary: this.kind === 'tcp' ? true : binary });
    return true;
  }
}

/** A compiled guest module plus the capabilities its instances get. */
export class GuestModule {
  /**
   * Options: name, stores (labels the guest may use; default ['default']),
   * kv (see MemoryKv), variables ({name: value}), log(level, message, name),
   * fetch({method, url, headers, body}) → {status, headers, body} (sync),
   * mocks ({importName: fn(instance, ...args)}), env, args.
   */
  constructor(module, options = {}) {
    this.module = module;
    this.options = options;
    this.name = options.name || 'guest';
    this.stores = new Set(options.stores || ['default']);
    this.kv = options.kv || new MemoryKv();
    /** live connections of this component by id (a guest can act only on these) */
    this.connections = new Map();
    /** pub/sub: channel name → Set of subscribed connections */
    this.channels = new Map();
    this.imports = WebAssembly.Module.imports(module);
    const exports = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
    for (const required of ['memory', 'wasm_server_abi_version', 'wasm_server_alloc', 'wasm_server_handle']) {
      if (!exports.has(required)) throw new GuestError(`${this.name}: the module does not export ${required}`);
    }
  }

  /** Compile wasm bytes (the engine's own compiler) and check the ABI exports. */
  static async compile(wasmBytes, options = {}) {
    return new GuestModule(await WebAssembly.compile(wasmBytes), options);
  }

  /** A new instance, `_initialize`d and checked for ABI version 1. */
  instantiate() {
    return new GuestInstance(this);
  }
}

/** One instance of a guest: handles events one at a time. */
export class GuestInstance {
  constructor(guest) {
    this.guest = guest;
    this.slot = new Uint8Array(0);
    this.writer = new Writer(1024);
    this.bufferPtr = 0;
    this.bufferCap = 0;
    this.logLines = [];
    /** nothing waits here: sleeps advance this instance's clock instead (sleep_ms, WASI poll_oneoff) */
    this.sleptNs = 0n;
    /** the streamed response of the running HTTP request: {status, headers, chunks, size} */
    this.stream = null;
    /** what the guest sent with udp_send: [{socket, peer, data}] (take with takeDatagrams()) */
    this.datagrams = [];
    /** the wake-up the guest asked for with wake_after (ms), or null; deliver it with timer() */
    this.wakeAfterMs = null;
    const imports = { wasm_server: {}, wasi_snapshot_preview1: {} };
    const caps = hostImports(this);
    /** the `wasm_server` import functions bound to this instance (what the guest calls) */
    this.capabilities = caps;
    const wasi = wasiImports(() => this.memory, {
      env: guest.options.env, args: guest.options.args,
      stdout: (b) => this.stdioWrite(1, b), stderr: (b) => this.stdioWrite(2, b),
      now: () => BigInt(Date.now()) * 1000000n + this.sleptNs,
      sleep: (ns) => { this.sleptNs += ns; },
    });
    // stdout/stderr become log lines as in the server: whole lines, at most
    // STDIO_MAX bytes per event, a last line without its newline at its end
    this.stdio = { 1: { decoder: new TextDecoder(), partial: '' }, 2: { decoder: new TextDecoder(), partial: '' } };
    this.stdioBudget = STDIO_MAX;
    this.stdioDropped = 0;
    for (const imp of guest.imports) {
      if (imp.kind !== 'function') continue;
      if (imp.module === 'wasm_server') {
        const mock = guest.options.mocks && guest.options.mocks[imp.name];
        imports.wasm_server[imp.name] = mock ? (...a) => mock(this, ...a) : (caps[imp.name] || unknownImport(imp.name));
      } else if (imp.module === 'wasi_snapshot_preview1') {
        imports.wasi_snapshot_preview1[imp.name] = wasi[imp.name] || notImplemented;
      } else {
        throw new GuestError(`${guest.name}: unknown import module '${imp.module}' (${imp.name})`);
      }
    }
    this.instance = new WebAssembly.Instance(guest.module, imports);
    this.exports = this.instance.exports;
    this.memory = this.exports.memory;
    try {
      if (this.exports._initialize) this.exports._initialize();
    } finally {
      this.stdioFlush();
    }
    const version = this.exports.wasm_server_abi_version();
    if (version !== 1) throw new GuestError(`${guest.name}: ABI version ${version}, this host speaks 1`);
  }

  /** The guest's memory as bytes (a fresh view: memory.grow detaches old ones). */
  mem() {
    return new Uint8Array(this.memory.buffer);
  }

  read(ptr, len) {
    if (ptr < 0 || len < 0 || ptr + len > this.memory.buffer.byteLength) {
      throw new GuestError(`${this.guest.name}: pointer ${ptr}+${len} is outside the guest's memory`);
    }
    return new Uint8Array(this.memory.buffer, ptr, len);
  }

  log(level, message) {
    const line = { level: LEVELS[level] || 'info', message: message.replace(/\n$/, '') };
    this.logLines.push(line);
    if (this.logLines.length > 1000) this.logLines.shift();
    if (this.guest.options.log) this.guest.options.log(line.level, line.message, this.guest.name);
  }

  stdioWrite(fd, data) {
    const n = Math.min(data.length, this.stdioBudget);
    this.stdioDropped += data.length - n;
    this.stdioBudget -= n;
    if (n === 0) return;
    const out = this.stdio[fd];
    out.partial += out.decoder.decode(data.subarray(0, n), { stream: true });
    let at;
    while ((at = out.partial.indexOf('\n')) >= 0) {
      this.log(fd === 1 ? 2 : 3, out.partial.slice(0, at));
      out.partial = out.partial.slice(at + 1);
    }
  }

  /** The end of an event: log what is left of a line, and how much output was dropped. */
  stdioFlush() {
    for (const fd of [1, 2]) {
      const out = this.stdio[fd];
      out.partial += out.decoder.decode();
      if (out.partial) this.log(fd === 1 ? 2 : 3, out.partial);
      out.partial = '';
    }
    if (this.stdioDropped) {
      this.log(3, `${this.stdioDropped} more bytes of output dropped: at most ${STDIO_MAX} bytes per event are logged`);
    }
    this.stdioBudget = STDIO_MAX;
    this.stdioDropped = 0;
  }

  /** Write `data` into guest memory and return its pointer. */
  place(data) {
    let ptr;
    if (this.exports.wasm_server_request_buffer) {
      if (data.length > this.bufferCap || this.bufferPtr === 0) {
        this.bufferPtr = this.exports.wasm_server_request_buffer(Math.max(data.length, 1));
        this.bufferCap = this.bufferPtr ? data.length : 0;
      }
      ptr = this.bufferPtr;
    } else {
      ptr = this.exports.wasm_server_alloc(data.length);
    }
    if (!ptr) throw new GuestError(`${this.guest.name}: could not allocate ${data.length} bytes`);
    this.mem().set(data, ptr);
    return ptr;
  }

  /** Call wasm_server_handle with an event payload; returns the raw i64 (BigInt). */
  event(kind, payload) {
    try {
      const ptr = this.place(payload);
      return this.exports.wasm_server_handle(kind, ptr, payload.length);
    } finally {
      this.stdioFlush();
    }
  }

  /**
   * Handle an HTTP request ({method, url, route, base, pathInfo, client,
   * params, headers, body}); returns {status, headers (strings), body}.
   */
  handleHttp(request) {
    this.stream = { started: false, status: 0, headers: [], chunks: [], size: 0, gone: false };
    try {
      const ret = this.event(Kind.HTTP_REQUEST, encodeRequest(request, this.writer));
      if (ret < 0n) throw new GuestError(`${this.guest.name}: the guest failed (returned ${ret})`);
      const ptr = Number(ret >> 32n), len = Number(ret & 0xffffffffn);
      const res = decodeResponse(this.read(ptr, len));
      const stream = this.stream;
      if (res.flags & 1) {
        // a streamed response: the head came with stream_start, the body in stream_write chunks
        if (!stream.started) throw new GuestError(`${this.guest.name}: a streamed response without stream_start`);
        const body = new Uint8Array(stream.size);
        let at = 0;
        for (const chunk of stream.chunks) { body.set(chunk, at); at += chunk.length; }
        return { status: stream.status, streamed: true, headers: stream.headers, body };
      }
      return {
        status: res.status,
        streamed: false,
        headers: res.headers.map(([n, v]) => [text(n), text(v)]),
        body: res.body.slice(),
      };
    } finally {
      this.stream = null;
    }
  }

  /**
   * A datagram from `peer` ("ip:port") on UDP listener `socket` (UDP_DATAGRAM);
   * returns what the guest sent back with udp_send: [{socket, peer, data}].
   */
  datagram(socket, peer, data) {
    this.event(Kind.UDP_DATAGRAM, new Writer(64).u32(socket).bytes(peer).bytes(bytes(data)).done());
    return this.takeDatagrams();
  }

  /** Deliver the TIMER event the guest asked for with wake_after (nothing waits here: the
   * embedder decides when); returns what the guest sent with udp_send meanwhile. */
  timer() {
    this.wakeAfterMs = null;
    this.event(Kind.TIMER, new Uint8Array(0));
    return this.takeDatagrams();
  }

  /** The datagrams the guest sent since the last take, and forget them. */
  takeDatagrams() {
    const out = this.datagrams;
    this.datagrams = [];
    return out;
  }

  /**
   * A peer connects: kind 'tcp' with {peer, local} ("ip:port") sends
   * TCP_CONNECT; kind 'websocket' with the upgrade request (the fields of
   * handleHttp) sends WS_OPEN. Returns the Connection (closed at once if the
   * guest refused it). A trap closes the connection and is thrown.
   */
  openConnection(kind, init = {}) {
    if (kind !== 'tcp' && kind !== 'websocket') throw new TypeError(`unknown connection kind '${kind}' (tcp or websocket)`);
    const peer = kind === 'tcp' ? (init.peer || '127.0.0.1:49152') : (init.client || '127.0.0.1:49152');
    const conn = new Connection(this, kind, peer);
    this.guest.connections.set(conn.id, conn);
    if (kind === 'tcp') this.connEvent(conn, Kind.TCP_CONNECT, encodeConnect(conn.id, peer, init.local || '127.0.0.1:7'));
    else this.connEvent(conn, Kind.WS_OPEN, encodeWsOpen(conn.id, { ...init, client: peer }));
    return conn;
  }

  /** Bytes from the TCP peer (TCP_DATA). */
  connectionData(conn, data) {
    this.own(conn, 'tcp');
    return this.connEvent(conn, Kind.TCP_DATA, encodeData(conn.id, bytes(data)));
  }

  /** A whole WebSocket message from the peer (WS_MESSAGE): text (a string or UTF-8 bytes) or binary. */
  wsMessage(conn, data, binary = typeof data !== 'string') {
    this.own(conn, 'websocket');
    return this.connEvent(conn, Kind.WS_MESSAGE, encodeWsMessage(conn.id, binary, bytes(data)));
  }

  /** The peer closes (TCP_CLOSE, or WS_CLOSE with its code and reason); nothing if already closed. */
  closeConnection(conn, code = 1000, reason = '') {
    this.own(conn);
    if (!conn.closed) this.finish(conn, code, reason, 'peer');
    return conn;
  }

  own(conn, kind) {
    if (conn.instance !== this) throw new TypeError(`connection ${conn.id} belongs to another instance`);
    if (kind && conn.kind !== kind) throw new TypeError(`connection ${conn.id} is ${conn.kind}, not ${kind}`);
    if (conn.closed && kind) throw new GuestError(`${this.guest.name}: connection ${conn.id} is closed`);
  }

  /** Run one connection event; a negative return or the guest's conn_close ends the connection. */
  connEvent(conn, kind, payload) {
    let ret;
    try {
      ret = this.event(kind, payload);
    } catch (err) {
      // the server discards a trapped instance: no close event reaches it
      this.drop(conn, 1011, 'internal error', 'trap');
      throw err;
    }
    if (conn.closing) this.finish(conn, conn.closing.code, conn.closing.reason, 'guest');
    else if (ret < 0n) this.finish(conn, kind === Kind.WS_OPEN ? 1008 : 1011, 'closed by the service', 'guest');
    return conn;
  }

  drop(conn, code, reason, by) {
    conn.closed = true;
    conn.closeCode = conn.kind === 'websocket' ? code : null;
    conn.closeReason = conn.kind === 'websocket' ? reason : '';
    conn.closedBy = by;
    this.guest.connections.delete(conn.id);
    for (const channel of conn.channels) this.guest.channels.get(channel)?.delete(conn);
    conn.channels.clear();
  }

  /** End the connection, then tell the guest (TCP_CLOSE / WS_CLOSE, last event, return ignored). */
  finish(conn, code, reason, by) {
    this.drop(conn, code, reason, by);
    if (conn.kind === 'tcp') this.event(Kind.TCP_CLOSE, encodeConn(conn.id));
    else this.event(Kind.WS_CLOSE, encodeWsClose(conn.id, code, reason));
  }
}

function unknownImport(name) {
  return () => { throw new GuestError(`the guest called wasm_server.${name}, which this host does not provide`); };
}

/** The `wasm_server` imports, bound to one instance. */
function hostImports(inst) {
  const g = inst.guest;
  const setSlot = (data) => { inst.slot = data; return data.length; };
  const fail = (err) => {
    if (err instanceof HostError) { inst.slot = bytes(err.message); return err.code; }
    throw err;
  };
  const store = (ptr, len) => {
    const label = text(inst.read(ptr, len));
    if (!g.stores.has(label)) throw new HostError(ErrorCode.DENIED, `store '${label}' is not declared`);
    return label;
  };
  const guarded = (fn) => (...args) => { try { return fn(...args); } catch (err) { return fail(err); } };
  const big = (fn) => (...args) => BigInt(fn(...args));
  const connection = (id) => {
    const conn = g.connections.get(id >>> 0);
    if (!conn || conn.closed) throw new HostError(ErrorCode.NOT_FOUND, `connection ${id >>> 0} is closed or not one of '${g.name}'`);
    return conn;
  };
  const gone = (id) => { throw new HostError(ErrorCode.NOT_FOUND, `connection ${id >>> 0} is closing (or a text message was not UTF-8)`); };
  const channelName = (ptr, len) => {
    try { return fatalText.decode(inst.read(ptr, len)); } catch { throw new HostError(ErrorCode.INVALID, 'channel name is not valid UTF-8'); }
  };
  const unsupported = (what) => guarded(() => { throw new HostError(ErrorCode.IO, `${what} is not available in this host`); });

  return {
    result_read: (ptr, len) => {
      const n = Math.min(len, inst.slot.length);
      if (n > 0) inst.mem().set(inst.slot.subarray(0, n), ptr);
      return inst.slot.length;
    },
    log: (level, ptr, len) => inst.log(level, text(inst.read(ptr, len))),
    var_get: big(guarded((ptr, len) => {
      const vars = g.options.variables || {};
      const name = text(inst.read(ptr, len));
      if (!Object.prototype.hasOwnProperty.call(vars, name)) { inst.slot = new Uint8Array(0); return ErrorCode.NOT_FOUND; }
      return setSlot(bytes(vars[name]));
    })),
    kv_get: big(guarded((sp, sl, kp, kl) => {
      const value = g.kv.get(store(sp, sl), inst.read(kp, kl));
      if (value === undefined) { inst.slot = new Uint8Array(0); return ErrorCode.NOT_FOUND; }
      return setSlot(bytes(value));
    })),
    kv_set: guarded((sp, sl, kp, kl, vp, vl) => { g.kv.set(store(sp, sl), inst.read(kp, kl), inst.read(vp, vl)); return 0; }),
    kv_delete: guarded((sp, sl, kp, kl) => { g.kv.delete(store(sp, sl), inst.read(kp, kl)); return 0; }),
    kv_exists: guarded((sp, sl, kp, kl) => (g.kv.exists(store(sp, sl), inst.read(kp, kl)) ? 1 : 0)),
    kv_keys: big(guarded((sp, sl, pp, pl) => setSlot(encodeKeys(g.kv.keys(store(sp, sl), inst.read(pp, pl)))))),
    kv_incr: guarded((sp, sl, kp, kl, delta, out) => {
      let value;
      try {
        value = g.kv.incr(store(sp, sl), inst.read(kp, kl), delta);
      } catch (err) {
        if (err instanceof SyntaxError) throw new HostError(ErrorCode.INVALID, 'the value is not a decimal integer');
        throw err;
      }
      new DataView(inst.memory.buffer).setBigInt64(out, value, true);
      return 0;
    }),
    http_send: big(guarded((ptr, len) => {
      const req = decodeOutboundRequest(inst.read(ptr, len).slice());
      if (!g.options.fetch) throw new HostError(ErrorCode.DENIED, `outbound HTTP to ${req.url} is not allowed in this host`);
      const res = g.options.fetch({ ...req, headers: req.headers.map(([n, v]) => [text(n), text(v)]) });
      const w = new Writer(256);
      return setSlot(w.u32(res.status).u32(0).pairs(res.headers || []).bytes(res.body).done());
    })),
    conn_send: guarded((id, ptr, len) => (connection(id).send(inst.read(ptr, len), true) ? 0 : gone(id))),
    ws_send: guarded((id, flags, ptr, len) => (connection(id).send(inst.read(ptr, len), (flags & 1) === 1) ? 0 : gone(id))),
    conn_close: guarded((id, code, ptr, len) => {
      const conn = connection(id);
      // applied when the running event returns: the close event comes after it, last
      if (!conn.closing) conn.closing = { code: code || 1000, reason: text(inst.read(ptr, len)) };
      return 0;
    }),
    conn_peer: big(guarded((id) => setSlot(bytes(connection(id).peer)))),
    udp_send: guarded((socket, pp, pl, dp, dl) => {
      inst.datagrams.push({ socket, peer: text(inst.read(pp, pl)), data: inst.read(dp, dl).slice() });
      return 0;
    }),
    publish: guarded((cp, cl, dp, dl) => {
      const channel = channelName(cp, cl);
      if (dl > MAX_MESSAGE) throw new HostError(ErrorCode.TOO_LARGE, `message of ${dl} bytes is over the ${MAX_MESSAGE} limit`);
      const data = inst.read(dp, dl);
      let count = 0;
      for (const conn of g.channels.get(channel) || []) if (conn.send(data, false)) count++;
      return count;
    }),
    subscribe: guarded((id, cp, cl) => {
      const channel = channelName(cp, cl);
      const conn = connection(id);
      if (!g.channels.has(channel)) g.channels.set(channel, new Set());
      g.channels.get(channel).add(conn);
      conn.channels.add(channel);
      return 0;
    }),
    wake_after: guarded((ms) => { inst.wakeAfterMs = ms < 0 ? null : Math.max(ms, 1); return 0; }),
    // this host has no sockets: a guest's UDP listeners are the sockets it was sent datagrams on
    udp_listeners: big(guarded(() => setSlot(new Writer(8).u32(0).done()))),
    sleep_ms: guarded((ms) => { inst.sleptNs += BigInt(Math.max(ms, 0)) * 1000000n; return 0; }),
    stream_start: guarded((ptr, len) => {
      const stream = inst.stream;
      if (!stream) throw new HostError(ErrorCode.INVALID, 'stream_start is only available while handling an HTTP request');
      if (stream.started) throw new HostError(ErrorCode.INVALID, 'the response has already started');
      let head;
      try {
        head = decodeResponse(inst.read(ptr, len).slice());
      } catch (err) {
        throw new HostError(ErrorCode.INVALID, `malformed response head: ${err.message}`);
      }
      Object.assign(stream, { started: true, status: head.status, headers: head.headers.map(([n, v]) => [text(n), text(v)]) });
      return 0;
    }),
    stream_write: guarded((ptr, len) => {
      const stream = inst.stream;
      if (!stream || !stream.started) throw new HostError(ErrorCode.INVALID, 'call stream_start first');
      // the embedder reads at most streamLimit bytes, then acts as a client that left
      if (stream.gone || stream.size + len > (g.options.streamLimit ?? STREAM_LIMIT)) {
        stream.gone = true;
        throw new HostError(ErrorCode.IO, 'the client has gone away');
      }
      stream.chunks.push(inst.read(ptr, len).slice());
      stream.size += len;
      return 0;
    }),
    tcp_connect: big(unsupported('outbound sockets')),
    udp_connect: big(unsupported('outbound sockets')),
    sock_send: unsupported('outbound sockets'),
    sock_recv: big(unsupported('outbound sockets')),
    sock_close: unsupported('outbound sockets'),
  };
}
