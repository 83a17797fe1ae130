// The studio's in-browser runner: one built component on hosts/js with
// mocked host calls. Pure (no DOM, no node: imports), so it runs in a Web
// Worker (worker.mjs) and in Node's tests alike.
//
// Messages in and out (the studio's worker protocol):
//   load {wasm, component, mocks}   → loaded {warnings?: [mocks the guest cannot see]} | error (kind 'load')
//   http {request}                  → response {status, headers, body, ms, streamed, log, kv, fetches} | error
//   open {kind, path}               → opened {output, closed, close, log, kv} | error
//                                     (kind 'websocket' | 'tcp' | 'udp': each send is a datagram)
//   send {data, binary}             → output {output, closed, close, log, kv} | error
//   close {}                        → output {output: [], closed: true, ...}
// Errors: {type: 'error', kind: 'load' | 'trap' | 'guest', message, log, kv}, and
// kind 'route' when no WebSocket route takes the path of an open.
//
// State lives as long as a load: the mocked KV carries over from one request
// (or connection) to the next, as the server's store would; a new load starts
// from the mocks again. Every HTTP request gets a fresh instance (a trap in
// one cannot poison the next); a connection has one instance for its life,
// as in the server. WAGI programs (abi "wagi", or a WASI command) run CGI
// style through hosts/js/wagi.mjs; wasi:http components (Python, JS) cannot
// run here: their load answers so.

import { ErrorCode, GuestError, GuestModule, HostError, MemoryKv, WasiExit } from '../../../../hosts/js/host.mjs';
import { WagiModule } from '../../../../hosts/js/wagi.mjs';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export const WASI_HTTP_MESSAGE = 'this is a wasi:http component (Python/JS): it runs on the server; use Deploy';
const PEER = '127.0.0.1:49152';

/** A load failure the runner reports as {type: 'error', kind: 'load'}. */
class LoadError extends Error {}

/** A WebSocket upgrade no route takes (the server answers it 404): {type: 'error', kind: 'route'}. */
class RouteError extends Error {}

/**
 * A glob (`*` = any run of characters, everything else literal) as an
 * anchored RegExp over the whole URL.
 */
