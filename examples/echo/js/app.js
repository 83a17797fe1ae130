// Echo a request back (method, target, x-test-* headers, body) and fetch a URL through the
// host: the parity example (tests/e2e/parity/CONTRACT.md; no WebSocket in wasi:http).

addEventListener("fetch", (event) => event.respondWith(route(event.request)));

const PLAIN = { "content-type": "text/plain; charset=utf-8" };

async function route(request) {
  const url = new URL(request.url);
  if (url.pathname === "/fetch") return fetchUrl(request);
  return echo(request, url);
}

async function echo(request, url) {
  const headers = new Headers({
    "x-echo-method": request.method,
    "x-echo-url": url.pathname + url.search,
    // the path below the route's prefix, from the host (spin-path-info); the path without one
    "x-echo-path": request.headers.get("spin-path-info") ?? url.pathname,
    "content-type": request.headers.get("content-type") ?? "application/octet-stream",
  });
  for (const [name, value] of request.headers) {
    if (name.startsWith("x-test-")) headers.set(`x-echo-${name}`, value);
  }
  return new Response(await request.arrayBuffer(), { headers });
}

async function fetchUrl(request) {
  const target = request.headers.get("x-fetch-url");
  if (target === null) return new Response("send the URL in x-fetch-url\n", { status: 400, headers: PLAIN });
  let upstream;
  try {
    upstream = await fetch(target);
  } catch (err) {
    // the host's allow-list answers wasi:http's HTTP-request-denied error code
    const denied = /denied/i.test(String(err?.message ?? err));
    return new Response(`${denied ? "denied" : "fetch failed"}: ${err?.message ?? err}\n`,
                        { status: denied ? 403 : 502, headers: PLAIN });
  }
  return new Response(await upstream.arrayBuffer(), {
    headers: { "x-upstream-status": String(upstream.status) },
  });
}
