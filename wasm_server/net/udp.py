"""Raw UDP services: a component's ``[[component.udp]]`` listeners.

UDP has no connections, so one guest instance per listener (per worker
process) serves every datagram in arrival order and may keep state across
datagrams; "sessions" are whatever the guest keys by peer address. With
several workers, the kernel spreads datagrams across processes by
SO_REUSEPORT's hash of the peer address, so one peer keeps reaching the
same worker (and instance) while the set of workers is stable. Datagrams
beyond a bounded queue are dropped and counted, as a busy UDP server would:
there is no sender to slow down. The instance and the event pump are the
shared session's (:mod:`wasm_server.net.session`); ``connections.max`` and
the idle timeout do not apply (a listener is not a connection).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import cast

from ..abi_codec import KIND_UDP_DATAGRAM, encode_datagram
from .connections import ConnectionRegistry
from .session import EventTarget, GuestSession
from .tcp import format_addr

log = logging.getLogger("wasm_server")

#: datagrams waiting for the guest; more are dropped
MAX_QUEUE = 1024


def parse_peer(peer: str) -> tuple[str, int]:
    """``1.2.3.4:53`` / ``[::1]:53`` → (host, port)."""
    host, _, port = peer.rpartition(":")
    return host.strip("[]"), int(port)


class UdpSession(GuestSession, asyncio.DatagramProtocol):
    """One UDP listener of a component, served by one guest instance."""

    def __init__(self, target: EventTarget, registry: ConnectionRegistry) -> None:
        super().__init__(target, MAX_QUEUE)
        self.registry = registry
        self.socket_id = registry.next_id()
        self.transport: asyncio.DatagramTransport | None = None
        #: the bound address ``ip:port`` once listening
        self.local = ""
        #: datagrams dropped because the queue was full
        self.dropped = 0

    async def listen(self, host: str, port: int, *, reuse_port: bool = False) -> None:
        """Bind the socket."""
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port), family=family,
                                            reuse_port=reuse_port or None)
        if self.transport is not None:
            self.local = format_addr(self.transport.get_extra_info("sockname"))
        self.registry.udp[self.socket_id] = self

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: object) -> None:
        if self.pump.full():
            self.dropped += 1
            return
        self.push(KIND_UDP_DATAGRAM, encode_datagram(self.socket_id, format_addr(addr).encode(), data))

    def error_received(self, exc: Exception) -> None:
        log.debug("%s: UDP error: %s", self.component, exc)

    # -- the session's hooks -------------------------------------------------------

    def event_done(self, kind: int, ret: int) -> None:
        pass  # a datagram's return value means nothing

    def guest_failed(self, exc: Exception) -> bool:
        # a bad datagram must not take the listener down: the next one gets a fresh instance
        log.error("%s: a datagram failed: %s", self.component, exc)
        return True

    # -- what host imports call ------------------------------------------------------

    def sendto(self, peer: str, data: bytes) -> bool:
        """Send a datagram from this listener's socket."""
        if self.transport is None or self.transport.is_closing():
            return False
        self.transport.sendto(data, parse_peer(peer))
        return True

    async def close(self) -> None:
        """Close the socket; the instance goes too unless a datagram is running (it then
        finishes and is left to the garbage collector)."""
        self.registry.udp.pop(self.socket_id, None)
        self.ended = True
        if self.transport is not None:
            self.transport.close()
        if not self.pump.busy():
            self._release()
