"""{{name}}: a wasm-server service in Python (componentize-py). Build and serve: wasm-server up ."""

import sys

from componentize_py_types import Err
from wasm_server_guest import Request, Response, handler
from wit_world.imports import kv


def handle(req: Request) -> Response:
    # count visits in the KV store (declared in wasm-server.toml)
    try:
        visits = kv.incr("default", "visits", 1)
    except Err as e:
        print(f"could not count the visit: {e.value}", file=sys.stderr)
        visits = 0
    return Response(200, {"content-type": "text/plain; charset=utf-8"},
                    f"Hello from {{name}}!\nyou asked for {req.path_info} (visit {visits})\n")


IncomingHandler = handler(handle)
