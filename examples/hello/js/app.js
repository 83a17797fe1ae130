// Hello from JavaScript: answers every request with a greeting and the path it saw.
// componentize-js runs it in SpiderMonkey and serves the standard fetch event.

addEventListener("fetch", (event) => event.respondWith(hello(event.request)));

function hello(request) {
  // path_info is the path below the route's prefix (the host's spin-path-info header), so the
  // greeting is the same whether this runs alone or mounted under /hello/js
  const path = request.headers.get("spin-path-info") ?? new URL(request.url).pathname;
  return new Response(`Hello from JavaScript\npath: ${path}\n`, {
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}
