"""wasm-server's Python guest SDK: plain request → response handlers on ``wasi:http/proxy``.

A componentize-py app exports ``wasi:http/incoming-handler`` through a class named
``IncomingHandler``; ``handler(fn)`` makes that class from a function taking a ``Request``
and returning a ``Response``::

    from wasm_server_guest import Request, Response, handler

    def hello(req: Request) -> Response:
        return Response(200, {"content-type": "text/plain"}, b"hi\\n")

    IncomingHandler = handler(hello)

The body is read whole before the handler runs and written whole after it returns.
``fetch`` sends an outbound request through ``wasi:http/outgoing-handler``. The project's
own host interfaces (``wit_world.imports.kv``, ``wit_world.imports.variables``) exist only
when the app is built for the ``service`` world (``wasm-server python``'s default); the
``proxy`` world (``--world proxy``) is plain ``wasi:http/proxy`` and runs on other servers
too. ``path_info`` is the path below the route's prefix: the host passes it in the
``spin-path-info`` header (Spin's name, so the same app runs there); without it (e.g. under
``wasmtime serve``) it is the request's path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import outgoing_handler

try:  # the `service` world imports wasm-server:host/types too, so componentize-py qualifies the name
    from wit_world.imports import wasi_http_types as http
except ImportError:  # the plain `proxy` world
    from wit_world.imports import types as http  # type: ignore[no-redef]
from wit_world.imports.streams import StreamError_Closed

#: wasi:io's blocking-write-and-flush takes at most 4096 bytes per call
WRITE_CHUNK = 4096
READ_CHUNK = 65536
PATH_INFO_HEADER = "spin-path-info"


@dataclass
class Request:
    """An incoming request: ``url`` is the target as received (path and ``?query``)."""

    method: str
    url: str
    path_info: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass
class Response:
    """A response to send (or one received by ``fetch``)."""

    status: int = 200
    headers: dict[str, str] | list[tuple[str, str]] = field(default_factory=dict)
    body: bytes | str = b""


class FetchError(Exception):
    """An outbound request failed; ``denied`` when the host's allow-list refused it."""

    def __init__(self, message: str, denied: bool = False) -> None:
        super().__init__(message)
        self.denied = denied


def _method_name(method: object) -> str:
    if isinstance(method, http.Method_Other):
        return method.value
    return type(method).__name__.removeprefix("Method_").upper()


def _read_all(body: object) -> bytes:
    """Everything an incoming body's stream holds, then the body finished."""
    chunks = []
    with body.stream() as stream:  # type: ignore[attr-defined]
        while True:
            try:
                chunks.append(stream.blocking_read(READ_CHUNK))
            except Err as e:
                if isinstance(e.value, StreamError_Closed):
                    break
                raise
    http.IncomingBody.finish(body)
    return b"".join(chunks)


def _write_all(body: object, data: bytes) -> None:
    """Write ``data`` to an outgoing body and finish it."""
    with body.write() as stream:  # type: ignore[attr-defined]
        for at in range(0, len(data), WRITE_CHUNK):
            stream.blocking_write_and_flush(data[at:at + WRITE_CHUNK])
    http.OutgoingBody.finish(body, None)


def _fields(headers: dict[str, str] | list[tuple[str, str]]) -> object:
    pairs = headers.items() if isinstance(headers, dict) else headers
    return http.Fields.from_list([(k, v.encode()) for k, v in pairs])


def _to_request(request: object) -> Request:
    url = request.path_with_query() or "/"  # type: ignore[attr-defined]
    with request.headers() as fields:  # type: ignore[attr-defined]
        headers = [(k, v.decode("latin-1")) for k, v in fields.entries()]
    body = _read_all(request.consume())  # type: ignore[attr-defined]
    path_info = next((v for k, v in headers if k.lower() == PATH_INFO_HEADER), None)
    headers = [(k, v) for k, v in headers if k.lower() != PATH_INFO_HEADER]
    return Request(_method_name(request.method()), url,  # type: ignore[attr-defined]
                   path_info if path_info is not None else url.split("?", 1)[0], headers, body)


def _send(response: Response, response_out: object) -> None:
    out = http.OutgoingResponse(_fields(response.headers))
    out.set_status_code(response.status)
    body = out.body()
    http.ResponseOutparam.set(response_out, Ok(out))
    data = response.body.encode() if isinstance(response.body, str) else response.body
    _write_all(body, data)


def handler(fn):  # type: ignore[no-untyped-def]
    """The ``IncomingHandler`` class componentize-py exports, calling ``fn(Request) -> Response``.
    An exception in ``fn`` becomes a 500 (its message goes to stderr, the server log)."""

    class IncomingHandler(exports.IncomingHandler):
        def handle(self, request: object, response_out: object) -> None:
            try:
                response = fn(_to_request(request))
            except Exception as exc:  # noqa: BLE001 - a guest bug answers 500, not a trap
                import sys
                import traceback

                traceback.print_exc(file=sys.stderr)
                response = Response(500, {"content-type": "text/plain"}, f"internal error: {exc}\n")
            _send(response, response_out)

    return IncomingHandler


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None, body: bytes = b"") -> Response:
    """Send a request through the host (``wasi:http/outgoing-handler``) and read the whole answer.
    FetchError when it fails; ``.denied`` when the server's ``allowed_outbound_hosts`` refused it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FetchError(f"not an absolute http(s) URL: {url}")
    request = http.OutgoingRequest(_fields(headers or {}))
    if method.upper() != "GET":
        known = getattr(http, f"Method_{method.capitalize()}", None)
        request.set_method(known() if known is not None else http.Method_Other(method))
    request.set_scheme(http.Scheme_Http() if parts.scheme == "http" else http.Scheme_Https())
    request.set_authority(parts.netloc)
    request.set_path_with_query(parts.path + (f"?{parts.query}" if parts.query else "") or "/")
    out_body = request.body()
    try:
        future = outgoing_handler.handle(request, None)
    except Err as e:
        raise _fetch_error(e.value) from None
    _write_all(out_body, body)
    with future.subscribe() as ready:
        ready.block()
    result = future.get()
    if result is None or isinstance(result, Err) or isinstance(result.value, Err):
        inner = None if result is None or isinstance(result, Err) else result.value.value
        raise _fetch_error(inner)
    incoming = result.value.value
    with incoming.headers() as fields:
        got_headers = [(k, v.decode("latin-1")) for k, v in fields.entries()]
    status = incoming.status()
    data = _read_all(incoming.consume())
    return Response(status, got_headers, data)


def _fetch_error(code: object) -> FetchError:
    name = type(code).__name__.removeprefix("ErrorCode_") if code is not None else "unknown"
    detail = getattr(code, "value", None)
    message = f"{name}: {detail}" if detail else name
    return FetchError(message, denied=isinstance(code, http.ErrorCode_HttpRequestDenied))
