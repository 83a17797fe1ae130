"""The asyncio HTTP/1.1 edge: sockets in, requests to an :class:`HttpService`, its
:class:`~wasm_server.protocol.response.Response` values out as bytes.

Thin by design (as in uvicorn): bytes go to the sans-I/O
:class:`~wasm_server.protocol.http1.H1Connection`, responses leave through the
sans-I/O :class:`~wasm_server.protocol.response.ResponseWriter` (the only place
that decides HEAD, keep-alive and framing), requests are answered in order per
connection (pipelining), and reading pauses while too many pipelined requests
are queued (backpressure).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque
from time import perf_counter
from typing import TYPE_CHECKING, Protocol, cast

from ..protocol.http1 import CONTINUE, ContinueNeeded, H1Connection, Headers, ProtocolError, Request, Upgrade
from ..protocol.response import Response, ResponseSink, ResponseWriter, Session, Upgraded, encode, error, plain
from .access_log import AccessLog
from .eager import run_eager
from .upgrades import NoUpgrades as NoUpgrades  # where the services that subclass it import it from

if TYPE_CHECKING:
    from ssl import SSLContext

log = logging.getLogger("wasm_server")


class HttpService(Protocol):
    """What an :class:`HttpServer` serves: an app, the deployments, the admin API …"""

    async def respond(self, request: Request, client: str, sink: ResponseSink) -> Response:
        """Answer one request; a streamed body goes through ``sink``."""

    async def upgrade(self, request: Request, client: str, transport: asyncio.Transport) -> Response | Upgraded:
        """A request that asked to switch protocols: a session, or a response (then the connection closes)."""


MAX_PIPELINE = 32
OVER_CAPACITY = encode(plain(503, "too many connections, try again later\n", (b"retry-after", b"1")))
IDLE_TIMEOUT = 60.0
REQUEST_TIMEOUT = 30.0
SWEEP_SECONDS = 5.0


class ConnectionLimits:
    """Size and time limits applied to every connection."""

    def __init__(self, max_body: int = 10 * 1024 * 1024, max_header_bytes: int = 16 * 1024,
                 request_timeout: float = REQUEST_TIMEOUT, max_connections: int = 10000) -> None:
        self.max_body = max_body
        #: open connections; past it a new connection gets 503 and is closed (a flood cannot
        #: exhaust memory or file descriptors)
        self.max_connections = max_connections
        self.max_header_bytes = max_header_bytes
        #: a request (head and body) must arrive within this many seconds of its first byte
        self.request_timeout = request_timeout


class HttpProtocol(asyncio.Protocol):
    """One client connection; also the :class:`~wasm_server.protocol.response.ResponseSink`
    of the response being produced (a guest streams its body through it)."""

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.conn = H1Connection(server.limits.max_body, server.limits.max_header_bytes)
        self.writer = ResponseWriter()
        self.queue: deque[Request | ContinueNeeded | ProtocolError] = deque()
        self.transport: asyncio.Transport | None = None
        self.worker: asyncio.Task[None] | None = None
        self.client = ""
        self.paused = False
        self.closing = False
        self.last_active = server.loop.time()
        #: when the request being received started (slow-client defence)
        self.message_started = 0.0
        #: a WebSocket (or other upgraded protocol) that took the connection over
        self.session: Session | None = None
        self.upgrade_rest: bytes | None = None
        self.writable = asyncio.Event()
        self.writable.set()
        #: responses waiting for the end of this loop iteration (see HttpServer.defer)
        self.out: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses
        self.transport = cast(asyncio.Transport, transport)
        if len(self.server.connections) >= self.server.limits.max_connections:
            self.server.refused += 1
            if self.server.refused == 1 or self.server.refused % 1000 == 0:
                log.warning("connection limit (%d) reached: refused %d connection(s) so far",
                            self.server.limits.max_connections, self.server.refused)
            self.transport.write(OVER_CAPACITY)
            self.transport.close()
            return
        peer = transport.get_extra_info("peername")
        if peer:
            host, port = peer[0], peer[1]
            self.client = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.closing = True
        self.writable.set()  # wake a stream waiting to write: it will see the close
        if self.session is not None:
            self.session.connection_lost()
        if self.worker is not None and not self.worker.done():
            self.worker.cancel()

    def busy(self) -> bool:
        """True while a request of this connection is being served."""
        return self.worker is not None and not self.worker.done()

    def pause_writing(self) -> None:
        self.writable.clear()
        if self.session is not None:
            self.session.pause_writing()  # the WebSocket's flow control stops reading

    def resume_writing(self) -> None:
        self.writable.set()
        if self.session is not None:
            self.session.resume_writing()

    def data_received(self, data: bytes) -> None:
        self.last_active = self.server.loop.time()
        if self.session is not None:
            try:
                self.session.data_received(data)
            except Exception:  # a session bug ends that connection, never the server
                log.exception("%s: upgraded connection failed", self.client)
                if self.transport is not None:
                    self.transport.abort()
            return
        conn = self.conn
        if not conn.in_message:
            self.message_started = self.last_active
        conn.receive_data(data)
        while (event := conn.next_event()) is not None:
            if isinstance(event, Request):
                self.queue.append(event)
            elif isinstance(event, ContinueNeeded):
                if not self.queue and (self.worker is None or self.worker.done()):
                    assert self.transport is not None
                    self.flush()
                    self.transport.write(CONTINUE)
                else:
                    self.queue.append(event)
            elif isinstance(event, ProtocolError):
                self.queue.append(event)
                break
            elif isinstance(event, Upgrade):
                self.upgrade_rest = event.rest
                if self.transport is not None:
                    self.transport.pause_reading()  # nothing more until the upgrade is decided
                break
        if self.queue and (self.worker is None or self.worker.done()):
            self.worker = run_eager(self.server.loop, self._work())
        if len(self.queue) > MAX_PIPELINE and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    async def _work(self) -> None:
        transport = self.transport
        assert transport is not None
        server = self.server
        queue = self.queue
        writer = self.writer
        while queue and not self.closing:
            item = queue.popleft()
            if isinstance(item, ProtocolError):
                log.info("%s: %d %s", self.client, item.status, item.reason)
                self.flush()
                transport.write(encode(error(item.status, item.reason)))
                transport.close()
                return
            if isinstance(item, ContinueNeeded):
                self.flush()
                transport.write(CONTINUE)
                continue
            if self.upgrade_rest is not None and not queue:
                await self._upgrade(item)
                return
            server.in_flight += 1
            access_log = server.access_log
            # perf_counter, not loop.time(): uvloop's clock moves in whole milliseconds
            started = perf_counter() if access_log is not None else 0.0
            writer.begin(item, not server.draining)
            try:
                resp = await server.service.respond(item, self.client, self)
            except Exception:
                log.exception("internal error while serving %s", item.target[:200])
                resp = error(500, "internal server error", close=True)
            finally:
                server.in_flight -= 1
            if not writer.started:
                self.send(writer.complete(resp))
            elif resp.streamed:
                self.send(writer.end())
            else:
                # the head went out, then the responder failed: only an unfinished body can say so
                writer.keep_alive = False
            if access_log is not None:
                access_log.request(self.client, item, resp, writer.sent, perf_counter() - started)
            if not writer.keep_alive:
                self.flush()
                transport.close()
                return
            if self.paused and len(queue) <= MAX_PIPELINE // 2:
                self.paused = False
                transport.resume_reading()
        self.last_active = server.loop.time()

    def send(self, data: bytes) -> None:
        """Queue a response for the end of this loop iteration: the responses of every
        connection served in one iteration then go out back to back, and a client
        waiting on many connections is woken once for them, not once per response
        (on loopback the waking is the costliest part of a small response)."""
        if not self.out:
            self.server.defer(self)
        self.out.append(data)

    def flush(self) -> None:
        """Write queued responses now (before anything else is written or the connection closes)."""
        out = self.out
        if out:
            data = out[0] if len(out) == 1 else b"".join(out)
            out.clear()
            if self.transport is not None and not self.transport.is_closing():
                self.transport.write(data)

    async def _upgrade(self, request: Request) -> None:
        """The last request asked to switch protocols: hand the connection over, or answer and close.
        Whatever fails on the way, the client gets an HTTP answer."""
        transport = self.transport
        assert transport is not None and self.upgrade_rest is not None
        rest, self.upgrade_rest = self.upgrade_rest, None
        self.writer.begin(request, keep_alive=False)
        try:
            result = await self.server.service.upgrade(request, self.client, transport)
        except Exception:
            log.exception("%s: protocol upgrade of %s failed", self.client, request.target[:200])
            result = error(500, "the protocol upgrade failed (see the server log)", close=True)
        self.flush()
        if isinstance(result, Response):
            transport.write(self.writer.complete(result))
            transport.close()  # the bytes after the head were not HTTP: nothing more to parse
            return
        transport.write(self.writer.switching(result.headers))
        self.session = result.session
        transport.resume_reading()
        try:
            result.session.start(rest)
        except Exception:
            log.exception("%s: the upgraded session failed to start", self.client)
            transport.abort()

    # -- ResponseSink: what a streaming guest writes through ---------------------

    @property
    def started(self) -> bool:
        """Whether the head of the current response has been sent."""
        return self.writer.started

    def start(self, status: int, headers: Headers) -> bool:
        """Send the head of a streamed response now; False if one was already sent."""
        if self.writer.started or self.transport is None or self.closing:
            return False
        self.flush()
        self.transport.write(self.writer.start(status, headers))
        return True

    async def write(self, data: bytes) -> bool:
        """Send part of the body, waiting while the client is slow; False once it has gone."""
        if self.closing or self.transport is None:
            return False
        self.flush()
        self.transport.write(self.writer.chunk(data))
        if not self.writable.is_set():
            await self.writable.wait()
        return not self.closing


class HttpServer:
    """Listeners on one or more addresses sharing one :class:`HttpService`."""

    def __init__(self, service: HttpService, limits: ConnectionLimits | None = None,
                 access_log: AccessLog | None = None) -> None:
        self.service = service
        self.limits = limits or ConnectionLimits()
        self.access_log = access_log
        self.loop = asyncio.get_running_loop()
        self.servers: list[asyncio.Server] = []
        self.connections: set[HttpProtocol] = set()
        self.in_flight = 0
        #: connections refused because max_connections were open
        self.refused = 0
        self.draining = False
        self.idle_timeout = IDLE_TIMEOUT
        # one sweep for all connections instead of a timer per request
        self._sweeper = self.loop.call_later(min(SWEEP_SECONDS, self.limits.request_timeout / 2), self._sweep)
        self._unflushed: list[HttpProtocol] = []

    def switch(self, service: HttpService) -> None:
        """Serve the next requests with ``service`` (a redeploy); requests running finish on the old one."""
        self.service = service

    def defer(self, proto: HttpProtocol) -> None:
        """Flush ``proto``'s queued output once the loop has run this iteration's callbacks."""
        if not self._unflushed:
            self.loop.call_soon(self._flush_all)
        self._unflushed.append(proto)

    def _flush_all(self) -> None:
        batch, self._unflushed = self._unflushed, []
        for proto in batch:
            proto.flush()

    def _sweep(self) -> None:
        now = self.loop.time()
        cutoff = now - self.idle_timeout
        too_slow = now - self.limits.request_timeout
        for conn in list(self.connections):
            if conn.transport is None or conn.session is not None:
                continue
            if conn.conn.in_message and conn.message_started < too_slow:
                # a client trickling a request (slowloris) does not hold the connection forever
                log.info("%s: 408 request not received within %.0fs", conn.client, self.limits.request_timeout)
                conn.flush()
                conn.transport.write(encode(error(408, "request not received in time")))
                conn.transport.close()
            elif conn.last_active < cutoff and not conn.busy():
                conn.flush()
                conn.transport.close()
        self._sweeper = self.loop.call_later(min(SWEEP_SECONDS, self.limits.request_timeout / 2), self._sweep)

    async def listen(self, host: str, port: int, *, reuse_port: bool = False,
                     ssl: SSLContext | None = None) -> asyncio.Server:
        """Start listening on ``host:port`` (an IPv4 or IPv6 literal or a name); ``ssl``: an
        SSLContext for HTTPS (the handshake runs in the event loop, not blocking others)."""
        server = await self.loop.create_server(
            lambda: HttpProtocol(self), host, port, reuse_address=True, reuse_port=reuse_port or None,
            backlog=1024, ssl=ssl, ssl_handshake_timeout=10.0 if ssl is not None else None,
        )
        self.servers.append(server)
        return server

    async def shutdown(self, grace: float = 30.0) -> None:
        """Stop accepting, let in-flight requests finish (up to ``grace`` s), close idle ones."""
        self.draining = True
        self._sweeper.cancel()
        for server in self.servers:
            server.close()
        for conn in list(self.connections):
            if not conn.busy() and conn.transport is not None:
                conn.flush()
                conn.transport.close()
        deadline = self.loop.time() + grace
        while self.in_flight and self.loop.time() < deadline:
            await asyncio.sleep(0.05)
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.flush()
                conn.transport.close()
        if self.access_log is not None:
            self.access_log.flush()