export function globToRegExp(glob) {
  const body = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${body}$`);
}

/** Route patterns of the manifest (router.py's forms and order, without hosts). */
export function compileRoute(entry) {
  const spec = typeof entry === 'string' ? { path: entry } : entry || {};
  const text = spec.path || spec.pattern || spec.route;
  if (typeof text !== 'string' || !text.startsWith('/')) return null;
  let raw = text === '/' ? [] : text.slice(1).split('/');
  const wildcard = raw[raw.length - 1] === '...';
  if (wildcard) raw = raw.slice(0, -1);
  const segments = raw.map((s) => (s.startsWith('{') && s.endsWith('}') ? null : s));
  const names = raw.filter((s) => s.startsWith('{') && s.endsWith('}')).map((s) => s.slice(1, -1));
  const exact = !wildcard && names.length === 0;
  const methods = Array.isArray(spec.methods) && spec.methods.length ? spec.methods.map((m) => m.toUpperCase()) : null;
  const literals = segments.filter((s) => s !== null).length;
  return {
    text, segments, names, wildcard, exact, methods, websocket: spec.websocket === true,
    rank: [exact ? 0 : 1, -literals, names.length + (wildcard ? 2 : 0), -segments.length],
  };
}

/** `{base, pathInfo, params}` when `path` (no query) matches the compiled route, else null. */
export function matchRoute(route, path) {
  if (route.exact) return path === route.text ? { base: '', pathInfo: path, params: [] } : null;
  if (route.names.length === 0) { // a prefix wildcard
    const base = route.segments.length ? `/${route.segments.join('/')}` : '';
    if (path === base || path.startsWith(`${base}/`) || (!base && path.startsWith('/'))) {
      return { base, pathInfo: path.slice(base.length), params: [] };
    }
    return null;
  }
  const parts = path.split('/').slice(1);
  const n = route.segments.length;
  if (parts.length < n || (!route.wildcard && parts.length !== n)) return null;
  const params = [];
  for (let i = 0; i < n; i++) {
    const seg = route.segments[i];
    if (seg === null) {
      if (!parts[i]) return null;
      params.push([route.names[params.length], parts[i]]);
    } else if (seg !== parts[i]) {
      return null;
    }
  }
  if (route.wildcard) {
    const base = `/${parts.slice(0, n).join('/')}`;
    return { base, pathInfo: path.slice(base.length), params };
  }
  return { base: '', pathInfo: path, params };
}

/** The route the server would pick for (method, path): most specific first, then manifest order. */
export function pickRoute(routes, method, path, websocket) {
  const verb = method === 'HEAD' ? 'GET' : method;
  const ordered = routes.map((r, i) => [r, i]).sort(([a, i], [b, j]) => {
    for (let k = 0; k < a.rank.length; k++) if (a.rank[k] !== b.rank[k]) return a.rank[k] - b.rank[k];
    return i - j;
  });
  for (const [route] of ordered) {
    if (websocket !== undefined && route.websocket !== websocket) continue;
    if (route.methods && !route.methods.includes(verb)) continue;
    const found = matchRoute(route, path);
    if (found) return { route: route.text, ...found };
  }
  return null;
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A string or a byte array (ArrayBuffer, Uint8Array, other views) as Uint8Array. */
function toBytes(value) {
  if (value === undefined || value === null) return new Uint8Array(0);
  if (typeof value === 'string') return utf8.encode(value);
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`expected a string or bytes, got ${typeof value}`);
}

/** Check the mocks' shapes; a LoadError says which part is wrong. */
function checkMocks(mocks) {
  const { kv = {}, variables = {}, fetch = [] } = mocks || {};
  if (!isObject(kv) || !Object.values(kv).every((s) => isObject(s) && Object.values(s).every((v) => typeof v === 'string'))) {
    throw new LoadError('mocks.kv must be {"store": {"key": "value"}} with string values');
  }
  if (!isObject(variables) || !Object.values(variables).every((v) => typeof v === 'string')) {
    throw new LoadError('mocks.variables must be {"name": "value"} with string values');
  }
  const goodRule = (r) => isObject(r) && typeof r.url === 'string'
    && (r.method === undefined || typeof r.method === 'string')
    && (r.status === undefined || (Number.isInteger(r.status) && r.status >= 100 && r.status <= 999))
    && (r.headers === undefined || (isObject(r.headers) && Object.values(r.headers).every((v) => typeof v === 'string')))
    && (r.body === undefined || typeof r.body === 'string');
  if (!Array.isArray(fetch) || !fetch.every(goodRule)) {
    throw new LoadError('mocks.fetch must be a list of {"url": "https://host/*", "method"?: "GET", "status"?: 200, '
      + '"headers"?: {"name": "value"}, "body"?: "text"}');
  }
  return { kv, variables, fetch };
}

/** The module's kind from its preamble: 'module', 'component' or null (not wasm). */
function wasmKind(b) {
  if (b.length < 8 || b[0] !== 0 || b[1] !== 0x61 || b[2] !== 0x73 || b[3] !== 0x6d) return null;
  return b[4] === 1 && b[5] === 0 && b[6] === 0 && b[7] === 0 ? 'module' : 'component';
}

/**
 * The peer of a UDP listener: each send is one datagram (UDP_DATAGRAM); what
 * the guest sends back with udp_send is the output. One instance serves every
 * datagram, as in the server; a datagram that traps is dropped and the next
 * gets a fresh instance.
 */
class UdpPeer {
  constructor(guest) {
    this.guest = guest;
    this.kind = 'udp';
    this.instance = guest.instantiate();
    this.output = [];
    this.closed = false;
    this.closeCode = null;
    this.closeReason = '';
    this.closedBy = null;
  }

  send(data) {
    if (!this.instance) this.instance = this.guest.instantiate();
    try {
      for (const sent of this.instance.datagram(1, PEER, data)) this.output.push({ data: sent.data, binary: true });
    } catch (err) {
      this.instance = null;
      throw err;
    }
  }

  close() {
    this.closed = true;
    this.closedBy = 'peer';
  }

  take() {
    const out = this.output;
    this.output = [];
    return out;
  }
}

/** The runner: one loaded component, its mocked KV, at most one open connection. */
export class Runner {
  constructor() {
    this.guest = null;
    this.conn = null;
    this.pending = { log: [], fetches: [] };
  }

  /** Answer one protocol message (never throws: failures are error messages). */
  async handle(msg) {
    try {
      switch (msg && msg.type) {
        case 'load': return await this.load(msg.wasm, msg.component, msg.mocks);
        case 'http': return this.http(msg.request || {});
        case 'open': return this.open(msg.kind, msg.path);
        case 'send': return this.send(msg.data, msg.binary);
        case 'close': return this.close();
        default: return { type: 'error', kind: 'load', message: `unknown message type '${msg && msg.type}'` };
      }
    } catch (err) {
      return this.failure(err);
    }
  }

  /** Compile the module and set the mocks up; a clear 'load' error for what cannot run here. */
  async load(wasm, component = {}, mocks = {}) {
    this.guest = null;
    this.conn = null;
    try {
      const bytes = toBytes(wasm);
      const name = component.name || 'guest';
      if (component.abi === 'wasi-http') throw new LoadError(WASI_HTTP_MESSAGE);
      const kind = wasmKind(bytes);
      if (kind === null) throw new LoadError(`${name}: not a WebAssembly module (no \\0asm header)`);
      if (kind === 'component') throw new LoadError(WASI_HTTP_MESSAGE);
      const { kv, variables, fetch } = checkMocks(mocks);
      const stores = Array.isArray(component.stores) ? component.stores : [...new Set(['default', ...Object.keys(kv)])];
      const store = new MemoryKv();
      for (const label of stores) {
        store.store(label);
        for (const [key, value] of Object.entries(kv[label] || {})) store.set(label, utf8.encode(key), utf8.encode(value));
      }
      let module;
      try {
        module = await WebAssembly.compile(bytes);
      } catch (err) {
        throw new LoadError(`${name}: the module does not compile: ${err.message}`);
      }
      const exports = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
      // a WASI command is run CGI style, as the server runs abi = "wagi"
      const wagi = component.abi === 'wagi' || (exports.has('_start') && !exports.has('wasm_server_handle'));
      this.rules = fetch.map((r) => ({ ...r, pattern: globToRegExp(r.url), method: r.method ? r.method.toUpperCase() : null }));
      const routes = Array.isArray(component.routes) ? component.routes : [];
      this.routes = routes.map(compileRoute).filter(Boolean);
      // plain pattern strings do not say which routes are WebSocket ones: then any route may be
      this.routesKnowWebsocket = routes.some((r) => isObject(r) && 'websocket' in r);
      this.stores = stores;
      this.kv = store;
      this.component = component;
      let guest;
      try {
        if (wagi) {
          this.guest = new WagiModule(module, { name, log: (level, message) => this.pending.log.push({ level, message }) });
          this.pending = { log: [], fetches: [] };
          return { type: 'loaded' };
        }
        guest = new GuestModule(module, {
          name, stores, kv: store, variables: effectiveVariables(component.variables, variables),
          log: (level, message) => this.pending.log.push({ level, message }),
          fetch: (req) => this.fetch(req),
        });
        // the ABI version check and _initialize run once here, so a bad module fails its load
        guest.instantiate();
      } catch (err) {
        if (err instanceof GuestError) throw new LoadError(err.message);
        throw err;
      }
      this.guest = guest;
      this.pending = { log: [], fetches: [] };
      const warnings = mockWarnings(stores, component.variables, kv, variables);
      return warnings.length ? { type: 'loaded', warnings } : { type: 'loaded' };
    } catch (err) {
      if (err instanceof LoadError) return { type: 'error', kind: 'load', message: err.message };
      return this.failure(err);
    }
  }

  /** The fetch mock: the first rule whose URL glob (and method, if given) matches answers; else DENIED. */
  fetch(req) {
    const method = (req.method || 'GET').toUpperCase();
    const rule = this.rules.find((r) => r.pattern.test(req.url) && (!r.method || r.method === method));
    this.pending.fetches.push({ method, url: req.url, matched: Boolean(rule) });
    if (!rule) throw new HostError(ErrorCode.DENIED, `outbound HTTP to ${req.url} is not allowed: no fetch rule matches it`);
    const headers = isObject(rule.headers) ? Object.entries(rule.headers).map(([n, v]) => [n, String(v)]) : [];
    return { status: Number.isInteger(rule.status) ? rule.status : 200, headers, body: toBytes(rule.body ?? '') };
  }

  /** What a call produced besides its answer: the log, the fetches and the KV now. */
  take() {
    const { log, fetches } = this.pending;
    this.pending = { log: [], fetches: [] };
    return { log, fetches, kv: this.kvJson() };
  }

  /** The KV in the mocks' shape: {store: {key: "value"}} (every declared store, keys sorted). */
  kvJson() {
    const out = {};
    if (!this.kv) return out;
    for (const label of this.stores) {
      out[label] = {};
      for (const key of this.kv.keys(label, new Uint8Array(0))) out[label][key] = fromUtf8.decode(this.kv.get(label, utf8.encode(key)));
    }
    return out;
  }

  requireLoaded() {
    if (!this.guest) throw new LoadError('no module is loaded: build the service, then run it');
  }

  /** One HTTP request on a fresh instance. */
  http(request) {
    this.requireLoaded();
    const method = (request.method || 'GET').toUpperCase();
    const url = request.path || '/';
    const path = url.split('?', 1)[0];
    const headers = (request.headers || []).map(([n, v]) => [String(n).toLowerCase(), String(v)]);
    let match = { route: '', base: '', pathInfo: path, params: [] };
    if (this.routes.length) {
      const found = pickRoute(this.routes, method, path, this.routesKnowWebsocket ? false : undefined);
      if (!found) {
        const routes = this.routes.filter((r) => !r.websocket).map((r) => r.text).join(', ') || 'none';
        return this.notFound(`no HTTP route of ${this.guest.name} matches ${path} (routes: ${routes})`);
      }
      match = found;
    }
    // ms is the request's own time, as a pre-initialized instance in the server would take it
    // (a WAGI program starts afresh for every request: that is its time)
    const wagi = this.guest instanceof WagiModule;
    const instance = wagi ? this.guest : this.guest.instantiate();
    const started = performance.now();
    const res = instance.handleHttp({
      method, url, route: match.route, base: match.base, pathInfo: match.pathInfo, params: match.params,
      client: PEER, headers, body: toBytes(request.body),
    });
    const ms = performance.now() - started;
    const streamed = res.streamed === true; // stream_start/stream_write: the body as far as it was read
    return { type: 'response', status: res.status, headers: res.headers, body: res.body, ms, streamed, ...this.take() };
  }

  notFound(message) {
    this.pending.log.push({ level: 'warn', message: `runner: ${message}` });
    return { type: 'response', status: 404, headers: [['content-type', 'text/plain; charset=utf-8']], body: utf8.encode(`${message}\n`), ms: 0, ...this.take() };
  }

  /** A peer connects (TCP or WebSocket upgrade of `path`); any earlier connection is closed first. */
  open(kind, path = '/') {
    this.requireLoaded();
    if (!['tcp', 'websocket', 'udp'].includes(kind)) throw new LoadError(`the runner opens 'websocket', 'tcp' or 'udp', not '${kind}'`);
    if (this.guest instanceof WagiModule) throw new LoadError(`${this.guest.name} is a WAGI program: it answers HTTP requests only`);
    if (this.conn && !this.conn.closed) this.conn.close(1001, 'reopened');
    this.conn = null;
    this.pending = { log: [], fetches: [] };
    if (kind === 'udp') {
      this.conn = new UdpPeer(this.guest);
      return { type: 'opened', ...this.output() };
    }
    const instance = this.guest.instantiate();
    if (kind === 'tcp') {
      this.conn = instance.openConnection('tcp', { peer: PEER, local: '127.0.0.1:7' });
    } else {
      const url = path || '/';
      const bare = url.split('?', 1)[0];
      let match = { route: '', base: '', pathInfo: bare, params: [] };
      if (this.routes.length) {
        const found = pickRoute(this.routes, 'GET', bare, this.routesKnowWebsocket ? true : undefined);
        if (!found) {
          const routes = this.routes.filter((r) => r.websocket).map((r) => r.text).join(', ') || 'none';
          throw new RouteError(`no WebSocket route of ${this.guest.name} matches ${bare} (WebSocket routes: ${routes})`);
        }
        match = found;
      }
      this.conn = instance.openConnection('websocket', {
        method: 'GET', url, route: match.route, base: match.base, pathInfo: match.pathInfo, params: match.params,
        client: PEER, headers: [['host', 'localhost'], ['upgrade', 'websocket'], ['connection', 'Upgrade'], ['sec-websocket-version', '13']],
      });
    }
    return { type: 'opened', ...this.output() };
  }

  /** A message (WebSocket) or bytes (TCP) from the peer. */
  send(data, binary) {
    this.requireLoaded();
    const conn = this.conn;
    if (conn && !conn.closed) {
      if (conn.kind === 'udp') conn.send(toBytes(data));
      else if (conn.kind === 'tcp') conn.instance.connectionData(conn, toBytes(data));
      else conn.instance.wsMessage(conn, typeof data === 'string' ? data : toBytes(data), Boolean(binary ?? typeof data !== 'string'));
    }
    return { type: 'output', ...this.output() };
  }

  /** The peer closes (WebSocket code 1000). */
  close() {
    const conn = this.conn;
    if (conn && !conn.closed) conn.close(1000, '');
    return { type: 'output', ...this.output() };
  }

  /** What the guest sent since the last call: text messages as strings, the rest as bytes. */
  output() {
    const conn = this.conn;
    const output = conn ? conn.take().map(({ data, binary }) => ({ data: binary ? data : fromUtf8.decode(data), binary })) : [];
    const closed = !conn || conn.closed;
    const close = conn && conn.closed ? { code: conn.closeCode, reason: conn.closeReason, by: conn.closedBy } : null;
    return { output, closed, close, ...this.take() };
  }

  /** An exception from a guest call as an error message: 'trap' for the engine's traps, else 'guest'. */
  failure(err) {
    if (err instanceof LoadError) return { type: 'error', kind: 'load', message: err.message };
    if (err instanceof RouteError) return { type: 'error', kind: 'route', message: err.message };
    const extra = this.kv ? this.take() : { log: [], kv: {}, fetches: [] };
    const trap = err instanceof WebAssembly.RuntimeError
      || (err instanceof RangeError && /call stack/i.test(err.message)); // V8's wasm stack overflow
    if (trap) return { type: 'error', kind: 'trap', message: err.message, ...extra };
    let message = err && err.message ? err.message : String(err);
    if (err instanceof WasiExit) message = `${this.component?.name || 'guest'}: ${message}`;
    else if (err instanceof RangeError) message = `the guest's response does not decode: ${message}`;
    return { type: 'error', kind: 'guest', message, ...extra };
  }
}

