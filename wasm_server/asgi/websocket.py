"""ASGI ``websocket`` scopes onto the project's WebSocket session.

The ASGI server owns the wire (handshake, frames, masking, ping/pong, the close
handshake); what a guest sees is the same as behind ``wasm-server up``, because
the rest is the shared session of :mod:`wasm_server.net.session`: one instance
per connection, WS_OPEN / WS_MESSAGE / WS_CLOSE in order, ``connections.max``
counted with the component's other connections, the idle timeout, flow control.
The route, the component and the request its guest sees come from
``App.websocket_route``, as for the edge. This module adds what differs, as a
transport module does (net/websocket.py for the edge):

- accept: ``websocket.accept`` is queued before WS_OPEN, so a guest's first
  message follows it; a handshake that is not for a WebSocket route gets the HTTP
  answer ``up`` gives (through the ``websocket.http.response`` extension where the
  server has it, else a close before accept, which the server answers 403);
- events: ``websocket.receive`` → WS_MESSAGE (a message over
  ``limits.websocket_message`` closes with 1009), ``websocket.disconnect`` → WS_CLOSE
  with the peer's code;
- sending: ``send``/``close`` from host imports are synchronous, ASGI's ``send`` is a
  coroutine: messages queue in :class:`AsgiChannel`, one task sends them in order, and
  the queued bytes drive flow control as a transport's write buffer does.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING

from websockets.exceptions import ProtocolError as WsProtocolError
from websockets.frames import Close, CloseCode

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
from ..hosted import CollectingSink, HostedApp
from ..net.connections import ConnectionRegistry
from ..net.session import HIGH_WATER, ConnectionSession, EventTarget, SessionLimits
from ..net.websocket import MAX_REASON, at_limit
from ..protocol.response import Response
from .http import response_headers
from .scope import Connection, Message, Receive, Send, data, extensions

if TYPE_CHECKING:
    from ..app import WebSocketRoute

log = logging.getLogger("wasm_server")

#: how long the app waits for the server to confirm a close it sent before it returns
CLOSE_TIMEOUT = 2.0


class AsgiChannel:
    """ASGI ``send`` seen as a stream transport (:class:`~wasm_server.net.flow.StreamTransport`).

    Messages are queued and sent in order by one task; while the queued bytes are over the
    high water mark, the session is told the peer is behind (``pause_writing``), as asyncio
    tells a protocol whose transport's buffer is full. Reading pauses by not calling
    ``receive`` (:attr:`readable`): the ASGI server then stops reading the socket.
    """

    def __init__(self, send: Send) -> None:
        self._send = send
        self._out: deque[tuple[Message, int]] = deque()
        self._queued = 0
        self._task: asyncio.Task[None] | None = None
        self._high = HIGH_WATER
        self._low = HIGH_WATER // 4
        self._writing_paused = False
        self.session: AsgiWebSocketSession | None = None
        #: set while reading may go on
        self.readable = asyncio.Event()
        self.readable.set()
        #: a close was queued or the peer left: nothing more is sent
        self.closing = False
        #: the close message went out, or the peer left
        self.done = asyncio.Event()

    # -- StreamTransport ------------------------------------------------------------

    def pause_reading(self) -> None:
        """Stop taking messages from ``receive``."""
        self.readable.clear()

    def resume_reading(self) -> None:
        """Take messages again."""
        self.readable.set()

    def is_closing(self) -> bool:
        """Whether a close was queued or the peer left."""
        return self.closing

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Where the session is told the peer is behind / caught up (asyncio's defaults for low)."""
        self._high = HIGH_WATER if high is None else high
        self._low = self._high // 4 if low is None else low

    # -- sending -------------------------------------------------------------------------

    def write(self, message: Message, size: int = 0) -> None:
        """Queue ``message`` (``size``: its payload bytes, for flow control)."""
        self._out.append((message, size))
        self._queued += size
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._drain())
        if self._queued > self._high and not self._writing_paused and self.session is not None:
            self._writing_paused = True
            self.session.pause_writing()

    async def _drain(self) -> None:
        while self._out:
            message, size = self._out.popleft()
            try:
                await self._send(message)
            except Exception as exc:  # the server refuses once the peer has gone (ASGI 2.4: OSError)
                log.debug("websocket send failed: %s", exc)
                self._out.clear()
                self.closing = True
                self.done.set()
                return
            self._queued -= size
            if message.get("type") == "websocket.close":
                self.done.set()
            if self._writing_paused and self._queued <= self._low and self.session is not None:
                self._writing_paused = False
                self.session.resume_writing()

    async def flushed(self) -> None:
        """Wait until what is queued has been handed to the server."""
        if self._task is not None:
            await asyncio.shield(self._task)

    def cancel(self) -> None:
        """Drop what is still queued (the connection is over)."""
        self._out.clear()
        if self._task is not None:
            self._task.cancel()


