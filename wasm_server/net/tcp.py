"""Raw TCP services: a component's ``[[component.tcp]]`` listeners.

One guest instance per connection, for the connection's life (state can live
in guest memory). Events: TCP_CONNECT, TCP_DATA, TCP_CLOSE (docs/abi.md).
Flow control: when the guest has queued more than ``HIGH_WATER`` unsent bytes
to a peer, the host stops reading from that peer until the data drains; when
too many events wait for the guest, reading pauses too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, cast

from ..abi_codec import KIND_TCP_CLOSE, KIND_TCP_CONNECT, KIND_TCP_DATA, encode_conn, encode_connect, encode_data
from ..engine import GuestInstance
from ..executors import NativeExecutor
from .connections import ConnectionRegistry, EventPump

log = logging.getLogger("wasm_server")

HIGH_WATER = 256 * 1024
SWEEP_SECONDS = 1.0


def format_addr(addr: Any) -> str:
    """``ip:port`` / ``[ipv6]:port`` from a socket address tuple."""
    if not addr:
        return ""
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class TcpService:
    """The listener(s) of one component and its live connections."""

    def __init__(self, executor: NativeExecutor, registry: ConnectionRegistry, max_connections: int,
                 idle_timeout: float) -> None:
        self.executor = executor
        self.name = executor.name
        self.registry = registry
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.active: set[TcpConnection] = set()
        self.servers: list[asyncio.Server] = []
        self.refused = 0
        self._sweeper: asyncio.TimerHandle | None = None

    async def listen(self, host: str, port: int, *, reuse_port: bool = False) -> None:
        """Open a listener."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: TcpConnection(self), host, port, reuse_address=True,
                                          reuse_port=reuse_port or None, backlog=1024)
        self.servers.append(server)
        if self._sweeper is None:
            self._sweeper = loop.call_later(SWEEP_SECONDS, self._sweep)

    def _sweep(self) -> None:
        cutoff = time.monotonic() - self.idle_timeout
        for conn in list(self.active):
            if conn.pump.last_active < cutoff and not conn.pump.busy():
                log.info("%s: closing idle connection %s", self.name, conn.peer)
                conn.close()
        self._sweeper = asyncio.get_running_loop().call_later(SWEEP_SECONDS, self._sweep)

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        for server in self.servers:
            server.close()
        for conn in list(self.active):
            conn.close()


class TcpConnection(asyncio.Protocol):
    """One raw TCP connection served by its own guest instance."""

    def __init__(self, service: TcpService) -> None:
        self.service = service
        self.component = service.name
        self.conn_id = 0
        self.peer = ""
        self.transport: asyncio.Transport | None = None
        self.instance: GuestInstance | None = None
        self.closed = False
        self.reading_paused = False
        self.eof = False
        self.pump = EventPump(self._deliver, self._failed)

    # -- asyncio callbacks ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        service = self.service
        self.peer = format_addr(transport.get_extra_info("peername"))
        if len(service.active) >= service.max_connections:
            service.refused += 1
            log.warning("%s: refusing %s: %d connections is the limit", self.component, self.peer,
                        service.max_connections)
            self.closed = True
            self.transport.abort()
            return
        service.active.add(self)
        self.conn_id = service.registry.next_id()
        service.registry.add(self)
        self.transport.set_write_buffer_limits(high=HIGH_WATER)
        local = format_addr(transport.get_extra_info("sockname"))
        self.pump.push(KIND_TCP_CONNECT, encode_connect(self.conn_id, self.peer.encode(), local.encode()))

    def data_received(self, data: bytes) -> None:
        if not self.pump.push(KIND_TCP_DATA, encode_data(self.conn_id, data)):
            self._pause()

    def eof_received(self) -> bool:
        # the peer finished sending: let the guest answer what it already got,
        # then close our side too (the guest then gets TCP_CLOSE)
        self.eof = True
        if not self.pump.busy():
            self.close()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn_id == 0:
            return
        self.closed = True
        self.service.active.discard(self)
        self.service.registry.remove(self.conn_id)
        self.pump.push(KIND_TCP_CLOSE, encode_conn(self.conn_id))

    def pause_writing(self) -> None:
        self._pause()  # the peer is not reading what the guest sends: stop reading from it

    def resume_writing(self) -> None:
        self._resume()

    # -- flow control ----------------------------------------------------------

    def _pause(self) -> None:
        if not self.reading_paused and self.transport is not None and not self.closed:
            self.reading_paused = True
            self.transport.pause_reading()

    def _resume(self) -> None:
        if self.reading_paused and self.transport is not None and not self.closed:
            self.reading_paused = False
            self.transport.resume_reading()

    # -- guest side --------------------------------------------------------------

    async def _deliver(self, kind: int, payload: bytes) -> int:
        executor = self.service.executor
        if self.instance is None:
            if kind == KIND_TCP_CLOSE:
                return 0
            self.instance = await executor.new_instance()
        ret = await executor.deliver(self.instance, kind, payload)
        if kind == KIND_TCP_CLOSE:
            self.instance.release()
            self.instance = None  # the connection is over: free the instance
        elif ret < 0 or (self.eof and not self.pump.queue):
            self.close()
        if len(self.pump.queue) < self.pump.max_queue // 2 and (
            self.transport is None or self.transport.get_write_buffer_size() < HIGH_WATER
        ):
            self._resume()
        return ret

    def _drop_instance(self) -> None:
        if self.instance is not None:
            self.instance.release()
        self.instance = None

    def _failed(self, exc: Exception) -> None:
        log.error("%s: connection %s closed: the guest failed: %s", self.component, self.peer, exc)
        self._drop_instance()
        self.close()

    # -- what host imports call --------------------------------------------------------

    def send(self, data: bytes, *, binary: bool = True) -> bool:
        """Write bytes to the peer; False if the connection is closed."""
        if self.closed or self.transport is None:
            return False
        self.transport.write(data)
        return True

    def close(self, code: int = 1000, reason: bytes = b"") -> None:
        """Close after writing what is queued."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
