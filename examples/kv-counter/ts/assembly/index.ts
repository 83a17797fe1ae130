// A persistent counter in the KV store: POST increments, GET reads.
import { Kv, NOT_FOUND, Request, Response, lastError, lastErrorCode, log, serve } from "wasm-server";

function counter(req: Request): Response {
  const store = Kv.open("default");
  if (req.method == "POST") {
    const value = store.incr("counter", 1);
    if (lastErrorCode() != 0) {
      log.error("increment failed: " + lastError());
      return Response.text("the counter is unavailable\n", 503);
    }
    return Response.text(value.toString() + "\n");
  }
  if (req.method == "GET" || req.method == "HEAD") {
    const value = store.getString("counter");
    if (value == null) {
      return lastErrorCode() == NOT_FOUND ? Response.text("0\n") : Response.text("the counter is unavailable\n", 503);
    }
    return Response.text(value + "\n");
  }
  return Response.text("use GET or POST\n", 405).header("allow", "GET, POST");
}

serve(counter);
