"""wasi:http/types for components: fields, requests, responses, bodies, the outparam.

Host objects behind the resource handles, and the interface's functions.
What a request produces (status, headers, body, or the error code the guest
chose) lands in the call's :class:`Exchange`; the executor turns it into a
``GuestResponse``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

from ...engine.component import Err, HostFuncs, Some, trap
from .call import WasiHttpCall
from .io import READY, InputStream, IoError, OutputStream, Pollable

#: hop-by-hop and connection-level headers a guest may not set (wasmtime's DEFAULT_FORBIDDEN_HEADERS)
FORBIDDEN = frozenset((
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
    "transfer-encoding", "upgrade", "http2-settings",
))
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

METHODS = {"GET": "get", "HEAD": "head", "POST": "post", "PUT": "put", "DELETE": "delete", "CONNECT": "connect",
           "OPTIONS": "options", "TRACE": "trace", "PATCH": "patch"}
METHOD_NAMES = {v: k for k, v in METHODS.items()}

Pair = tuple[str, bytes]
#: a response body buffered past this many bytes starts streaming to the client
STREAM_AFTER = 256 * 1024


def header_error(name: str, value: bytes | None = None) -> str | None:
    """The ``header-error`` case for a name/value, or None if it may be set."""
    if not _TOKEN.match(name) or (value is not None and (_BAD_VALUE.search(value) or value != value.strip())):
        return "invalid-syntax"
    if name.lower() in FORBIDDEN:
        return "forbidden"
    return None


class Fields:
    """A ``fields`` (also ``headers`` / ``trailers``): an ordered multimap with lower-case names."""

    RID = 5

    def __init__(self, entries: list[Pair] | None = None, *, immutable: bool = False) -> None:
        self.entries = entries if entries is not None else []
        self.immutable = immutable

    def _mutable(self) -> object:
        return Err(("immutable", None)) if self.immutable else None

    def get(self, name: str) -> list[bytes]:
        low = name.lower()
        return [v for k, v in self.entries if k == low]

    def set(self, name: str, values: list[bytes]) -> object:
        refused = self._mutable() or _check_all(name, values)
        if refused is not None:
            return refused
        low = name.lower()
        self.entries = [(k, v) for k, v in self.entries if k != low] + [(low, v) for v in values]
        return None

    def delete(self, name: str) -> object:
        refused = self._mutable() or _check_all(name, [])
        if refused is not None:
            return refused
        low = name.lower()
        self.entries = [(k, v) for k, v in self.entries if k != low]
        return None

    def append(self, name: str, value: bytes) -> object:
        refused = self._mutable() or _check_all(name, [value])
        if refused is not None:
            return refused
        self.entries.append((name.lower(), value))
        return None

    def pairs(self) -> list[tuple[bytes, bytes]]:
        """The entries as ``(name, value)`` bytes (for the response)."""
        return [(k.encode(), v) for k, v in self.entries]


def _check_all(name: str, values: list[bytes]) -> object:
    for value in values or [None]:  # type: ignore[list-item]
        why = header_error(name, value)
        if why is not None:
            return Err((why, None))
    return None


def _from_list(call: WasiHttpCall, entries: list[tuple[str, bytes]]) -> object:
    for name, value in entries:
        why = header_error(name, value)
        if why is not None:
            return Err((why, None))
    return Fields([(k.lower(), v) for k, v in entries])


class IncomingBody:
    """An ``incoming-body``: its stream can be taken once."""

    RID = 7

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.taken = False


class FutureTrailers:
    """A ``future-trailers``: requests here never carry trailers."""

    RID = 8

    def __init__(self) -> None:
        self.taken = False


class IncomingRequest:
    """An ``incoming-request``."""

    RID = 6

    def __init__(self, method: str, path: str, scheme: str, authority: str | None, headers: list[Pair],
                 body: bytes) -> None:
        self.method = method
        self.path = path
        self.scheme = scheme
        self.authority = authority
        self.headers = headers
        self.body: IncomingBody | None = IncomingBody(body)


def method_variant(method: str) -> tuple[str, str | None]:
    """The ``method`` variant of an HTTP method."""
    case = METHODS.get(method)
    return (case, None) if case is not None else ("other", method)


def variant_method(value: tuple[str, str | None]) -> str:
    """The HTTP method of a ``method`` variant."""
    case, other = value
    return other or "" if case == "other" else METHOD_NAMES[case]


def _consume(call: WasiHttpCall, holder: IncomingRequest | IncomingResponse) -> object:
    body, holder.body = holder.body, None
    return body if body is not None else Err(None)


def _body_stream(call: WasiHttpCall, body: IncomingBody) -> object:
    if body.taken:
        return Err(None)
    body.taken = True
    return InputStream(body.data)


def _trailers_get(call: WasiHttpCall, ft: FutureTrailers) -> object:
    if ft.taken:
        return Some(Err(None))
    ft.taken = True
    return Some(Some(None))  # some(ok(ok(none))): the body ended without trailers


class OutgoingBody:
    """An ``outgoing-body``: one output stream, then ``finish``."""

    RID = 10

    def __init__(self, sink: Callable[[bytes], Awaitable[None] | None]) -> None:
        self.sink = sink
        self.stream_taken = False
        self.finished = False
        self.written = 0
        self.done: asyncio.Event = asyncio.Event()

    def write(self, data: bytes) -> Awaitable[None] | None:
        """Pass body bytes on to where this body goes."""
        self.written += len(data)
        return self.sink(data)

    def finish_dropped(self) -> None:
        """The guest dropped the body without ``finish``: it ends here."""
        if not self.finished:
            self.finished = True
            self.done.set()


class OutgoingResponse:
    """An ``outgoing-response`` under construction."""

    RID = 9

    def __init__(self, headers: Fields) -> None:
        self.status = 200
        self.headers = headers
        self.body: OutgoingBody | None = None


class ResponseOutparam:
    """A ``response-outparam``: where the guest puts its response (once)."""

    RID = 11

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange


class Exchange:
    """What one request produced: the response (or the guest's error code) and its body.

    The body is buffered; with a ``stream`` function (the executor's) it is passed
    on as it is written once the head is known, so big bodies stream with backpressure.
    """

    def __init__(self, stream: Callable[[OutgoingResponse], Callable[[bytes], Awaitable[None] | None] | None]
                 | None = None) -> None:
        self.response: OutgoingResponse | None = None
        self.error: object = None
        self.set = False
        self.body = bytearray()
        self._stream = stream
        self._forward: Callable[[bytes], Awaitable[None] | None] | None = None

    def body_write(self, data: bytes) -> Awaitable[None] | None:
        """Take part of the response body (buffered, or forwarded once streaming)."""
        if self._forward is not None:
            return self._forward(data)
        self.body += data
        if self._stream is not None and self.response is not None and len(self.body) >= STREAM_AFTER:
            self._forward = self._stream(self.response)
            if self._forward is not None:
                pending, self.body = bytes(self.body), bytearray()
                return self._forward(pending)
        return None

    @property
    def streamed(self) -> bool:
        """Whether the body went out through the stream."""
        return self._forward is not None


def _outgoing_response_new(call: WasiHttpCall, headers: Fields) -> OutgoingResponse:
    headers.immutable = False
    return OutgoingResponse(headers)


def _set_status(call: WasiHttpCall, resp: OutgoingResponse, status: int) -> object:
    if not 100 <= status <= 599:
        return Err(None)
    resp.status = status
    return None


def _response_body(call: WasiHttpCall, resp: OutgoingResponse) -> object:
    if resp.body is not None:
        return Err(None)
    exchange = call.exchange
    resp.body = OutgoingBody(exchange.body_write)
    return resp.body


def _body_write(call: WasiHttpCall, body: OutgoingBody) -> object:
    if body.stream_taken:
        return Err(None)
    body.stream_taken = True
    return OutputStream(body.write)


def _body_finish(call: WasiHttpCall, body: OutgoingBody, trailers: Fields | None) -> object:
    body.finished = True
    body.done.set()
    return None


def _outparam_set(call: WasiHttpCall, out: ResponseOutparam, result: object) -> None:
    exchange = out.exchange
    if exchange.set:
        trap("response-outparam.set called twice")
    exchange.set = True
    if isinstance(result, Err):
        exchange.error = result.value
        return
    assert isinstance(result, OutgoingResponse)
    exchange.response = result
    result.headers.immutable = True


def _headers_child(fields: Fields) -> Fields:
    """The ``headers()`` of a request/response: a handle on the same entries, immutable."""
    return Fields(fields.entries, immutable=True)


def _incoming_headers(call: WasiHttpCall, req: IncomingRequest) -> Fields:
    return Fields(list(req.headers), immutable=True)


def _http_error_code(call: WasiHttpCall, err: IoError) -> object:
    return getattr(err, "code", None)


class IncomingResponse:
    """An ``incoming-response`` (of an outgoing request)."""

    RID = 15

    def __init__(self, status: int, headers: list[Pair], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body: IncomingBody | None = IncomingBody(body)


def funcs(outgoing: dict[str, Callable[..., object]]) -> HostFuncs:
    """The functions of ``wasi:http/types`` (``outgoing``: the outgoing-request ones)."""
    return {
        "[constructor]fields": lambda call: Fields(),
        "[static]fields.from-list": _from_list,
        "[method]fields.get": lambda call, f, name: f.get(name),
        "[method]fields.has": lambda call, f, name: bool(f.get(name)),
        "[method]fields.set": lambda call, f, name, values: f.set(name, values),
        "[method]fields.delete": lambda call, f, name: f.delete(name),
        "[method]fields.get-and-delete": lambda call, f, name: _get_and_delete(f, name),
        "[method]fields.append": lambda call, f, name, value: f.append(name, value),
        "[method]fields.entries": lambda call, f: list(f.entries),
        "[method]fields.clone": lambda call, f: Fields(list(f.entries)),
        "[method]incoming-request.method": lambda call, r: method_variant(r.method),
        "[method]incoming-request.path-with-query": lambda call, r: r.path,
        "[method]incoming-request.scheme": lambda call, r: (r.scheme, None),
        "[method]incoming-request.authority": lambda call, r: r.authority,
        "[method]incoming-request.headers": _incoming_headers,
        "[method]incoming-request.consume": _consume,
        "[method]incoming-body.stream": _body_stream,
        "[static]incoming-body.finish": lambda call, body: FutureTrailers(),
        "[method]future-trailers.subscribe": lambda call, ft: READY,
        "[method]future-trailers.get": _trailers_get,
        "[constructor]outgoing-response": _outgoing_response_new,
        "[method]outgoing-response.status-code": lambda call, r: r.status,
        "[method]outgoing-response.set-status-code": _set_status,
        "[method]outgoing-response.headers": lambda call, r: _headers_child(r.headers),
        "[method]outgoing-response.body": _response_body,
        "[method]outgoing-body.write": _body_write,
        "[static]outgoing-body.finish": _body_finish,
        "[method]response-outparam.send-informational": lambda call, out, status, headers: None,
        "[static]response-outparam.set": _outparam_set,
        "[method]incoming-response.status": lambda call, r: r.status,
        "[method]incoming-response.headers": lambda call, r: Fields(list(r.headers), immutable=True),
        "[method]incoming-response.consume": _consume,
        "http-error-code": _http_error_code,
        **outgoing,
    }


def _get_and_delete(f: Fields, name: str) -> object:
    values = f.get(name)
    refused = f.delete(name)
    return refused if refused is not None else values


RESOURCES = {
    "fields": Fields.RID, "headers": Fields.RID, "trailers": Fields.RID,
    "incoming-request": IncomingRequest.RID, "incoming-body": IncomingBody.RID,
    "future-trailers": FutureTrailers.RID, "outgoing-response": OutgoingResponse.RID,
    "outgoing-body": OutgoingBody.RID, "response-outparam": ResponseOutparam.RID,
    "incoming-response": IncomingResponse.RID, "input-stream": InputStream.RID,
    "output-stream": OutputStream.RID, "pollable": Pollable.RID, "io-error": IoError.RID, "error": IoError.RID,
}
