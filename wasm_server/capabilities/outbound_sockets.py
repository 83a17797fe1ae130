"""Outbound TCP and UDP sockets for guests, governed by ``allowed_outbound_hosts``.

Entries such as ``tcp://db.internal:5432`` or ``udp://*:53`` allow
destinations; anything else is error -2 (DENIED) with a message the guest
reads. Every call that waits (connect, send, recv) suspends the guest while
the event loop serves others. Sockets belong to the instance that opened
them and are closed when it is discarded.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..engine._lowlevel import CallState
from ..errors import CapabilityError
from ._spec import ImportSpec
from .destinations import resolve

NOT_FOUND = -1
DENIED = -2
TOO_LARGE = -3
INVALID = -4
IO = -5
TIMEOUT = -6

MAX_RECV = 1024 * 1024
MAX_SOCKETS = 64
CONNECT_TIMEOUT = 10.0


class _Datagrams(asyncio.DatagramProtocol):
    """A connected UDP socket's receive queue (bounded: extra datagrams are dropped)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=256)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if not self.queue.full():
            self.queue.put_nowait(data)


class OutboundSocket:
    """A guest's TCP stream or connected UDP socket."""

    def __init__(self, kind: str, reader: Any = None, writer: Any = None, transport: Any = None,
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


def _sockets(state: CallState) -> dict[int, OutboundSocket]:
    if state.sockets is None:
        state.sockets = {}
    socks: dict[int, OutboundSocket] = state.sockets
    return socks


def close_all(state: CallState) -> None:
    """Close every socket an instance opened (called when the instance is discarded)."""
    for sock in (state.sockets or {}).values():
        sock.close()
    state.sockets = None


async def _connect(state: CallState, kind: str, host: str, port: int) -> int:
    refused = state.host.outbound_check(kind, host, port)
    if refused is not None:
        state.result = refused.encode()
        return DENIED
    socks = _sockets(state)
    if len(socks) >= MAX_SOCKETS:
        state.result = f"an instance may hold at most {MAX_SOCKETS} sockets".encode()
        return TOO_LARGE
    policy = state.host.outbound
    try:
        host = await resolve(host, port, allow_private=bool(policy is not None and policy.allow_private))
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
        return TIMEOUT
    except OSError as exc:
        state.result = f"cannot connect to {kind}://{host}:{port}: {exc.strerror or exc}".encode()
        return IO
    handle = max(socks, default=0) + 1
    socks[handle] = sock
    return handle


def _target(state: CallState, hptr: int, hlen: int, port: int) -> tuple[str, int] | int:
    try:
        host = state.read(hptr, hlen).decode()
    except UnicodeDecodeError:
        state.result = b"host name is not valid UTF-8"
        return INVALID
    if not host or not 0 < port < 65536:
        state.result = f"invalid destination '{host}:{port}'".encode()
        return INVALID
    return host.strip("[]"), port


def tcp_connect(state: CallState, hptr: int, hlen: int, port: int) -> Any:
    """Open a TCP connection; returns a socket handle (> 0)."""
    target = _target(state, hptr, hlen, port)
    return target if isinstance(target, int) else _connect(state, "tcp", *target)


def udp_connect(state: CallState, hptr: int, hlen: int, port: int) -> Any:
    """Open a UDP socket connected to one peer; returns a socket handle (> 0)."""
    target = _target(state, hptr, hlen, port)
    return target if isinstance(target, int) else _connect(state, "udp", *target)


def _sock(state: CallState, handle: int) -> OutboundSocket | None:
    sock = (state.sockets or {}).get(handle)
    if sock is None:
        state.result = f"socket {handle} is not open".encode()
    return sock


async def _send(state: CallState, sock: OutboundSocket, data: bytes) -> int:
    try:
        if sock.kind == "tcp":
            sock.writer.write(data)
            await sock.writer.drain()
        else:
            sock.transport.sendto(data)
    except (OSError, ConnectionError) as exc:
        state.result = f"send failed: {exc}".encode()
        return IO
    return 0


def sock_send(state: CallState, handle: int, ptr: int, length: int) -> Any:
    """Send bytes (TCP) or one datagram (UDP)."""
    data = state.read(ptr, length)
    sock = _sock(state, handle)
    return NOT_FOUND if sock is None else _send(state, sock, data)


async def _recv(state: CallState, sock: OutboundSocket, max_len: int, timeout: float | None) -> int:
    try:
        if sock.kind == "tcp":
            data = await asyncio.wait_for(sock.reader.read(max_len), timeout)
        else:
            assert sock.datagrams is not None
            data = (await asyncio.wait_for(sock.datagrams.queue.get(), timeout))[:max_len]
    except TimeoutError:
        state.result = b"receive timed out"
        return TIMEOUT
    except (OSError, ConnectionError) as exc:
        state.result = f"receive failed: {exc}".encode()
        return IO
    state.result = data
    return len(data)


def sock_recv(state: CallState, handle: int, max_len: int, timeout_ms: int) -> Any:
    """Receive up to ``max_len`` bytes (0 = the TCP peer closed); ``timeout_ms`` < 0 waits forever."""
    sock = _sock(state, handle)
    if sock is None:
        return NOT_FOUND
    if not 0 < max_len <= MAX_RECV:
        state.result = f"max_len must be 1..{MAX_RECV}".encode()
        return INVALID
    return _recv(state, sock, max_len, None if timeout_ms < 0 else timeout_ms / 1000)


def sock_close(state: CallState, handle: int) -> int:
    """Close a socket."""
    sock = (state.sockets or {}).pop(handle, None)
    if sock is None:
        state.result = f"socket {handle} is not open".encode()
        return NOT_FOUND
    sock.close()
    return 0


IMPORTS = [
    ImportSpec("tcp_connect", "iii", "l", tcp_connect, is_async=True),
    ImportSpec("udp_connect", "iii", "l", udp_connect, is_async=True),
    ImportSpec("sock_send", "iii", "i", sock_send, is_async=True),
    ImportSpec("sock_recv", "iii", "l", sock_recv, is_async=True),
    ImportSpec("sock_close", "i", "i", sock_close),
]