/** Mocks the guest cannot see (a store or variable its manifest does not declare): said at load. */
function mockWarnings(stores, declared, kv, variables) {
  const out = [];
  for (const label of Object.keys(kv)) {
    if (!stores.includes(label)) out.push(`mocks.kv: store '${label}' is not in the component's key_value_stores, so the guest cannot use it`);
  }
  if (isObject(declared)) {
    for (const name of Object.keys(variables)) {
      if (!Object.prototype.hasOwnProperty.call(declared, name)) out.push(`mocks.variables: '${name}' is not a variable of the component, so the guest cannot read it`);
    }
  }
  return out;
}

/** The variables a guest sees: the manifest's names, each mocked or its default (none if neither). */
function effectiveVariables(declared, mocked) {
  if (!isObject(declared)) return { ...mocked };
  const out = {};
  for (const [name, value] of Object.entries(declared)) {
    if (Object.prototype.hasOwnProperty.call(mocked, name)) out[name] = mocked[name];
    else if (typeof value === 'string') out[name] = value;
  }
  return out;
}

/** The ArrayBuffers of a reply's byte arrays, to transfer instead of copy. */
export function transferables(reply) {
  const out = new Set();
  if (reply.body instanceof Uint8Array) out.add(reply.body.buffer);
  for (const item of reply.output || []) if (item.data instanceof Uint8Array) out.add(item.data.buffer);
  return [...out];
}
