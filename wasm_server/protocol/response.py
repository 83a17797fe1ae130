"""Sans-I/O HTTP/1.1 responses: the typed value every responder returns, and the one
state machine that turns it into bytes.

Responders (an app, the deployments, the admin API, the HTTPS redirect) return a
:class:`Response`; they never write bytes. A guest that streams its body writes it
through the :class:`ResponseSink` it was handed, and then returns a Response with
``streamed=True``. Only :class:`ResponseWriter` decides the framing, so these rules
hold in exactly one place:

* ``HEAD`` gets the headers ``GET`` would get (``content-length`` included) and no
  body (RFC 9110 §9.3.2). A responder that answers HEAD with an empty body and its
  own ``content-length`` (Go's ``http.FileServer`` does) keeps that length.
* 1xx, 204 and 304 never carry a body or a length.
* A streamed body is chunked for HTTP/1.1; an HTTP/1.0 client cannot decode chunks,
  so it gets the raw bytes and the end of the connection ends the body.
* ``connection: close`` when the connection ends after this response;
  ``connection: keep-alive`` for an HTTP/1.0 client that asked to keep it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from .http1 import Request, date_header, status_line, valid_header

Headers = Sequence[tuple[bytes, bytes]]
TEXT = (b"content-type", b"text/plain; charset=utf-8")


class Response(NamedTuple):
    """What a responder answers: status, headers and body, or a body already streamed.

    ``close``: end the connection after this response (the request could not be read
    completely, or the bytes after it are not HTTP). ``component`` / ``request_id``
    only feed the access log. A NamedTuple, as :class:`~.http1.Request`: one is built
    per request, and a frozen dataclass costs twice as much to build (2.7 vs 1.1 µs)."""

    status: int
    headers: Headers = ()
    body: bytes = b""
    streamed: bool = False
    close: bool = False
    component: str = ""
    request_id: bytes = b""


def plain(status: int, text: str, *extra: tuple[bytes, bytes], close: bool = False) -> Response:
    """A short text/plain response the server writes on its own behalf."""
    return Response(status, (TEXT, *extra), text.encode(), close=close)


def error(status: int, reason: str, *, close: bool = False) -> Response:
    """``<status> <phrase>: <reason>`` as text/plain."""
    return plain(status, f"{status} {reason_phrase(status)}: {reason}\n", close=close)


def reason_phrase(status: int) -> str:
    """``OK`` for 200 (``Unknown`` for codes without a registered phrase)."""
    return status_line(status)[13:-2].decode()


class ResponseSink(Protocol):
    """Where a guest streams the body of the response it is producing."""

    @property
    def started(self) -> bool:
        """Whether the head has been sent."""

    def start(self, status: int, headers: Headers) -> bool:
        """Send the head now; False if it was already sent or the client is gone."""

    async def write(self, data: bytes) -> bool:
        """Send part of the body, waiting while the client is slow; False once it has gone."""


#: headers the writer owns: a responder's values are dropped
_FRAMING = frozenset((b"content-length", b"transfer-encoding", b"connection", b"date"))
_NO_BODY = frozenset((204, 304))


#: header lines already checked → whether they may go out (responders repeat the same few)
_checked: dict[tuple[bytes, bytes], bool] = {}
_CHECKED_MAX = 4096


def _check(pair: tuple[bytes, bytes]) -> bool:
    """Framing headers are the writer's job; invalid headers never reach the wire."""
    name, value = pair
    ok = name.lower() not in _FRAMING and valid_header(name, value)
    # remember short lines only (a guest cannot grow the table with big values), and not
    # request ids: one per response, they would only push the repeated lines out
    if len(value) <= 256 and name != b"x-request-id":
        if len(_checked) >= _CHECKED_MAX:
            _checked.clear()
        _checked[pair] = ok
    return ok


def header_allowed(pair: tuple[bytes, bytes]) -> bool:
    """Whether a responder's header goes out as it is: not a framing header (those are the
    writer's, or an ASGI server's, to set) and valid on the wire. The ASGI adapter filters
    with this, so both front ends drop the same headers."""
    ok = _checked.get(pair)
    return _check(pair) if ok is None else ok


def head_length(resp: Response) -> int | None:
    """The ``content-length`` a complete response's head carries for a HEAD request: the body's
    length, or the responder's own header when it answered HEAD with an empty body (Go's
    ``http.FileServer`` does); None for 1xx/204/304, which carry none."""
    status = resp.status
    if 100 <= status < 200 or status in _NO_BODY:
        return None
    if not resp.body:
        given = _head_length(resp.headers)
        return given if given is not None else 0
    return len(resp.body)


def _head_length(headers: Headers) -> int | None:
    """A responder's own ``content-length`` (used for HEAD answered without a body)."""
    for name, value in headers:
        if name.lower() == b"content-length":
            return int(value) if value.strip().isdigit() and len(value) < 20 else None
    return None


