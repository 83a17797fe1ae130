// Hello from TypeScript (AssemblyScript): answers every request with a greeting and the path it saw.
import { Request, Response, serve } from "wasm-server";

function hello(req: Request): Response {
  // pathInfo is the path below the route's prefix, so the answer is the
  // same whether this runs alone or mounted under /hello/ts
  return Response.text("Hello from TypeScript\npath: " + req.pathInfo + "\n");
}

serve(hello);