class AsgiWebSocketSession(ConnectionSession):
    """One WebSocket of an ASGI server and its guest instance."""

    end_kind = KIND_WS_CLOSE

    def __init__(self, target: EventTarget, registry: ConnectionRegistry, limits: SessionLimits,
                 channel: AsgiChannel, request: GuestRequest, peer: str, *, max_message: int) -> None:
        super().__init__(target, registry, limits)
        self.channel = channel
        channel.session = self
        self.request = request
        self.peer = peer
        self.max_message = max_message

    async def run(self, receive: Receive) -> None:
        """Accept, then turn the server's messages into events until the connection ends."""
        channel = self.channel
        channel.write({"type": "websocket.accept"})
        self.attach(channel)
        self.push(KIND_WS_OPEN, encode_conn(self.conn_id) + encode_request(self.request))
        try:
            while not channel.closing:
                if not channel.readable.is_set():
                    await channel.readable.wait()
                message = await self._next(receive)
                if message is None:
                    break
                self._message(message)
            if not channel.done.is_set():  # we closed: give the server a moment to send it
                await asyncio.wait_for(channel.done.wait(), CLOSE_TIMEOUT)
            await channel.flushed()
        except TimeoutError:
            pass  # the server did not confirm the close: returning ends the connection anyway
        finally:
            channel.cancel()
            self.end(KIND_WS_CLOSE, encode_ws_close(self.conn_id, CloseCode.ABNORMAL_CLOSURE, b""))

    async def _next(self, receive: Receive) -> Message | None:
        """The next message from the server; None once the session closed itself meanwhile."""
        reading = asyncio.ensure_future(receive())
        closed = asyncio.ensure_future(self.channel.done.wait())
        try:
            await asyncio.wait((reading, closed), return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
        if reading.done():
            return reading.result()
        reading.cancel()
        return None

    def _message(self, message: Message) -> None:
        kind = message.get("type")
        if kind == "websocket.receive":
            text = message.get("text")
            binary = not isinstance(text, str)
            payload = data(message, "bytes") if binary else str(text).encode()
            self.touch()
            if len(payload) > self.max_message:
                self.close(CloseCode.MESSAGE_TOO_BIG, f"message over {self.max_message} bytes".encode())
                return
            self.push(KIND_WS_MESSAGE, encode_ws_message(self.conn_id, binary, payload))
        elif kind == "websocket.disconnect":
            code = message.get("code", CloseCode.NO_STATUS_RCVD)
            reason = message.get("reason") or ""
            self.channel.closing = True
            self.channel.done.set()
            self.end(KIND_WS_CLOSE, encode_ws_close(self.conn_id, code if isinstance(code, int) else 1005,
                                                    str(reason).encode()))

    # -- the session's hooks (as WebSocketSession's) --------------------------------------

    def event_done(self, kind: int, ret: int) -> None:
        if ret < 0:
            self.close(CloseCode.POLICY_VIOLATION if kind == KIND_WS_OPEN else CloseCode.INTERNAL_ERROR,
                       b"closed by the service")

    def on_idle(self) -> None:
        self.close(CloseCode.GOING_AWAY, b"idle timeout")

    # -- what host imports call ------------------------------------------------------------

    def send(self, data: bytes, *, binary: bool = True) -> bool:
        """Queue one message; False once the connection is closing (or text is not UTF-8)."""
        if self.ended or self.channel.closing:
            return False
        if binary:
            self.channel.write({"type": "websocket.send", "bytes": data}, len(data))
        else:
            try:
                text = data.decode()
            except UnicodeDecodeError:
                return False
            self.channel.write({"type": "websocket.send", "text": text}, len(data))
        self.touch()
        return True

    def close(self, code: int = 1000, reason: bytes = b"") -> None:
        """Queue the close (a code one may not send becomes 1011), then end the session."""
        if not self.channel.closing:
            text = reason[:MAX_REASON].decode("utf-8", "ignore")
            try:
                Close(code, text).check()
            except WsProtocolError:  # 1005, 1006, 999 … are not sent on the wire
                code, text = CloseCode.INTERNAL_ERROR, ""
            self.channel.write({"type": "websocket.close", "code": code, "reason": text})
            self.channel.closing = True
        self.end(KIND_WS_CLOSE, encode_ws_close(self.conn_id, code, reason))


async def refuse(send: Send, resp: Response, offered: frozenset[str]) -> None:
    """Answer a handshake with an HTTP response where the server can send one, else close
    before accepting (the server answers 403)."""
    if "websocket.http.response" in offered:
        await send({"type": "websocket.http.response.start", "status": resp.status,
                    "headers": response_headers(resp.headers, len(resp.body))})
        await send({"type": "websocket.http.response.body", "body": resp.body, "more_body": False})
    else:
        await send({"type": "websocket.close", "code": CloseCode.POLICY_VIOLATION})


async def serve_websocket(host: HostedApp, conn: Connection, offered: frozenset[str],
                          receive: Receive, send: Send) -> None:
    """Serve one ASGI ``websocket`` scope with the hosted app."""
    first = await receive()
    if first.get("type") != "websocket.connect":
        return
    app = host.app
    request = conn.request(b"")
    match = app.router.match_request(request.method, request.target, request.headers)
    route = app.websocket_route(request, match, conn.client)
    if route is None:  # not a WebSocket route: the HTTP answer `up` gives such a handshake
        sink = CollectingSink()
        resp = sink.response(await host.answer(request, match, conn.client, sink))
        await refuse(send, resp, offered)
        return
    if isinstance(route, Response):
        await refuse(send, route, offered)
        return
    session = _session(host, route, send, conn.client)
    if not session.admit():
        await refuse(send, at_limit(route.executor.name, route.component.max_connections), offered)
        return
    host.sessions.add(session)
    try:
        await session.run(receive)
    finally:
        host.sessions.discard(session)


def _session(host: HostedApp, route: WebSocketRoute, send: Send, client: str) -> AsgiWebSocketSession:
    comp = route.component
    limits = SessionLimits(comp.max_connections, comp.idle_timeout)
    return AsgiWebSocketSession(route.executor, host.app.connections, limits, AsgiChannel(send), route.request,
                                client, max_message=comp.websocket_message)


__all__ = ["AsgiChannel", "AsgiWebSocketSession", "extensions", "serve_websocket"]
