"""A componentize-py wasi:http guest for the wasm-server tests (routes by path).

/hello  greeting; /echo  the request body back; /headers  the request headers;
/forbidden  tries to set a forbidden header; /kv  counts in wasm-server:host/kv;
/var  a manifest variable; /print  writes to stdout; /trap  raises; /fetch?host:port/path
an outbound request; /barrier?n  waits (polling a clock) until n requests arrived;
/big?n  an n-byte body; /once (/once-kv after a KV write)  fails in an instance that served it before.
"""

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import kv, monotonic_clock, outgoing_handler, poll, variables
from wit_world.imports.wasi_http_types import (
    Fields,
    IncomingRequest,
    OutgoingBody,
    OutgoingRequest,
    OutgoingResponse,
    ResponseOutparam,
    Scheme_Http,
)

#: requests of /once served by this instance (a module global lives as long as the instance)
SERVED = [0]


def respond(out: ResponseOutparam, status: int, body: bytes, headers: tuple[tuple[str, bytes], ...] = ()) -> None:
    resp = OutgoingResponse(Fields.from_list([("content-type", b"text/plain"), *headers]))
    resp.set_status_code(status)
    outgoing = resp.body()
    ResponseOutparam.set(out, Ok(resp))
    stream = outgoing.write()
    for i in range(0, len(body), 4096):
        stream.blocking_write_and_flush(body[i:i + 4096])
    stream.__exit__(None, None, None)
    OutgoingBody.finish(outgoing, None)


def read_all(body_owner: object) -> bytes:
    body = body_owner.consume()  # type: ignore[attr-defined]
    stream = body.stream()
    chunks = []
    while True:
        try:
            chunks.append(stream.blocking_read(65536))
        except Err:
            break
    return b"".join(chunks)


def sleep_ms(ms: int) -> None:
    monotonic_clock.subscribe_duration(ms * 1_000_000).block()


def fetch(out: ResponseOutparam, target: str) -> None:
    host, _, rest = target.partition("/")
    req = OutgoingRequest(Fields())
    req.set_scheme(Scheme_Http())
    req.set_authority(host)
    req.set_path_with_query("/" + rest)
    try:
        future = outgoing_handler.handle(req, None)
    except Err as e:
        respond(out, 200, f"refused {e.value}".encode())
        return
    poll.poll([future.subscribe()])
    got = future.get()
    assert got is not None
    inner = got.value
    if isinstance(inner, Err):
        respond(out, 200, f"error {inner.value}".encode())
        return
    resp = inner.value
    respond(out, 200, f"fetched {resp.status()} ".encode() + read_all(resp))


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        path = request.path_with_query() or "/"
        route, _, query = path.partition("?")
        if route == "/echo":
            respond(response_out, 200, read_all(request))
        elif route == "/trap":
            raise RuntimeError("boom")
        elif route == "/headers":
            text = "".join(f"{k}: {v.decode()}\n" for k, v in request.headers().entries())
            respond(response_out, 200, text.encode())
        elif route == "/forbidden":
            try:
                Fields.from_list([(query or "connection", b"close")])
                respond(response_out, 200, b"accepted")
            except Err as e:
                respond(response_out, 200, f"rejected {type(e.value).__name__}".encode())
        elif route == "/kv":
            n = kv.incr("default", "hits", 1)
            kv.set("default", "last", path.encode())
            last = kv.get("default", "last")
            respond(response_out, 200, f"hits={n} last={last.decode() if last else None}".encode())
        elif route == "/kv-undeclared":
            try:
                kv.get("other", "x")
                respond(response_out, 200, b"allowed")
            except Err as e:
                respond(response_out, 200, f"kv error {type(e.value).__name__}".encode())
        elif route == "/var":
            respond(response_out, 200, f"greeting={variables.get('greeting')}".encode())
        elif route == "/print":
            print("hello from stdout")
            respond(response_out, 200, b"printed")
        elif route == "/fetch":
            fetch(response_out, query)
        elif route == "/barrier":
            kv.incr("default", "arrived", 1)
            while int(kv.get("default", "arrived") or b"0") < int(query):
                sleep_ms(10)
            respond(response_out, 200, b"all arrived")
        elif route in ("/once", "/once-kv"):
            if route == "/once-kv":
                kv.incr("default", "once", 1)
            SERVED[0] += 1
            if SERVED[0] > 1:
                raise RuntimeError("this instance already served /once")
            respond(response_out, 200, b"first in this instance")
        elif route == "/big":
            respond(response_out, 200, b"x" * int(query))
        else:
            respond(response_out, 200, f"Hello from Python\npath: {path}\n".encode())
