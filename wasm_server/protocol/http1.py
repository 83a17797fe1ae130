"""Sans-I/O HTTP/1.1 server protocol core on top of httptools (llhttp).

Feed bytes with :meth:`H1Connection.receive_data`, take events with
:meth:`H1Connection.next_event`, and turn responses into bytes with
:class:`~.response.ResponseWriter` (protocol/response.py). No sockets, no
asyncio: tests drive it with plain byte strings.

Events:

* :class:`Request` — a complete request (body de-chunked);
* :class:`ContinueNeeded` — the client sent ``Expect: 100-continue`` and is
  waiting; the edge writes :data:`CONTINUE` before the body arrives;
* :class:`ProtocolError` — the input is unusable; answer its ``status`` and
  close the connection.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import NamedTuple

import httptools

DEFAULT_MAX_BODY = 10 * 1024 * 1024
DEFAULT_MAX_HEADER_BYTES = 16 * 1024
DEFAULT_MAX_HEADERS = 100

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

Headers = Sequence[tuple[bytes, bytes]]


class Request(NamedTuple):
    """A complete request (a NamedTuple: one is built per request, cheaply)."""

    method: bytes
    target: bytes
    headers: Headers  # names lower-cased, in received order
    body: bytes
    keep_alive: bool
    http_version: str


@dataclass(frozen=True, slots=True)
class ContinueNeeded:
    """The client waits for ``100 Continue`` before sending the body."""


@dataclass(frozen=True, slots=True)
class Upgrade:
    """The request before this event asked to switch protocols; ``rest`` are the
    bytes that followed its head (already the new protocol's)."""

    rest: bytes


@dataclass(frozen=True, slots=True)
class ProtocolError:
    """Unusable input: answer ``status`` with ``reason`` and close."""

    status: int
    reason: str


Event = Request | ContinueNeeded | ProtocolError | Upgrade

_CONTINUE_EVENT = ContinueNeeded()


class _Limit(Exception):
    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason


class H1Connection:
    """Parser state of one connection; yields events in arrival order (pipelining)."""

    def __init__(
        self,
        max_body: int = DEFAULT_MAX_BODY,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        max_headers: int = DEFAULT_MAX_HEADERS,
    ) -> None:
        self.max_body = max_body
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers
        self._events: deque[Event] = deque()
        self._parser = httptools.HttpRequestParser(self)
        self._failed = False
        #: True between the first byte of a request and its end (for request timeouts)
        self.in_message = False
        self._reset()

    def _reset(self) -> None:
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._header_bytes = 0
        self._body: list[bytes] = []
        self._body_len = 0

    # -- httptools callbacks ------------------------------------------------

    def on_message_begin(self) -> None:
        self._reset()
        self.in_message = True

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._header_bytes += len(url)
        if self._header_bytes > self.max_header_bytes:
            raise _Limit(414, "request line too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        if self._header_bytes > self.max_header_bytes:
            raise _Limit(431, f"request headers larger than {self.max_header_bytes} bytes")
        if len(self._headers) >= self.max_headers:
            raise _Limit(431, f"more than {self.max_headers} request headers")
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        content_length = None
        expect = False
        for name, value in self._headers:
            if name == b"content-length":
                content_length = int(value) if value.strip().isdigit() else None
            elif name == b"expect" and value.lower() == b"100-continue":
                expect = True
        if content_length is not None and content_length > self.max_body:
            raise _Limit(413, f"request body of {content_length} bytes is over the {self.max_body} limit")
        self._check_framing()
        if expect and self._parser.get_http_version() == "1.1":
            self._events.append(_CONTINUE_EVENT)

    def _check_framing(self) -> None:
        """What httptools lets through but RFC 9112 forbids, because proxies disagree on it
        (request smuggling): Host missing or repeated, transfer codings other than chunked."""
        hosts = 0
        for name, value in self._headers:
            if name == b"host":
                hosts += 1
            elif name == b"transfer-encoding" and value.strip().lower() != b"chunked":
                raise _Limit(501, f"transfer coding {value.decode('latin-1')!r} is not supported (only chunked)")
        if hosts > 1:
            raise _Limit(400, "more than one Host header")
        if hosts == 0 and self._parser.get_http_version() == "1.1":
            raise _Limit(400, "HTTP/1.1 request without a Host header")

    def on_body(self, body: bytes) -> None:
        self._body_len += len(body)
        if self._body_len > self.max_body:
            raise _Limit(413, f"request body is over the {self.max_body} byte limit")
        self._body.append(body)

    def on_message_complete(self) -> None:
        self.in_message = False
        p = self._parser
        self._events.append(
            Request(
                p.get_method(),
                self._url,
                self._headers,
                b"".join(self._body),
                p.should_keep_alive(),
                p.get_http_version(),
            )
        )

    # -- public API ---------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the peer; complete messages become events."""
        if self._failed:
            return
        try:
            self._parser.feed_data(data)
        except _Limit as limit:  # its own name: mypyc gives one variable one type across except clauses
            self._fail(limit.status, limit.reason)
        except httptools.HttpParserUpgrade as exc:
            # the head is parsed (a Request event is queued); what follows is
            # the new protocol's, so this parser stops here
            offset = exc.args[0] if exc.args and isinstance(exc.args[0], int) else len(data)
            self._failed = True
            self._events.append(Upgrade(bytes(data[offset:])))
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            if isinstance(cause, _Limit):
                self._fail(cause.status, cause.reason)
            else:
                self._fail(400, f"malformed request: {exc}")

    def _fail(self, status: int, reason: str) -> None:
        self._failed = True
        self._events.append(ProtocolError(status, reason))

    def next_event(self) -> Event | None:
        """The next event, or None when more data is needed."""
        return self._events.popleft() if self._events else None

    @property
    def failed(self) -> bool:
        """True once a ProtocolError has been emitted; nothing more is parsed."""
        return self._failed


# -- pieces of a response head (the writer is in response.py) ----------------

_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}
_STATUS_LINES: dict[int, bytes] = {}
_date_cache: tuple[int, bytes] = (0, b"")


def status_line(status: int) -> bytes:
    """``HTTP/1.1 200 OK\\r\\n`` (cached)."""
    line = _STATUS_LINES.get(status)
    if line is None:
        line = b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Unknown"))
        _STATUS_LINES[status] = line
    return line


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def imf_fixdate(seconds: int) -> str:
    """``seconds`` since the epoch as an HTTP date (RFC 9110 IMF-fixdate, always GMT and English):
    what ``email.utils.formatdate(usegmt=True)`` gives, without importing the email package
    (email, calendar, datetime and more: start-up time)."""
    t = time.gmtime(seconds)
    return (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")


def date_header() -> bytes:
    """The ``date`` header line, formatted once per second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, b"date: " + imf_fixdate(now).encode() + b"\r\n")
    return _date_cache[1]


_BAD_NAME = re.compile(rb"[\x00-\x20:\x7f()<>@,;\\\"/\[\]?={}]").search
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]").search


def valid_header(name: bytes, value: bytes) -> bool:
    """Whether a response header may go on the wire (a token name, no CR/LF/NUL in the value)."""
    return bool(name) and _BAD_NAME(name) is None and _BAD_VALUE(value) is None