class ResponseWriter:
    """The response side of one connection: one response at a time, in request order.

    :meth:`begin` with the request, then either :meth:`complete` (whole response) or
    :meth:`start` + :meth:`chunk`\\* + :meth:`end` (streamed). :attr:`keep_alive` says,
    after the response, whether the connection may serve another request.
    """

    __slots__ = ("chunked", "head_only", "http10", "keep_alive", "raw", "sent", "started")

    def __init__(self) -> None:
        self.head_only = False
        self.http10 = False
        self.keep_alive = True
        self.started = False
        self.chunked = False
        #: a streamed body sent as it is, ended by closing the connection (HTTP/1.0)
        self.raw = False
        #: body bytes sent for the current response (the access log's "bytes")
        self.sent = 0

    def begin(self, request: Request, keep_alive: bool = True) -> None:
        """Start answering ``request``; ``keep_alive=False`` when the server is draining."""
        self.head_only = request.method == b"HEAD"
        self.http10 = request.http_version == "1.0"
        self.keep_alive = request.keep_alive and keep_alive
        self.started = False
        self.chunked = False
        self.raw = False
        self.sent = 0

    def complete(self, resp: Response) -> bytes:
        """The whole response: head with ``content-length`` and the body (unless HEAD/1xx/204/304)."""
        if resp.close:
            self.keep_alive = False
        status = resp.status
        body = resp.body
        if 100 <= status < 200 or status in _NO_BODY:
            return self._head(status, resp.headers, None, False)
        if self.head_only:
            return self._head(status, resp.headers, head_length(resp), False)
        length = len(body)
        self.sent = length
        return self._head(status, resp.headers, length, False) + body

    def start(self, status: int, headers: Headers) -> bytes:
        """The head of a streamed response (chunked on HTTP/1.1, close-delimited on 1.0)."""
        self.started = True
        if self.head_only or 100 <= status < 200 or status in _NO_BODY:
            return self._head(status, headers, None, False)
        if self.http10:
            self.keep_alive = False
            self.raw = True
            return self._head(status, headers, None, False)
        self.chunked = True
        return self._head(status, headers, None, True)

    def chunk(self, data: bytes) -> bytes:
        """Bytes for one piece of a streamed body (nothing for HEAD or an empty piece)."""
        if not data or not (self.chunked or self.raw):
            return b""
        self.sent += len(data)
        return b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data

    def end(self) -> bytes:
        """What ends a streamed body."""
        return b"0\r\n\r\n" if self.chunked else b""

    def switching(self, headers: Headers) -> bytes:
        """``101 Switching Protocols`` with ``headers`` (the connection then speaks the new protocol)."""
        self.keep_alive = False
        parts = [status_line(101)]
        for name, value in headers:
            if valid_header(name, value) and name.lower() not in (b"connection", b"date"):
                parts += (name, b": ", value, b"\r\n")
        parts.append(b"connection: Upgrade\r\n\r\n")
        return b"".join(parts)

    def _head(self, status: int, headers: Headers, length: int | None, chunked: bool) -> bytes:
        parts = [status_line(status), date_header()]
        for pair in headers:
            ok = _checked.get(pair)
            if ok is None:
                ok = _check(pair)
            if ok:
                parts += (pair[0], b": ", pair[1], b"\r\n")
        if chunked:
            parts.append(b"transfer-encoding: chunked\r\n")
        elif length is not None and not (100 <= status < 200 or status in _NO_BODY):
            parts.append(b"content-length: %d\r\n" % length)
        if not self.keep_alive:
            parts.append(b"connection: close\r\n")
        elif self.http10:
            parts.append(b"connection: keep-alive\r\n")
        parts.append(b"\r\n")
        return b"".join(parts)


def encode(resp: Response, *, keep_alive: bool = False) -> bytes:
    """A complete response outside any request (e.g. 503 to a connection over the limit)."""
    writer = ResponseWriter()
    writer.keep_alive = keep_alive
    return writer.complete(resp)


class Session(Protocol):
    """A protocol that took a connection over after ``101 Switching Protocols`` (WebSocket)."""

    def start(self, first_bytes: bytes) -> None:
        """Begin, with the bytes that arrived right after the upgrade request."""

    def data_received(self, data: bytes) -> None:
        """More bytes from the peer."""

    def connection_lost(self) -> None:
        """The connection is gone."""

    def pause_writing(self) -> None:
        """The peer is not reading: stop feeding the transport (flow control)."""

    def resume_writing(self) -> None:
        """The peer reads again."""


@dataclass(frozen=True, slots=True)
class Upgraded:
    """An accepted upgrade: the 101 response's headers and the session that takes over."""

    headers: Headers
    session: Session
