"""A persistent counter in the KV store: POST increments, GET reads.
Any path works: the manifest decides where the counter lives."""

import sys

from componentize_py_types import Err
from wasm_server_guest import Request, Response, handler
from wit_world.imports import kv

STORE = "default"
KEY = "counter"
PLAIN = {"content-type": "text/plain; charset=utf-8"}


def counter(req: Request) -> Response:
    try:
        if req.method == "POST":
            return Response(200, PLAIN, f"{kv.incr(STORE, KEY, 1)}\n")
        if req.method in ("GET", "HEAD"):
            value = kv.get(STORE, KEY)
            return Response(200, PLAIN, (value or b"0") + b"\n")
    except Err as e:  # wasm-server:host/types.error: denied, too-large, invalid, io, timeout
        print(f"the counter failed: {e.value}", file=sys.stderr)
        return Response(503, PLAIN, "the counter is unavailable\n")
    return Response(405, {**PLAIN, "allow": "GET, POST"}, "use GET or POST\n")


IncomingHandler = handler(counter)
