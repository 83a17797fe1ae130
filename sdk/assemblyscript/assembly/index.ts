// wasm-server's TypeScript SDK (AssemblyScript), ABI v1 (docs/abi.md).
//
//   import { Request, Response, serve } from "wasm-server";
//   function hello(req: Request): Response {
//     return Response.text("Hello from TypeScript\npath: " + req.pathInfo + "\n");
//   }
//   serve(hello);
//
// Build with `wasm-server ts-build -o app.wasm`. AssemblyScript has no
// exceptions: host calls that can fail return null (or a default) and set
// `lastError()` / `lastErrorCode()`.

import * as host from "./host";
import { Headers, Request, Response, Writer } from "./codec";

export { Headers, Request, Response } from "./codec";

// ---- errors -------------------------------------------------------------

export const NOT_FOUND: i32 = -1;
export const DENIED: i32 = -2;
export const TOO_LARGE: i32 = -3;
export const INVALID: i32 = -4;
export const IO: i32 = -5;
export const TIMEOUT: i32 = -6;

let errorCode: i32 = 0;
let errorMessage: string = "";

/** The code of the last failed host call (0 if the last call succeeded). */
export function lastErrorCode(): i32 {
  return errorCode;
}

/** The host's explanation of the last failed host call. */
export function lastError(): string {
  return errorMessage;
}

/** The result slot's bytes (docs/abi.md: imports that produce data). */
function slot(len: i64): Uint8Array {
  const out = new Uint8Array(<i32>len);
  if (len > 0) host.result_read(out.dataStart, <i32>len);
  return out;
}

/** Record the outcome of a host call; true when it succeeded. */
function check(rc: i64): bool {
  if (rc >= 0) {
    errorCode = 0;
    errorMessage = "";
    return true;
  }
  errorCode = <i32>rc;
  const n = host.result_read(0, 0);
  errorMessage = n > 0 ? utf8(slot(n)) : "";
  return false;
}

function utf8(b: Uint8Array): string {
  return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
}

