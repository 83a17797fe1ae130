// {{name}}: a wasm-server service in TypeScript (AssemblyScript). Build and serve: wasm-server up .
import { Kv, Request, Response, lastError, lastErrorCode, log, serve } from "wasm-server";

function handle(req: Request): Response {
  // count visits in the KV store (declared in wasm-server.toml)
  const visits = Kv.open("default").incr("visits", 1);
  if (lastErrorCode() != 0) log.warn("could not count the visit: " + lastError());
  return Response.text("Hello from {{name}}!\nyou asked for " + req.pathInfo + " (visit " + visits.toString() + ")\n");
}

serve(handle);
