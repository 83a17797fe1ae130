"""WebSocket connections: the handshake, and a session per connection (RFC 6455, RFC 7692).

Frames are parsed by the sans-I/O core of the ``websockets`` package (masking,
reserved bits, opcodes, control frames, ping/pong, the close handshake and
close codes, the message size limit, permessage-deflate). This module adds
what the guest's contract needs on top, before a message reaches the guest:

- a message is assembled from its fragments in linear time, and a message in
  more than :data:`MAX_FRAGMENTS` frames fails the connection with 1009 (each
  frame costs a parse even when empty: the cap bounds the work per message);
- a text message must be UTF-8, checked incrementally as fragments arrive (a
  code point split across two fragments is fine): invalid is 1007;
- ``limits.websocket_message`` bounds a message after inflating (1009), so a
  compression bomb is refused, not inflated.

The instance, event order, ``connections.max``, the idle timeout and flow
control are the shared session's (:mod:`wasm_server.net.session`). Events:
WS_OPEN, WS_MESSAGE, WS_CLOSE (docs/abi.md).
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import hashlib
from collections.abc import Sequence
from typing import Protocol as TypingProtocol

from websockets.exceptions import InvalidHeader, NegotiationError, PayloadTooBig
from websockets.exceptions import ProtocolError as WsProtocolError
from websockets.extensions import Extension
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.frames import Close, CloseCode, Frame, Opcode
from websockets.headers import build_extension, parse_extension
from websockets.protocol import Protocol, Side, State
from websockets.typing import ExtensionName, ExtensionParameter

from ..abi_codec import (
    KIND_WS_CLOSE,
    KIND_WS_MESSAGE,
    KIND_WS_OPEN,
    GuestRequest,
    encode_conn,
    encode_request,
    encode_ws_close,
    encode_ws_message,
)
from ..protocol.http1 import Headers
from ..protocol.response import Response, Upgraded, error, plain
from .connections import ConnectionRegistry
from .flow import StreamTransport
from .session import ConnectionSession, EventTarget, SessionLimits

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: the default of ``limits.websocket_message``
MAX_MESSAGE = 1024 * 1024
#: frames in one message; past it: close 1009, whatever the message's size in bytes
MAX_FRAGMENTS = 4096
#: how long a close handshake the host started may wait for the peer's close frame
CLOSE_TIMEOUT = 2.0
#: a close reason must fit a control frame (125 bytes) with its 2-byte code
MAX_REASON = 123


def _deflate_factory() -> ServerPerMessageDeflateFactory:
    # websockets' own server defaults: 4 KiB windows and memLevel 5 keep a
    # connection's zlib state near 64 KiB instead of ~300 KiB at the maximum,
    # which matters at connections.max = 1000
    return ServerPerMessageDeflateFactory(server_max_window_bits=12, client_max_window_bits=12,
                                          compress_settings={"memLevel": 5})


class TooManyFragments(PayloadTooBig):
    """A message in more than :data:`MAX_FRAGMENTS` frames (close 1009: too big to
    process, counted in frames rather than bytes)."""

    def __init__(self) -> None:
        super().__init__(None, MAX_FRAGMENTS)

    def __str__(self) -> str:
        return f"a message in more than {MAX_FRAGMENTS} frames"


class _Protocol(Protocol):
    """websockets' protocol, with the checks a message needs before it reaches a guest.

    They run as each frame is parsed, not on the parsed frames afterwards: a frame that
    fails them must stop the parse right there, or the protocol would already have
    answered the frames behind it in the same read (a close echoed, pings ponged).
    An exception raised here fails the connection through websockets' own mapping:
    ``UnicodeDecodeError`` → 1007, ``PayloadTooBig`` → 1009, ``ProtocolError`` → 1002.
    """

    def __init__(self, max_message: int) -> None:
        # max_size covers a whole message, after inflating (permessage-deflate stops
        # inflating at the limit, so a compression bomb costs no memory)
        super().__init__(Side.SERVER, state=State.OPEN, max_size=max_message)
        self._fragments = 0
        self._utf8: codecs.IncrementalDecoder | None = None

    def recv_frame(self, frame: Frame) -> None:
        op = frame.opcode
        if op is Opcode.CLOSE:
            # RFC 6455 §5.4 lets control frames come between fragments and §7 lets either
            # side close at any time (websockets would fail with 1002): the unfinished
            # message is dropped with the connection
            self.current_size = None
        elif op is Opcode.CONT and self.current_size is not None:
            self._check(frame)
        elif (op is Opcode.TEXT or op is Opcode.BINARY) and self.current_size is None:
            self._fragments = 0
            self._utf8 = codecs.getincrementaldecoder("utf-8")() if op is Opcode.TEXT else None
            self._check(frame)
        # anything else (CONT outside a message, a new message inside one) is the
        # protocol's own ProtocolError, raised by recv_frame
        super().recv_frame(frame)

    def _check(self, frame: Frame) -> None:
        self._fragments += 1
        if self._fragments > MAX_FRAGMENTS:
            raise TooManyFragments
        if self._utf8 is not None:
            # incremental: a code point split across fragments is fine, an invalid byte
            # fails at once rather than when the message ends
            self._utf8.decode(frame.data, frame.fin)


class Socket(StreamTransport, TypingProtocol):
    """The transport a WebSocket session writes to (the HTTP connection it took over)."""

    def write(self, data: bytes) -> None:
        """Queue bytes for the peer."""

    def close(self) -> None:
        """Close after writing what is queued."""


def handshake_error(headers: Headers) -> str | None:
    """Why a request is not a valid WebSocket upgrade (None if it is)."""
    h = {k: v for k, v in headers}
    if h.get(b"upgrade", b"").lower() != b"websocket":
        return "expected 'Upgrade: websocket'"
    if b"upgrade" not in h.get(b"connection", b"").lower():
        return "expected 'Connection: Upgrade'"
    if h.get(b"sec-websocket-version") != b"13":
        return "only WebSocket version 13 is supported"
    key = h.get(b"sec-websocket-key", b"")
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise ValueError
    except ValueError:
        return "invalid Sec-WebSocket-Key"
    return None


def negotiate(headers: Headers) -> tuple[bytes | None, list[Extension]]:
    """Answer the client's ``Sec-WebSocket-Extensions`` offers (RFC 7692: permessage-deflate
    is the one extension served): the response header value (None: no extension) and the
    extensions in use. An offer with unknown or invalid parameters is declined, as RFC 7692
    §5 requires; an unparsable header raises ``ValueError`` (the client gets 400)."""
    offers: list[tuple[ExtensionName, Sequence[ExtensionParameter]]] = []
    for header, value in headers:
        if header == b"sec-websocket-extensions":
            try:
                offers += parse_extension(value.decode("latin-1"))
            except InvalidHeader as exc:
                raise ValueError(f"invalid Sec-WebSocket-Extensions: {exc}") from None
    factory = _deflate_factory()
    accepted: list[Extension] = []
    answers: list[tuple[ExtensionName, Sequence[ExtensionParameter]]] = []
    for name, params in offers:
        if name != factory.name:
            continue
        try:
            answer, extension = factory.process_request_params(params, accepted)
        except NegotiationError:
            continue  # declined; the client may have offered a variant we accept next
        accepted.append(extension)
        answers.append((name, answer))
    return (build_extension(answers).encode() if answers else None), accepted


def accept_headers(headers: Headers, extensions: bytes | None = None) -> list[tuple[bytes, bytes]]:
    """The headers of the 101 Switching Protocols response to a valid upgrade request
    (the response writer adds ``connection: Upgrade``)."""
    key = dict(headers)[b"sec-websocket-key"]
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    out = [(b"upgrade", b"websocket"), (b"sec-websocket-accept", accept)]
    if extensions:
        out.append((b"sec-websocket-extensions", extensions))
    return out


def upgrade(target: EventTarget, registry: ConnectionRegistry, limits: SessionLimits, transport: Socket,
            request: GuestRequest, peer: str, *, max_message: int) -> Response | Upgraded:
    """Answer a WebSocket upgrade of ``request``: 400 for a bad handshake, 503 when the
    component has ``connections.max`` live connections, else 101 and the session (the
    edge writes the 101, then calls :meth:`WebSocketSession.start`)."""
    problem = handshake_error(request.headers)
    extensions: tuple[bytes | None, list[Extension]] = (None, [])
    if problem is None:
        try:
            extensions = negotiate(request.headers)
        except ValueError as exc:
            problem = str(exc)
    if problem is not None:
        return error(400, f"bad WebSocket handshake: {problem}", close=True)
    answer, accepted = extensions
    session = WebSocketSession(target, registry, limits, transport, request, peer, max_message=max_message,
                               extensions=accepted)
    if not session.admit():
        return at_limit(target.name, limits.max_connections)
    return Upgraded(accept_headers(request.headers, answer), session)


def at_limit(component: str, max_connections: int) -> Response:
    """503 to a handshake when ``component`` has ``connections.max`` live connections."""
    return plain(503, f"component '{component}' has {max_connections} connections, its limit; "
                      "try again later\n", (b"retry-after", b"1"), close=True)


class WebSocketSession(ConnectionSession):
    """One WebSocket connection and its guest instance."""

    end_kind = KIND_WS_CLOSE

    def __init__(self, target: EventTarget, registry: ConnectionRegistry, limits: SessionLimits,
                 transport: Socket, request: GuestRequest, peer: str, *, max_message: int = MAX_MESSAGE,
                 extensions: Sequence[Extension] = ()) -> None:
        super().__init__(target, registry, limits)
        self.transport = transport
        self.request = request
        self.peer = peer
        self.proto = _Protocol(max_message)
        self.proto.extensions = list(extensions)
        # the message being assembled
        self._parts: list[bytes] = []
        self._binary = False
        self._linger: asyncio.TimerHandle | None = None

    # -- what the HTTP edge calls --------------------------------------------------

    def start(self, first_bytes: bytes) -> None:
        """The 101 is written: announce WS_OPEN and process bytes that came with the upgrade."""
        if self.transport.is_closing():  # the client left during the upgrade
            self.end(KIND_WS_CLOSE, encode_ws_close(self.conn_id, CloseCode.ABNORMAL_CLOSURE, b""))
            return
        self.attach(self.transport)
        self.push(KIND_WS_OPEN, encode_conn(self.conn_id) + encode_request(self.request))
        if first_bytes:
            self.data_received(first_bytes)

    def data_received(self, data: bytes) -> None:
        """Bytes from the peer: frames become events; pings and closes are answered here."""
        self.touch()
        self.proto.receive_data(data)
        for event in self.proto.events_received():
            if isinstance(event, Frame):
                self._frame(event)
        self._flush()

    def connection_lost(self, exc: Exception | None = None) -> None:
        """The TCP connection is gone (the guest gets 1006 if no close frame came)."""
        if self._linger is not None:
            self._linger.cancel()
        self.end(KIND_WS_CLOSE, encode_ws_close(self.conn_id, CloseCode.ABNORMAL_CLOSURE, b""))

    # -- frames -------------------------------------------------------------------------

    def _frame(self, frame: Frame) -> None:
        op = frame.opcode
        if op is Opcode.TEXT or op is Opcode.BINARY:
            # the protocol already refused a new message inside an unfinished one (1002)
            self._parts = [bytes(frame.data)]
            self._binary = op is Opcode.BINARY
        elif op is Opcode.CONT:
            self._parts.append(bytes(frame.data))  # linear: no re-counting per fragment
        elif op is Opcode.CLOSE:
            close = Close.parse(frame.data)  # checked by the protocol already; empty → 1005
            self.end(KIND_WS_CLOSE, encode_ws_close(self.conn_id, close.code, close.reason.encode()))
            return
        else:
            return  # PING is answered by the protocol, PONG needs nothing
        if frame.fin:
            parts, self._parts = self._parts, []
            data = parts[0] if len(parts) == 1 else b"".join(parts)
            self.push(KIND_WS_MESSAGE, encode_ws_message(self.conn_id, self._binary, data))

    def _flush(self) -> None:
        for chunk in self.proto.data_to_send():
            if self.transport.is_closing():
                return
            if chunk:
                self.transport.write(chunk)
            else:  # websockets' signal that the TCP connection should end now
                self.transport.close()
                code, reason = self._close_status()
                self.end(KIND_WS_CLOSE, encode_ws_close(self.conn_id, code, reason))

    def _close_status(self) -> tuple[int, bytes]:
        """The code the connection closed with: the peer's, else ours, else 1006."""
        close = self.proto.close_rcvd or self.proto.close_sent
        if close is None:
            return CloseCode.ABNORMAL_CLOSURE, b""
        return close.code, close.reason.encode()

    # -- the session's hooks -----------------------------------------------------------

    def event_done(self, kind: int, ret: int) -> None:
        if ret < 0:
            self.close(CloseCode.POLICY_VIOLATION if kind == KIND_WS_OPEN else CloseCode.INTERNAL_ERROR,
                       b"closed by the service")

    def on_idle(self) -> None:
        self.close(CloseCode.GOING_AWAY, b"idle timeout")

    # -- what host imports call ------------------------------------------------

    def send(self, data: bytes, *, binary: bool = True) -> bool:
        """Send one message; False if the connection is closing (or text is not UTF-8)."""
        if self.ended or self.proto.state is not State.OPEN:
            return False
        if binary:
            self.proto.send_binary(data)
        else:
            try:
                data.decode()
            except UnicodeDecodeError:
                return False
            self.proto.send_text(data)
        self.touch()
        self._flush()
        return True

    def close(self, code: int = 1000, reason: bytes = b"") -> None:
        """Start the close handshake (or drop the connection if it is already closing)."""
        if self.proto.state is State.OPEN:
            text = reason[:MAX_REASON].decode("utf-8", "ignore")
            try:
                self.proto.send_close(code, text)
            except WsProtocolError:  # a code one may not send (1005, 1006, 999 …)
                self.proto.send_close(CloseCode.INTERNAL_ERROR, "")
            self._flush()
        self.end(KIND_WS_CLOSE, encode_ws_close(self.conn_id, code, reason))
        if self._linger is None and not self.transport.is_closing():
            # the peer did not answer the close frame in time
            self._linger = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, self.transport.close)
