"""WebSocket connections: the handshake, and a session per connection.

Frames are parsed by the sans-I/O core of the ``websockets`` package
(masking, ping/pong, close handshake, size limits); this module assembles
fragmented messages and delivers WS_OPEN / WS_MESSAGE / WS_CLOSE events to a
guest instance that lives as long as the connection (docs/abi.md).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging

from websockets.exceptions import ProtocolError as WsProtocolError
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import Protocol, Side, State

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
from ..engine import GuestInstance
from ..executors import NativeExecutor
from ..protocol.http1 import Headers
from .connections import ConnectionRegistry, EventPump

log = logging.getLogger("wasm_server")

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_MESSAGE = 1024 * 1024
HIGH_WATER = 256 * 1024


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


def accept_headers(headers: Headers) -> list[tuple[bytes, bytes]]:
    """The headers of the 101 Switching Protocols response to a valid upgrade request."""
    key = dict(headers)[b"sec-websocket-key"]
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    return [(b"upgrade", b"websocket"), (b"sec-websocket-accept", accept)]


class WebSocketSession:
    """One WebSocket connection and its guest instance."""

    def __init__(self, executor: NativeExecutor, registry: ConnectionRegistry, transport: asyncio.Transport,
                 request: GuestRequest, peer: str, max_message: int = MAX_MESSAGE) -> None:
        self.executor = executor
        self.component = executor.name
        self.registry = registry
        self.transport = transport
        self.request = request
        self.peer = peer
        self.conn_id = registry.next_id()
        self.proto = Protocol(Side.SERVER, state=State.OPEN, max_size=max_message)
        self.instance: GuestInstance | None = None
        self.fragments: list[bytes] = []
        self.fragment_binary = False
        self.closed = False
        self.close_delivered = False
        self.pump = EventPump(self._deliver, self._failed)

    def start(self, first_bytes: bytes) -> None:
        """Register, announce WS_OPEN to the guest, and process bytes that came with the upgrade."""
        self.registry.add(self)
        self.pump.push(KIND_WS_OPEN, encode_conn(self.conn_id) + encode_request(self.request))
        if first_bytes:
            self.data_received(first_bytes)

    def data_received(self, data: bytes) -> None:
        """Bytes from the peer: frames become events; pings and closes are answered here."""
        self.proto.receive_data(data)
        for frame in self.proto.events_received():
            if not isinstance(frame, Frame):
                continue
            op = frame.opcode
            if op in (Opcode.TEXT, Opcode.BINARY):
                self.fragments = [bytes(frame.data)]
                self.fragment_binary = op == Opcode.BINARY
                if frame.fin:
                    self._message()
            elif op == Opcode.CONT:
                self.fragments.append(bytes(frame.data))
                if sum(len(f) for f in self.fragments) > (self.proto.max_message_size or MAX_MESSAGE):
                    self.close(1009, b"message too big")
                elif frame.fin:
                    self._message()
            elif op == Opcode.CLOSE:
                close = Close.parse(frame.data) if frame.data else Close(1005, "")
                self._close_event(close.code, close.reason.encode())
        self._flush()
        if self.proto.state is State.CLOSED or isinstance(self.proto.parser_exc, WsProtocolError):
            self.transport.close()

    def _message(self) -> None:
        data = b"".join(self.fragments)
        self.fragments = []
        if not self.pump.push(KIND_WS_MESSAGE, encode_ws_message(self.conn_id, self.fragment_binary, data)):
            self.transport.pause_reading()

    def _close_event(self, code: int, reason: bytes) -> None:
        if not self.close_delivered:
            self.close_delivered = True
            self.registry.remove(self.conn_id)
            self.pump.push(KIND_WS_CLOSE, encode_ws_close(self.conn_id, code, reason))

    def connection_lost(self) -> None:
        """The TCP connection is gone (1006 if no close frame came)."""
        self.closed = True
        self._close_event(1006, b"")

    def _flush(self) -> None:
        for chunk in self.proto.data_to_send():
            if self.transport.is_closing():
                return
            if chunk:
                self.transport.write(chunk)
            else:  # websockets' signal that the TCP connection should end now
                self.transport.close()
                self._close_event(self.proto.close_code or 1006, (self.proto.close_reason or "").encode())

    async def _deliver(self, kind: int, payload: bytes) -> int:
        if self.instance is None:
            if kind == KIND_WS_CLOSE:
                return 0
            self.instance = await self.executor.new_instance()
        ret = await self.executor.deliver(self.instance, kind, payload)
        if kind == KIND_WS_CLOSE:
            self.instance.release()
            self.instance = None
        elif ret < 0:
            self.close(1008 if kind == KIND_WS_OPEN else 1011, b"closed by the service")
        if len(self.pump.queue) < self.pump.max_queue // 2 and not self.transport.is_closing():
            self.transport.resume_reading()
        return ret

    def _drop_instance(self) -> None:
        if self.instance is not None:
            self.instance.release()
        self.instance = None

    def _failed(self, exc: Exception) -> None:
        log.error("%s: WebSocket %s closed: the guest failed: %s", self.component, self.peer, exc)
        self._drop_instance()
        self.close(1011, b"internal error")

    # -- what host imports call ------------------------------------------------

    def send(self, data: bytes, *, binary: bool = True) -> bool:
        """Send one message; False if the connection is closing."""
        if self.closed or self.proto.state is not State.OPEN:
            return False
        if binary:
            self.proto.send_binary(data)
        else:
            try:
                text = data.decode()
            except UnicodeDecodeError:
                return False
            self.proto.send_text(text.encode())
        self._flush()
        return True

    def close(self, code: int = 1000, reason: bytes = b"") -> None:
        """Start the close handshake (or drop the connection if it is already closing)."""
        if self.proto.state is State.OPEN:
            try:
                self.proto.send_close(code, reason.decode("utf-8", "replace"))
            except WsProtocolError:
                self.proto.send_close(1011, "")
            self._flush()
        self._close_event(code, reason)
        if not self.transport.is_closing():
            asyncio.get_running_loop().call_later(2.0, self.transport.close)  # peer did not answer the close
