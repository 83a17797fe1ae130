"""Raw TCP services: a component's ``[[component.tcp]]`` listeners.

One guest instance per connection, for the connection's life (state can live
in guest memory). Events: TCP_CONNECT, TCP_DATA, TCP_CLOSE (docs/abi.md).
The instance, event order, ``connections.max``, the idle timeout and flow
control are the shared session's (:mod:`wasm_server.net.session`); this
module adds the listener, addresses and half-close.
"""

from __future__ import annotations

import asyncio
import logging
from typing import cast

from ..abi_codec import KIND_TCP_CLOSE, KIND_TCP_CONNECT, KIND_TCP_DATA, encode_conn, encode_connect, encode_data
from .connections import ConnectionRegistry
from .session import ConnectionSession, EventTarget, SessionLimits

log = logging.getLogger("wasm_server")


def format_addr(addr: object) -> str:
    """``ip:port`` / ``[ipv6]:port`` from a socket address tuple (asyncio's ``peername``;
    IPv6 tuples carry flow info and scope id too); "" for anything else."""
    if not isinstance(addr, tuple) or len(addr) < 2:
        return ""
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


class TcpService:
    """The listener(s) of one component."""

    def __init__(self, target: EventTarget, registry: ConnectionRegistry, limits: SessionLimits) -> None:
        self.target = target
        self.name = target.name
        self.registry = registry
        self.limits = limits
        self.servers: list[asyncio.Server] = []

    async def listen(self, host: str, port: int, *, reuse_port: bool = False) -> None:
        """Open a listener."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: TcpSession(self.target, self.registry, self.limits), host, port,
                                          reuse_address=True, reuse_port=reuse_port or None, backlog=1024)
        self.servers.append(server)

    async def close(self) -> None:
        """Stop listening and close every TCP connection of the component."""
        for server in self.servers:
            server.close()
        group = self.registry.groups.get(self.name)
        if group is not None:
            group.close_all(TcpSession)


class TcpSession(ConnectionSession, asyncio.Protocol):
    """One raw TCP connection served by its own guest instance."""

    end_kind = KIND_TCP_CLOSE

    def __init__(self, target: EventTarget, registry: ConnectionRegistry, limits: SessionLimits) -> None:
        super().__init__(target, registry, limits)
        self.transport: asyncio.Transport | None = None
        #: the peer shut down its sending side
        self.eof = False

    # -- asyncio callbacks ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses
        self.transport = cast(asyncio.Transport, transport)
        self.peer = format_addr(transport.get_extra_info("peername"))
        if not self.admit():
            self.transport.abort()  # past connections.max: a reset, at once
            return
        self.attach(self.transport)
        local = format_addr(transport.get_extra_info("sockname"))
        self.push(KIND_TCP_CONNECT, encode_connect(self.conn_id, self.peer.encode(), local.encode()))

    def data_received(self, data: bytes) -> None:
        self.push(KIND_TCP_DATA, encode_data(self.conn_id, data))

    def eof_received(self) -> bool:
        # the peer finished sending: let the guest answer what it already got,
        # then close our side too (the guest then gets TCP_CLOSE)
        self.eof = True
        if not self.pump.busy():
            self.close()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.end(KIND_TCP_CLOSE, encode_conn(self.conn_id))

    # -- the session's hooks -------------------------------------------------------

    def event_done(self, kind: int, ret: int) -> None:
        if ret < 0 or (self.eof and not self.pump.queue):
            self.close()

    # -- what host imports call --------------------------------------------------------

    def send(self, data: bytes, *, binary: bool = True) -> bool:
        """Write bytes to the peer; False if the connection is closed."""
        if self.ended or self.transport is None or self.transport.is_closing():
            return False
        self.touch()
        self.transport.write(data)
        return True

    def close(self, code: int = 1000, reason: bytes = b"") -> None:
        """Close after writing what is queued."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
