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
// Calls are synchronous: a host import returns at once (mocked KV, a
// synchronous fetch mock). Imports that need waiting in the real server
// (sockets, sleep) answer IO unless mocked.

import {
  ErrorCode, Kind, Writer, bytes, decodeOutboundRequest, decodeResponse, encodeKeys, encodeRequest, text,
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

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

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
    const imports = { wasm_server: {}, wasi_snapshot_preview1: {} };
    const caps = hostImports(this);
    const wasi = wasiImports(() => this.memory, {
      env: guest.options.env, args: guest.options.args,
      stdout: (b) => this.log(2, text(b)), stderr: (b) => this.log(3, text(b)),
    });
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
    if (this.exports._initialize) this.exports._initialize();
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
    const ptr = this.place(payload);
    return this.exports.wasm_server_handle(kind, ptr, payload.length);
  }

  /**
   * Handle an HTTP request ({method, url, route, base, pathInfo, client,
   * params, headers, body}); returns {status, headers (strings), body}.
   */
  handleHttp(request) {
    const ret = this.event(Kind.HTTP_REQUEST, encodeRequest(request, this.writer));
    if (ret < 0n) throw new GuestError(`${this.guest.name}: the guest failed (returned ${ret})`);
    const ptr = Number(ret >> 32n), len = Number(ret & 0xffffffffn);
    const res = decodeResponse(this.read(ptr, len));
    return {
      status: res.status,
      streamed: (res.flags & 1) === 1,
      headers: res.headers.map(([n, v]) => [text(n), text(v)]),
      body: res.body.slice(),
    };
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
    conn_send: unsupported('connections'),
    ws_send: unsupported('WebSockets'),
    conn_close: unsupported('connections'),
    conn_peer: big(unsupported('connections')),
    udp_send: unsupported('UDP'),
    publish: guarded(() => 0),
    subscribe: unsupported('pub/sub'),
    sleep_ms: guarded(() => 0),
    stream_start: unsupported('streaming'),
    stream_write: unsupported('streaming'),
    tcp_connect: big(unsupported('outbound sockets')),
    udp_connect: big(unsupported('outbound sockets')),
    sock_send: unsupported('outbound sockets'),
    sock_recv: big(unsupported('outbound sockets')),
    sock_close: unsupported('outbound sockets'),
  };
}
