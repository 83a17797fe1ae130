"""ASGI ``http`` scopes: one request in, through the app's seam, one response out.

The scope and the body from ``receive`` become the seam's
:class:`~wasm_server.protocol.http1.Request`; the app answers it with
``respond(request, client, sink)`` exactly as it answers the HTTP edge; the
:class:`~wasm_server.protocol.response.Response` goes back as
``http.response.start`` + ``http.response.body``. A guest that streams writes through
:class:`AsgiSink`, whose every write is one ``http.response.body`` with
``more_body=True``, awaited (the ASGI server's flow control is the backpressure).

The framing is the ASGI server's (it chunks a streamed body, handles keep-alive and
``Expect: 100-continue``); what the edge's writer decides about headers and lengths is
decided the same way here: framing headers of the guest are dropped
(:func:`~wasm_server.protocol.response.header_allowed`), a complete response carries its
``content-length``, and HEAD gets the length GET would get and no body.
"""

from __future__ import annotations

import asyncio
import logging

from ..hosted import HostedApp
from ..protocol.http1 import Headers
from ..protocol.response import Response, head_length, header_allowed
from .scope import Connection, Message, Receive, Send, data

log = logging.getLogger("wasm_server")

_NO_BODY = frozenset((204, 304))


def response_headers(headers: Headers, length: int | None = None) -> list[tuple[bytes, bytes]]:
    """A response's headers as they go to the ASGI server, with ``length`` as content-length."""
    out = [pair for pair in headers if header_allowed(pair)]
    if length is not None:
        out.append((b"content-length", b"%d" % length))
    return out


async def send_response(send: Send, resp: Response, *, head_only: bool = False) -> None:
    """A complete response as ``http.response.start`` and one ``http.response.body``."""
    status = resp.status
    no_body = 100 <= status < 200 or status in _NO_BODY
    length = head_length(resp) if head_only else None if no_body else len(resp.body)
    await send({"type": "http.response.start", "status": status, "headers": response_headers(resp.headers, length)})
    await send({"type": "http.response.body", "body": b"" if head_only or no_body else resp.body,
                "more_body": False})


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body from ``http.request`` messages, up to ``limit`` bytes; None when it is
    over the limit; raises :class:`Disconnected` when the client left first."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        kind = message.get("type")
        if kind == "http.disconnect":
            raise Disconnected
        if kind != "http.request":
            continue
        chunk = data(message, "body")
        size += len(chunk)
        if size > limit:
            return None
        if chunk:
            parts.append(chunk)
        if not message.get("more_body", False):
            return parts[0] if len(parts) == 1 else b"".join(parts)


class Disconnected(Exception):
    """The client went away before its request was read."""


class AsgiSink:
    """The :class:`~wasm_server.protocol.response.ResponseSink` of one ASGI request.

    :meth:`start` is synchronous on the seam (the edge writes the head at once) while an ASGI
    ``send`` is a coroutine: the head is sent by a task started in :meth:`start`, and every
    :meth:`write` waits for it first, so the client sees the head as soon as the guest sends it
    and messages stay in order. Once streaming, a task watches ``receive`` for
    ``http.disconnect``, so a guest streaming forever (an SSE clock) learns the client left:
    its next write returns False.
    """

    def __init__(self, send: Send, receive: Receive, *, head_only: bool = False) -> None:
        self._send = send
        self._receive = receive
        self._head_only = head_only
        self.started = False
        #: the client went away (or the server refused a message)
        self.gone = False
        self._head: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None

    def start(self, status: int, headers: Headers) -> bool:
        """Send the head of a streamed response; False if it was already sent or the client left."""
        if self.started or self.gone:
            return False
        self.started = True
        start: Message = {"type": "http.response.start", "status": status, "headers": response_headers(headers)}
        self._head = asyncio.ensure_future(self._deliver(start))
        self._watch = asyncio.ensure_future(self._watch_disconnect())
        return True

    async def write(self, data: bytes) -> bool:
        """Send one piece of the body (waits while the client is slow); False once it has gone."""
        if self._head is not None:
            await self._head
        if self.gone:
            return False
        if data and not self._head_only:
            await self._deliver({"type": "http.response.body", "body": data, "more_body": True})
        return not self.gone

    async def finish(self) -> None:
        """End the streamed body (the last ``http.response.body``) and stop watching."""
        if self._head is not None:
            await self._head
        if not self.gone:
            await self._deliver({"type": "http.response.body", "body": b"", "more_body": False})
        self.stop()

    def stop(self) -> None:
        """Stop watching for the disconnect (the response is over)."""
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    async def _deliver(self, message: Message) -> None:
        if self.gone:
            return
        try:
            await self._send(message)
        except OSError:  # uvicorn's ClientDisconnected (ASGI 2.4: send to a closed connection)
            self.gone = True

    async def _watch_disconnect(self) -> None:
        while not self.gone:
            message = await self._receive()
            if message.get("type") == "http.disconnect":
                self.gone = True


async def serve_http(host: HostedApp, conn: Connection, receive: Receive, send: Send) -> None:
    """Answer one ASGI ``http`` scope with the hosted app."""
    head_only = conn.method == b"HEAD"
    refused = host.too_large(conn.declared_length())
    if refused is not None:
        await send_response(send, refused, head_only=head_only)
        return
    body: bytes | None = b""
    if not conn.without_body():
        try:
            body = await read_body(receive, host.max_body)
        except Disconnected:
            return
    if body is None:
        await send_response(send, host.over_limit(), head_only=head_only)
        return
    sink = AsgiSink(send, receive, head_only=head_only)
    try:
        resp = await host.respond(conn.request(body), conn.client, sink)
    finally:
        sink.stop()
    if not sink.started:
        await send_response(send, resp, head_only=head_only)
    elif resp.streamed:
        await sink.finish()
    else:
        # the head went out, then the responder failed: as on the edge, only an unfinished body
        # can say so (returning without the last body message makes the server drop the connection)
        log.error("%s: the response failed after its head was sent", conn.target[:200].decode("latin-1"))
