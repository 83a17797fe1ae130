// The SDK's surface beyond the examples, for tests/sdk/test_ts_sdk.py (built with
// wasm-server ts-build and driven through ABI v1 by a fake host).
import {
  Headers, Kv, Request, Response, Socket, Stream, lastError, lastErrorCode, serve, serveUdp, udpSend,
} from "wasm-server";

function kv(): Response {
  const store = Kv.open("default");
  store.setString("a/1", "one");
  store.set("a/2", Uint8Array.wrap(String.UTF8.encode("two")));
  store.setString("b", "x");
  const before = store.exists("a/1");
  store.delete("a/1");
  const after = store.exists("a/1");
  const keys = store.keys("a/");
  const missing = store.get("zzz");
  const code = missing == null ? lastErrorCode() : 0;
  return Response.text(before.toString() + " " + after.toString() + " " + keys.join(",") + " " +
    code.toString() + " " + store.getString("a/2")!);
}

function headers(): Response {
  const h = new Headers();
  h.append("X-A", "1");
  h.append("x-a", "2");
  h.append("B", "3");
  h.set("b", "4");
  let text = h.get("x-a")! + "|" + h.getAll("X-A").join(";") + "|" + h.has("c").toString() + "|";
  const pairs = h.entries();
  for (let i = 0; i < pairs.length; i++) text += pairs[i][0] + "=" + pairs[i][1] + ";";
  h.delete("X-a");
  return new Response(text, 201, h);
}

function stream(): Response {
  if (!Stream.start(Response.text("ignored", 206).header("x-streamed", "yes"))) return Response.text("no", 500);
  Stream.writeText("data: 1\n\n");
  Stream.write(Uint8Array.wrap(String.UTF8.encode("data: 2\n\n")));
  return Stream.done();
}

function socket(req: Request): Response {
  const sock = Socket.tcp(req.query, 6379);
  if (sock == null) return Response.text(lastErrorCode().toString() + " " + lastError(), 403);
  sock.sendText("PING\r\n");
  const got = sock.recv(100, 1000);
  const timedOut = sock.recv(100, 10) == null ? lastErrorCode() : 0;
  sock.close();
  return Response.text(String.UTF8.decode(got!.buffer) + timedOut.toString());
}

function handle(req: Request): Response {
  const path = req.path;
  if (path == "/abort") assert(false, "boom");
  if (path == "/kv") return kv();
  if (path == "/headers") return headers();
  if (path == "/json") return Response.json('{"q":"' + req.query + '","id":"' + req.param("id")! + '"}');
  if (path == "/redirect") return Response.redirect("/there");
  if (path == "/stream") return stream();
  if (path == "/socket") return socket(req);
  return Response.bytes(Uint8Array.wrap(req.arrayBuffer()), 404);
}

function onDatagram(socket: u32, peer: string, data: Uint8Array): void {
  udpSend(socket, peer, data);
}

serve(handle);
serveUdp(onDatagram);
