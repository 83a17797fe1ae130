"""Hello from Python: answers every request with a greeting and the path it saw."""

from wasm_server_guest import Request, Response, handler


def hello(req: Request) -> Response:
    # path_info is the path below the route's prefix, so the greeting is the same
    # whether this runs alone or mounted under /hello/python
    return Response(200, {"content-type": "text/plain; charset=utf-8"},
                    f"Hello from Python\npath: {req.path_info}\n")


IncomingHandler = handler(hello)