function bytesOf(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

// ---- log and variables ----------------------------------------------------

/** Lines in the server log, tagged with the component's name. */
export namespace log {
  export function trace(msg: string): void { write(0, msg); }
  export function debug(msg: string): void { write(1, msg); }
  export function info(msg: string): void { write(2, msg); }
  export function warn(msg: string): void { write(3, msg); }
  export function error(msg: string): void { write(4, msg); }
  function write(level: i32, msg: string): void {
    const b = bytesOf(msg);
    host.log(level, changetype<usize>(b), b.byteLength);
  }
}

/** Manifest variable `name`, or null if it is not defined. */
export function variable(name: string): string | null {
  const b = bytesOf(name);
  const n = host.var_get(changetype<usize>(b), b.byteLength);
  if (!check(n)) return null;
  return utf8(slot(n));
}

/** The manifest's `[component.variables]`: `Variables.get("greeting")`. */
export class Variables {
  /** The value, or null when the manifest does not define `name` (lastErrorCode() == NOT_FOUND). */
  static get(name: string): string | null {
    return variable(name);
  }
}

// ---- time --------------------------------------------------------------------

/**
 * Milliseconds since the Unix epoch (WASI's realtime clock). Use this, not Date.now():
 * AssemblyScript's Date.now imports a JavaScript function the server does not provide.
 */
export function now(): i64 {
  const out = new StaticArray<u64>(1);
  host.clock_time_get(0, 1000, changetype<usize>(out));
  return <i64>(out[0] / 1_000_000);
}

// ---- key-value stores -------------------------------------------------------

/** A key-value store declared in the manifest (`key_value_stores`). */
export class Kv {
  private label: ArrayBuffer;

  private constructor(public name: string) {
    this.label = bytesOf(name);
  }

  static open(name: string = "default"): Kv {
    return new Kv(name);
  }

  private get lp(): usize { return changetype<usize>(this.label); }
  private get ll(): i32 { return this.label.byteLength; }

  /** The value, or null when absent (lastErrorCode() == NOT_FOUND) or on failure. */
  get(key: string): Uint8Array | null {
    const k = bytesOf(key);
    const n = host.kv_get(this.lp, this.ll, changetype<usize>(k), k.byteLength);
    return check(n) ? slot(n) : null;
  }

  /** The value as UTF-8 text, or null. */
  getString(key: string): string | null {
    const v = this.get(key);
    return v == null ? null : utf8(v);
  }

  set(key: string, value: Uint8Array): bool {
    const k = bytesOf(key);
    return check(host.kv_set(this.lp, this.ll, changetype<usize>(k), k.byteLength, value.dataStart, value.length));
  }

  setString(key: string, value: string): bool {
    return this.set(key, Uint8Array.wrap(bytesOf(value)));
  }

  delete(key: string): bool {
    const k = bytesOf(key);
    return check(host.kv_delete(this.lp, this.ll, changetype<usize>(k), k.byteLength));
  }

  exists(key: string): bool {
    const k = bytesOf(key);
    const rc = host.kv_exists(this.lp, this.ll, changetype<usize>(k), k.byteLength);
    return check(rc) && rc == 1;
  }

  /** Keys starting with `prefix`, sorted (empty on failure: see lastErrorCode()). */
  keys(prefix: string = ""): string[] {
    const p = bytesOf(prefix);
    const n = host.kv_keys(this.lp, this.ll, changetype<usize>(p), p.byteLength);
    const out: string[] = [];
    if (!check(n)) return out;
    const list = slot(n);
    let at: usize = list.dataStart;
    const end = at + <usize>list.length;
    const count = load<u32>(at);
    at += 4;
    for (let i: u32 = 0; i < count && at + 4 <= end; i++) {
      const len = <usize>load<u32>(at);
      out.push(String.UTF8.decodeUnsafe(at + 4, len));
      at += 4 + len;
    }
    return out;
  }

  /** Atomically add `delta` (absent = 0); the new value, or 0 with lastErrorCode() set. */
  incr(key: string, delta: i64 = 1): i64 {
    const k = bytesOf(key);
    const out = new StaticArray<i64>(1);
    const rc = host.kv_incr(this.lp, this.ll, changetype<usize>(k), k.byteLength, delta, changetype<usize>(out));
    return check(rc) ? out[0] : 0;
  }
}

// ---- outbound HTTP ----------------------------------------------------------

/** Options of fetch(): method, headers, body (a subset of the Fetch API's RequestInit). */
export class RequestInit {
  method: string = "GET";
  headers: Headers = new Headers();
  body: Uint8Array = new Uint8Array(0);
}

/**
 * An outbound request to a destination in `allowed_outbound_hosts`; the
 * guest waits while the server goes on serving others. Null on failure:
 * lastErrorCode() is DENIED for a host the manifest does not allow.
 */
export function fetch(url: string, init: RequestInit = new RequestInit()): Response | null {
  const w = new Writer(4 + Writer.strSize(init.method) + Writer.strSize(url) + init.headers.encodedSize() +
    Writer.sized(init.body.length));
  w.u32(0).str(init.method).str(url);
  init.headers.encode(w);
  const req = w.bytes(init.body).done();
  const n = host.http_send(req.dataStart, req.length);
  if (!check(n)) return null;
  const raw = slot(n);
  const res = Response.decode(raw.dataStart, <usize>raw.length);
  if (res == null) {
    errorCode = INVALID;
    errorMessage = "the host returned a malformed response";
  }
  return res;
}

// ---- streaming responses ---------------------------------------------------------

/**
 * Streamed responses (chunked; Server-Sent Events with sleep() between writes):
 *
 *   if (!Stream.start(new Response().header("content-type", "text/event-stream"))) ...
 *   Stream.writeText("data: 1\n\n");
 *   return Stream.done();
 *
 * write() waits while the client is slow and returns false (lastErrorCode() == IO)
 * once it has gone.
 */
export namespace Stream {
  /** Send `head`'s status and headers now (its body is ignored). */
  export function start(head: Response): bool {
    const saved = head.body;
    head.body = new Uint8Array(0);
    const w = new Writer(0);
    const enc = head.encode(w);
    head.body = saved;
    return check(host.stream_start(enc.dataStart, enc.length));
  }

  /** One chunk of the body. */
  export function write(data: Uint8Array): bool {
    return check(host.stream_write(data.dataStart, data.length));
  }

  export function writeText(text: string): bool {
    const b = bytesOf(text);
    return check(host.stream_write(changetype<usize>(b), b.byteLength));
  }

  /** What the handler returns after a streamed body (flags bit 0). */
  export function done(): Response {
    const res = new Response("", 200);
    res.flags = 1;
    return res;
  }
}

// ---- outbound sockets -------------------------------------------------------------

/**
 * A TCP or UDP socket to a destination in `allowed_outbound_hosts` (`tcp://host:port`,
 * `udp://host:port`), owned by this instance (at most 64; closed when it is discarded).
 * Calls suspend the guest while the server keeps serving others.
 */
export class Socket {
  private constructor(public handle: i32) {}

  /** Connect over TCP; null on failure (DENIED, IO, TIMEOUT: see lastErrorCode()). */
  static tcp(hostName: string, port: u16): Socket | null {
    const b = bytesOf(hostName);
    const h = host.tcp_connect(changetype<usize>(b), b.byteLength, <i32>port);
    return check(h) ? new Socket(<i32>h) : null;
  }

  /** A UDP socket that sends to and receives from one peer. */
  static udp(hostName: string, port: u16): Socket | null {
    const b = bytesOf(hostName);
    const h = host.udp_connect(changetype<usize>(b), b.byteLength, <i32>port);
    return check(h) ? new Socket(<i32>h) : null;
  }

  /** Bytes (TCP, waits while the peer is slow) or one datagram (UDP). */
  send(data: Uint8Array): bool {
    return check(host.sock_send(this.handle, data.dataStart, data.length));
  }

  sendText(text: string): bool {
    const b = bytesOf(text);
    return check(host.sock_send(this.handle, changetype<usize>(b), b.byteLength));
  }

  /**
   * Up to `max` bytes; empty when the TCP peer closed; null on failure or when
   * `timeoutMs` (< 0: wait forever) passes first (lastErrorCode() == TIMEOUT).
   */
  recv(max: i32 = 65536, timeoutMs: i32 = -1): Uint8Array | null {
    const n = host.sock_recv(this.handle, max, timeoutMs);
    return check(n) ? slot(n) : null;
  }

  close(): bool {
    return check(host.sock_close(this.handle));
  }
}

// ---- connections: TCP, UDP, WebSockets ------------------------------------------

/** A TCP or WebSocket connection (its instance lives as long as it does). */
export class Conn {
  constructor(public id: u32) {}

  /** Bytes to a TCP peer; a binary message on a WebSocket. */
  send(data: Uint8Array): bool {
    return check(host.conn_send(this.id, data.dataStart, data.length));
  }

  /** A WebSocket text message. */
  sendText(text: string): bool {
    const b = bytesOf(text);
    return check(host.ws_send(this.id, 0, changetype<usize>(b), b.byteLength));
  }

  /** A WebSocket binary message. */
  sendBinary(data: Uint8Array): bool {
    return check(host.ws_send(this.id, 1, data.dataStart, data.length));
  }

  /** Close (WebSockets: with `code` and `reason`). */
  close(code: i32 = 1000, reason: string = ""): bool {
    const b = bytesOf(reason);
    return check(host.conn_close(this.id, code, changetype<usize>(b), b.byteLength));
  }

  /** The peer's "ip:port". */
  peer(): string {
    const n = host.conn_peer(this.id);
    return check(n) ? utf8(slot(n)) : "";
  }

  /** Receive every message published on `channel` (until the connection closes). */
  subscribe(channel: string): bool {
    const b = bytesOf(channel);
    return check(host.subscribe(this.id, changetype<usize>(b), b.byteLength));
  }
}

/** Publish to this component's `channel`; the number of connections reached. */
export function publish(channel: string, data: Uint8Array): i32 {
  const c = bytesOf(channel);
  const rc = host.publish(changetype<usize>(c), c.byteLength, data.dataStart, data.length);
  return check(rc) ? rc : 0;
}

/** Suspend this guest for `ms` milliseconds (the server keeps serving others). */
export function sleep(ms: i32): void {
  check(host.sleep_ms(ms));
}

/** Reply from UDP listener `socket` to `peer` ("ip:port"). */
export function udpSend(socket: u32, peer: string, data: Uint8Array): bool {
  const p = bytesOf(peer);
  return check(host.udp_send(socket, changetype<usize>(p), p.byteLength, data.dataStart, data.length));
}

// ---- registration ------------------------------------------------------------------

export type HttpHandler = (req: Request) => Response;
export type TcpConnect = (conn: Conn, peer: string) => bool;
export type TcpData = (conn: Conn, data: Uint8Array) => bool;
export type TcpClose = (conn: Conn) => void;
export type UdpHandler = (socket: u32, peer: string, data: Uint8Array) => void;
export type WsOpen = (conn: Conn, req: Request) => bool;
export type WsMessage = (conn: Conn, data: Uint8Array, binary: bool) => bool;
export type WsClose = (conn: Conn, code: i32, reason: string) => void;

/** What the exports dispatch to (see dispatch.ts); set by the functions below. */
export class Handlers {
  static http: HttpHandler | null = null;
  static tcpConnect: TcpConnect | null = null;
  static tcpData: TcpData | null = null;
  static tcpClose: TcpClose | null = null;
  static udp: UdpHandler | null = null;
  static wsOpen: WsOpen | null = null;
  static wsMessage: WsMessage | null = null;
  static wsClose: WsClose | null = null;
}

/** Serve HTTP requests with `handler` (a top-level function: AssemblyScript has no closures). */
export function serve(handler: HttpHandler): void {
  Handlers.http = handler;
}

/** Handle a raw TCP service's connections. */
export function serveTcp(onData: TcpData, onConnect: TcpConnect | null = null, onClose: TcpClose | null = null): void {
  Handlers.tcpData = onData;
  Handlers.tcpConnect = onConnect;
  Handlers.tcpClose = onClose;
}

/** Handle a UDP service's datagrams. */
export function serveUdp(handler: UdpHandler): void {
  Handlers.udp = handler;
}

/** Handle WebSocket routes (`websocket = true`). */
export function serveWebSocket(onMessage: WsMessage, onOpen: WsOpen | null = null, onClose: WsClose | null = null): void {
  Handlers.wsMessage = onMessage;
  Handlers.wsOpen = onOpen;
  Handlers.wsClose = onClose;
}
