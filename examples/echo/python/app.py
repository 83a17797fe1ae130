"""Echo a request back (method, target, x-test-* headers, body) and fetch a URL through
the host: the parity example (tests/e2e/parity/CONTRACT.md; no WebSocket in wasi:http)."""

from wasm_server_guest import FetchError, Request, Response, fetch, handler

PLAIN = {"content-type": "text/plain; charset=utf-8"}


def echo(req: Request) -> Response:
    headers = [("x-echo-method", req.method), ("x-echo-url", req.url), ("x-echo-path", req.path_info)]
    headers += [(f"x-echo-{name}", value) for name, value in req.headers if name.lower().startswith("x-test-")]
    headers.append(("content-type", req.header("content-type") or "application/octet-stream"))
    return Response(200, headers, req.body)


def fetch_url(req: Request) -> Response:
    url = req.header("x-fetch-url")
    if url is None:
        return Response(400, PLAIN, "send the URL in x-fetch-url\n")
    try:
        up = fetch(url)
    except FetchError as e:
        return Response(403 if e.denied else 502, PLAIN, f"{'denied' if e.denied else 'fetch failed'}: {e}\n")
    return Response(200, {"x-upstream-status": str(up.status)}, up.body)


def route(req: Request) -> Response:
    if req.url.split("?", 1)[0] == "/fetch":
        return fetch_url(req)
    return echo(req)


IncomingHandler = handler(route)
