"""Raw UDP services: a component's ``[[component.udp]]`` listeners.

UDP has no connections, so one guest instance per listener (per worker
process) serves every datagram in arrival order and may keep state across
datagrams; "sessions" are whatever the guest keys by peer address. With
several workers, the kernel spreads datagrams across processes by
SO_REUSEPORT's hash of the peer address, so one peer keeps reaching the
same worker (and instance) while the set of workers is stable. Datagrams
beyond a bounded queue are dropped and counted, as a busy UDP server would.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any, cast

from ..abi_codec import KIND_UDP_DATAGRAM, encode_datagram
from ..engine import GuestInstance
from ..executors import NativeExecutor
from .connections import ConnectionRegistry, EventPump
from .tcp import format_addr

log = logging.getLogger("wasm_server")

MAX_QUEUE = 1024


def parse_peer(peer: str) -> tuple[str, int]:
    """``1.2.3.4:53`` / ``[::1]:53`` → (host, port)."""
    host, _, port = peer.rpartition(":")
    return host.strip("[]"), int(port)


class UdpService(asyncio.DatagramProtocol):
    """One UDP listener of a component, served by one guest instance."""

    def __init__(self, executor: NativeExecutor, registry: ConnectionRegistry) -> None:
        self.executor = executor
        self.component = executor.name
        self.registry = registry
        self.socket_id = registry.next_id()
        self.transport: asyncio.DatagramTransport | None = None
        self.instance: GuestInstance | None = None
        self.dropped = 0
        self.pump = EventPump(self._deliver, self._failed, max_queue=MAX_QUEUE)

    async def listen(self, host: str, port: int, *, reuse_port: bool = False) -> None:
        """Bind the socket."""
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port), family=family,
                                            reuse_port=reuse_port or None)
        self.registry.udp[self.socket_id] = self

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if len(self.pump.queue) >= MAX_QUEUE:
            self.dropped += 1
            return
        self.pump.push(KIND_UDP_DATAGRAM, encode_datagram(self.socket_id, format_addr(addr).encode(), data))

    def error_received(self, exc: Exception) -> None:
        log.debug("%s: UDP error: %s", self.component, exc)

    async def _deliver(self, kind: int, payload: bytes) -> int:
        if self.instance is None:
            self.instance = await self.executor.new_instance()
        return await self.executor.deliver(self.instance, kind, payload)

    def _drop_instance(self) -> None:
        if self.instance is not None:
            self.instance.release()
        self.instance = None

    def _failed(self, exc: Exception) -> None:
        # a bad datagram must not take the listener down: the next one gets a fresh instance
        log.error("%s: a datagram failed: %s", self.component, exc)
        self._drop_instance()
        self.pump.failed = False

    def sendto(self, peer: str, data: bytes) -> bool:
        """Send a datagram from this listener's socket."""
        if self.transport is None or self.transport.is_closing():
            return False
        self.transport.sendto(data, parse_peer(peer))
        return True

    async def close(self) -> None:
        """Close the socket."""
        self.registry.udp.pop(self.socket_id, None)
        if self.transport is not None:
            self.transport.close()
