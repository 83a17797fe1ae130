// WAGI on the JS host: a plain WASI command (`_start`) run once per request,
// CGI style, as the server's wasm_server/executors/wagi.py does it: the
// request in CGI environment variables with the body on stdin, the response
// printed on stdout (headers, a blank line, the body; `Status:` sets the
// status, `Location:` without it means 302); stderr becomes log lines.
//
//   const wagi = await WagiModule.compile(bytes, { name: 'hello', log });
//   wagi.handleHttp({ method: 'GET', url: '/x?y=1', pathInfo: '/x' });
//   // → { status, headers: [[name, value] …], body: Uint8Array }

import { GuestError } from './host.mjs';
import { WasiExit, notImplemented, wasiImports } from './wasi.mjs';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
const latin1 = new TextDecoder('latin1');
const MAX_OUTPUT = 64 * 1024 * 1024;

/** %XX decoding as Python's urllib.parse.unquote: UTF-8, malformed sequences replaced, never throws. */
export function unquote(s) {
  if (!s.includes('%')) return s;
  const out = [];
  for (let i = 0; i < s.length; i++) {
    const hex = s.slice(i + 1, i + 3);
    if (s[i] === '%' && /^[0-9a-fA-F]{2}$/.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      out.push(...utf8.encode(s[i]));
    }
  }
  return fromUtf8.decode(Uint8Array.from(out));
}

/** The CGI/1.1 variables (plus WAGI's X_* extras) for one request (the fields of handleHttp). */
export function cgiEnvironment(req, serverName = '127.0.0.1', serverPort = '8080') {
  const url = req.url || '/';
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  const headers = new Map((req.headers || []).map(([n, v]) => [String(n).toLowerCase(), String(v)]));
  const client = req.client || '';
  const addr = client ? client.slice(0, client.lastIndexOf(':')).replace(/^\[|\]$/g, '') : '';
  const pathInfo = req.pathInfo ?? url.split('?', 1)[0];
  const env = {
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_SOFTWARE: 'wasm-server',
    SERVER_PROTOCOL: 'HTTP/1.1',
    SERVER_NAME: serverName,
    SERVER_PORT: serverPort,
    REQUEST_METHOD: req.method || 'GET',
    SCRIPT_NAME: req.base || '',
    PATH_INFO: unquote(pathInfo),
    X_RAW_PATH_INFO: pathInfo,
    PATH_TRANSLATED: unquote(pathInfo),
    QUERY_STRING: query,
    REMOTE_ADDR: addr,
    REMOTE_HOST: addr,
    REMOTE_USER: '',
    AUTH_TYPE: '',
    CONTENT_LENGTH: String(req.body ? req.body.length : 0),
    CONTENT_TYPE: headers.get('content-type') || '',
    X_MATCHED_ROUTE: req.route || '',
    X_FULL_URL: `http://${headers.get('host') || serverName}${url}`,
  };
  for (const [name, value] of headers) {
    const key = `HTTP_${name.toUpperCase().replace(/-/g, '_')}`;
    if (key !== 'HTTP_AUTHORIZATION' && key !== 'HTTP_CONNECTION') env[key] = value;
  }
  for (const [name, value] of req.params || []) env[`X_PARAM_${String(name).toUpperCase()}`] = String(value);
  return env;
}

function indexOfBytes(hay, needle) {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Split CGI output into {status, headers, body}; a GuestError says what is malformed. */
export function parseCgiOutput(out) {
  let head, body;
  for (const sep of [[13, 10, 13, 10], [10, 10]]) {
    const at = indexOfBytes(out, sep);
    if (at >= 0) {
      head = out.subarray(0, at);
      body = out.slice(at + sep.length);
      break;
    }
  }
  if (head === undefined) throw new GuestError('no blank line between the CGI headers and the body');
  let status = 200, hasStatus = false, hasLocation = false;
  const headers = [];
  for (const line of latin1.decode(head).replace(/\r\n/g, '\n').split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) throw new GuestError(`malformed CGI header line ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim(), value = line.slice(colon + 1).trim();
    const low = name.toLowerCase();
    if (low === 'status') {
      const code = value.split(' ', 1)[0];
      if (!/^\d+$/.test(code) || Number(code) < 100 || Number(code) > 999) throw new GuestError(`bad CGI Status ${JSON.stringify(value.slice(0, 40))}`);
      status = Number(code);
      hasStatus = true;
      continue;
    }
    if (low === 'location') hasLocation = true;
    headers.push([name, value]);
  }
  if (hasLocation && !hasStatus) status = 302;
  return { status, headers, body };
}

/** A compiled WASI command run CGI style, a fresh instance per request. */
export class WagiModule {
  /** Options: name, log(level, message, name) for stderr lines. */
  constructor(module, options = {}) {
    this.module = module;
    this.options = options;
    this.name = options.name || 'guest';
    const exports = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
    if (!exports.has('_start')) throw new GuestError(`${this.name}: abi = "wagi" needs a WASI command exporting _start`);
    if (!exports.has('memory')) throw new GuestError(`${this.name}: the module does not export memory`);
  }

  static async compile(wasmBytes, options = {}) {
    return new WagiModule(await WebAssembly.compile(wasmBytes), options);
  }

  /** Run the program for one request ({method, url, route, base, pathInfo, client, params, headers, body}). */
  handleHttp(req) {
    const env = cgiEnvironment(req);
    const query = env.QUERY_STRING;
    const out = [];
    let size = 0;
    let errText = '';
    const log = (line) => this.options.log && this.options.log('warn', line, this.name);
    let memory = null;
    const wasi = wasiImports(() => memory, {
      args: [this.name, ...query.split('&').filter(Boolean).map(unquote)],
      env,
      stdin: req.body || new Uint8Array(0),
      stdout: (b) => {
        if (size + b.length > MAX_OUTPUT) throw new GuestError(`${this.name}: more than ${MAX_OUTPUT} bytes of CGI output`);
        out.push(b);
        size += b.length;
      },
      stderr: (b) => {
        errText += fromUtf8.decode(b);
        let at;
        while ((at = errText.indexOf('\n')) >= 0) { log(errText.slice(0, at)); errText = errText.slice(at + 1); }
      },
    });
    const imports = {};
    for (const imp of WebAssembly.Module.imports(this.module)) {
      if (imp.kind !== 'function') continue;
      if (imp.module !== 'wasi_snapshot_preview1') {
        throw new GuestError(`${this.name}: a WAGI program here may import WASI only, not ${imp.module}.${imp.name}`);
      }
      (imports[imp.module] ||= {})[imp.name] = wasi[imp.name] || notImplemented;
    }
    const instance = new WebAssembly.Instance(this.module, imports);
    memory = instance.exports.memory;
    let code = 0;
    try {
      instance.exports._start();
    } catch (err) {
      if (!(err instanceof WasiExit)) throw err;
      code = err.code;
    } finally {
      if (errText) log(errText);
    }
    if (code !== 0) throw new GuestError(`${this.name}: WAGI program exited with status ${code}`);
    const all = new Uint8Array(size);
    let at = 0;
    for (const b of out) { all.set(b, at); at += b.length; }
    return parseCgiOutput(all);
  }
}
