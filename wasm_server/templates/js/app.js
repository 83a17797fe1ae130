// {{name}}: a wasm-server service in JavaScript (componentize-js). Build and serve: wasm-server up .
import { incr } from "wasm-server:host/kv@0.1.0";

addEventListener("fetch", (event) => event.respondWith(handle(event.request)));

function handle(request) {
  // count visits in the KV store (declared in wasm-server.toml)
  let visits = 0n;
  try {
    visits = incr("default", "visits", 1n);
  } catch (err) {
    console.error(`could not count the visit: ${JSON.stringify(err?.payload ?? String(err))}`);
  }
  // the path below the route's prefix comes in the spin-path-info header
  const path = request.headers.get("spin-path-info") ?? new URL(request.url).pathname;
  return new Response(`Hello from {{name}}!\nyou asked for ${path} (visit ${visits})\n`, {
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}
