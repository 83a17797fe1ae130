// Echo a request back (method, target, x-test-* headers, body), fetch a URL
// through the host, and echo WebSocket messages: the parity example.
import { Conn, DENIED, Request, Response, fetch, lastError, lastErrorCode, serve, serveWebSocket } from "wasm-server";

function echo(req: Request): Response {
  const res = Response.bytes(req.body)
    .header("x-echo-method", req.method)
    .header("x-echo-url", req.url)
    .header("x-echo-path", req.pathInfo);
  for (let i = 0; i < req.headers.size; i++) {
    const name = req.headers.names[i];
    if (name.startsWith("x-test-")) res.header("x-echo-" + name, req.headers.values[i]);
  }
  const type = req.headers.get("content-type");
  return res.header("content-type", type == null ? "application/octet-stream" : <string>type);
}

function get(req: Request): Response {
  const url = req.headers.get("x-fetch-url");
  if (url == null) return Response.text("send the URL in x-fetch-url\n", 400);
  const up = fetch(<string>url);
  if (up == null) {
    if (lastErrorCode() == DENIED) return Response.text("denied: " + lastError() + "\n", 403);
    return Response.text("fetch failed: " + lastError() + "\n", 502);
  }
  return Response.bytes(up.body).header("x-upstream-status", up.status.toString());
}

function handle(req: Request): Response {
  return req.route == "/fetch" ? get(req) : echo(req);
}

function onMessage(conn: Conn, data: Uint8Array, binary: bool): bool {
  if (binary) return conn.sendBinary(data);
  return conn.sendText(String.UTF8.decodeUnsafe(data.dataStart, <usize>data.length));
}

serve(handle);
serveWebSocket(onMessage);
