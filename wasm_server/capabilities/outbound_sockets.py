"""Outbound TCP and UDP sockets for guests, governed by ``allowed_outbound_hosts``.

Entries such as ``tcp://db.internal:5432`` or ``udp://*:53`` allow
destinations; anything else is error -2 (ErrorCode.DENIED) with a message the guest
reads. Every call that waits (connect, send, recv) suspends the guest while
the event loop serves others. Sockets belong to the instance that opened
them and are closed when it is discarded.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..engine import HostImport, HostResult
from ..errors import CapabilityError, ErrorCode
from .call import GuestCall
from .destinations import resolve

MAX_RECV = 1024 * 1024
MAX_SOCKETS = 64
CONNECT_TIMEOUT = 10.0


class _Datagrams(asyncio.DatagramProtocol):
    """A connected UDP socket's receive queue (bounded: extra datagrams are dropped)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=256)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if not self.queue.full():
            self.queue.put_nowait(data)


class OutboundSocket:
    """A guest's TCP stream or connected UDP socket."""

    def __init__(self, kind: str, reader: asyncio.StreamReader | None = None,
                 writer: asyncio.StreamWriter | None = None, transport: asyncio.DatagramTransport | None = None,
                 datagrams: _Datagrams | None = None) -> None:
        self.kind = kind
        self.reader = reader
        self.writer = writer
        self.transport = transport
        self.datagrams = datagrams

    def close(self) -> None:
        """Close the socket (idempotent)."""
        if self.writer is not None:
            self.writer.close()
        if self.transport is not None:
            self.transport.close()


class SocketTable:
    """The outbound sockets one instance opened, by handle (an InstanceState)."""

    __slots__ = ("socks",)

    def __init__(self) -> None:
        self.socks: dict[int, OutboundSocket] = {}

    def add(self, sock: OutboundSocket) -> int:
        """Register ``sock``; returns its handle (> 0)."""
        handle = max(self.socks, default=0) + 1
        self.socks[handle] = sock
        return handle

    def end_event(self) -> None:
        """Sockets outlive events: a connection may span a TCP session's events."""

    def release(self) -> None:
        """The instance is discarded: close every socket it opened."""
        for sock in self.socks.values():
            sock.close()
        self.socks.clear()


def _table(state: GuestCall) -> SocketTable:
    table = state.sockets
    if table is None:
        table = state.sockets = SocketTable()
    return table


async def _connect(state: GuestCall, kind: str, host: str, port: int) -> int:
    refused = state.host.outbound_check(kind, host, port)
    if refused is not None:
        state.result = refused.encode()
        return ErrorCode.DENIED
    table = _table(state)
    if len(table.socks) >= MAX_SOCKETS:
        state.result = f"an instance may hold at most {MAX_SOCKETS} sockets".encode()
        return ErrorCode.TOO_LARGE
    try:
        host = await resolve(host, port, allow_private=state.host.outbound.allow_private)
    except CapabilityError as exc:
        state.result = str(exc).encode()
        return exc.code
    try:
        if kind == "tcp":
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT)
            sock = OutboundSocket("tcp", reader=reader, writer=writer)
        else:
            loop = asyncio.get_running_loop()
            transport, proto = await loop.create_datagram_endpoint(_Datagrams, remote_addr=(host, port))
            sock = OutboundSocket("udp", transport=transport, datagrams=proto)
    except TimeoutError:
        state.result = f"connecting to {kind}://{host}:{port} timed out".encode()
        return ErrorCode.TIMEOUT
    except OSError as exc:
        state.result = f"cannot connect to {kind}://{host}:{port}: {exc.strerror or exc}".encode()
        return ErrorCode.IO
    return table.add(sock)


def _target(state: GuestCall, hptr: int, hlen: int, port: int) -> tuple[str, int] | int:
    try:
        host = state.read(hptr, hlen).decode()
    except UnicodeDecodeError:
        state.result = b"host name is not valid UTF-8"
        return ErrorCode.INVALID
    if not host or not 0 < port < 65536:
        state.result = f"invalid destination '{host}:{port}'".encode()
        return ErrorCode.INVALID
    return host.strip("[]"), port


def tcp_connect(state: GuestCall, hptr: int, hlen: int, port: int) -> HostResult:
    """Open a TCP connection; returns a socket handle (> 0)."""
    target = _target(state, hptr, hlen, port)
    return target if isinstance(target, int) else _connect(state, "tcp", *target)


def udp_connect(state: GuestCall, hptr: int, hlen: int, port: int) -> HostResult:
    """Open a UDP socket connected to one peer; returns a socket handle (> 0)."""
    target = _target(state, hptr, hlen, port)
    return target if isinstance(target, int) else _connect(state, "udp", *target)


def _sock(state: GuestCall, handle: int) -> OutboundSocket | None:
    table = state.sockets
    sock = table.socks.get(handle) if table is not None else None
    if sock is None:
        state.result = f"socket {handle} is not open".encode()
    return sock


async def _send(state: GuestCall, sock: OutboundSocket, data: bytes) -> int:
    try:
        if sock.writer is not None:
            sock.writer.write(data)
            await sock.writer.drain()
        elif sock.transport is not None:
            sock.transport.sendto(data)
    except (OSError, ConnectionError) as exc:
        state.result = f"send failed: {exc}".encode()
        return ErrorCode.IO
    return 0


def sock_send(state: GuestCall, handle: int, ptr: int, length: int) -> HostResult:
    """Send bytes (TCP) or one datagram (UDP)."""
    data = state.read(ptr, length)
    sock = _sock(state, handle)
    return ErrorCode.NOT_FOUND if sock is None else _send(state, sock, data)


async def _recv(state: GuestCall, sock: OutboundSocket, max_len: int, timeout: float | None) -> int:
    try:
        if sock.reader is not None:
            data = await asyncio.wait_for(sock.reader.read(max_len), timeout)
        else:
            assert sock.datagrams is not None  # a UDP socket
            data = (await asyncio.wait_for(sock.datagrams.queue.get(), timeout))[:max_len]
    except TimeoutError:
        state.result = b"receive timed out"
        return ErrorCode.TIMEOUT
    except (OSError, ConnectionError) as exc:
        state.result = f"receive failed: {exc}".encode()
        return ErrorCode.IO
    state.result = data
    return len(data)


def sock_recv(state: GuestCall, handle: int, max_len: int, timeout_ms: int) -> HostResult:
    """Receive up to ``max_len`` bytes (0 = the TCP peer closed); ``timeout_ms`` < 0 waits forever."""
    sock = _sock(state, handle)
    if sock is None:
        return ErrorCode.NOT_FOUND
    if not 0 < max_len <= MAX_RECV:
        state.result = f"max_len must be 1..{MAX_RECV}".encode()
        return ErrorCode.INVALID
    return _recv(state, sock, max_len, None if timeout_ms < 0 else timeout_ms / 1000)


def sock_close(state: GuestCall, handle: int) -> int:
    """Close a socket."""
    table = state.sockets
    sock = table.socks.pop(handle, None) if table is not None else None
    if sock is None:
        state.result = f"socket {handle} is not open".encode()
        return ErrorCode.NOT_FOUND
    sock.close()
    return 0


IMPORTS = [
    HostImport("tcp_connect", "iii", "l", tcp_connect, is_async=True),
    HostImport("udp_connect", "iii", "l", udp_connect, is_async=True),
    HostImport("sock_send", "iii", "i", sock_send, is_async=True),
    HostImport("sock_recv", "iii", "l", sock_recv, is_async=True),
    HostImport("sock_close", "i", "i", sock_close),
]
