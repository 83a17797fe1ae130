"""Imports for connection-oriented services: send, close, peer, UDP replies.

A component can only touch its own connections: an id belonging to another
component is "not found", exactly like a closed one. Bytes sent while the
call's KV writes await their group commit follow that commit (fence.py).
"""

from __future__ import annotations

from ..engine import HostImport
from ..errors import ErrorCode
from .call import GuestCall
from .fence import after_commit
from .host import Connection


def _conn(state: GuestCall, conn_id: int) -> Connection | None:
    host = state.host
    conn = host.connections.get(conn_id & 0xFFFFFFFF, host.name)
    if conn is None:
        state.result = f"connection {conn_id} is closed or not one of '{host.name}'".encode()
    return conn


def conn_send(state: GuestCall, conn_id: int, ptr: int, length: int) -> int:
    """Send bytes on a TCP connection (or a binary WebSocket message)."""
    data = state.read(ptr, length)
    conn = _conn(state, conn_id)
    if conn is None:
        return ErrorCode.NOT_FOUND
    queued = after_commit(state, lambda: conn.send(data), lambda: conn.close(1011, b"internal error"))
    if queued is not None:
        return queued
    return 0 if conn.send(data) else ErrorCode.NOT_FOUND


def ws_send(state: GuestCall, conn_id: int, flags: int, ptr: int, length: int) -> int:
    """Send a WebSocket message: flags bit 0 = binary, else text."""
    data = state.read(ptr, length)
    conn = _conn(state, conn_id)
    if conn is None:
        return ErrorCode.NOT_FOUND
    binary = bool(flags & 1)
    queued = after_commit(state, lambda: conn.send(data, binary=binary), lambda: conn.close(1011, b"internal error"))
    if queued is not None:
        return queued
    return 0 if conn.send(data, binary=binary) else ErrorCode.NOT_FOUND


def conn_close(state: GuestCall, conn_id: int, code: int, ptr: int, length: int) -> int:
    """Close a connection (code and reason are used by WebSockets)."""
    reason = state.read(ptr, length)
    conn = _conn(state, conn_id)
    if conn is None:
        return ErrorCode.NOT_FOUND
    conn.close(code or 1000, reason)
    return 0


def conn_peer(state: GuestCall, conn_id: int) -> int:
    """The peer address "ip:port" into the result slot."""
    conn = _conn(state, conn_id)
    if conn is None:
        return ErrorCode.NOT_FOUND
    state.result = conn.peer.encode()
    return len(state.result)


def udp_send(state: GuestCall, socket_id: int, pptr: int, plen: int, dptr: int, dlen: int) -> int:
    """Send a datagram from UDP listener ``socket_id`` to ``peer``."""
    peer = state.read(pptr, plen).decode("latin-1")
    data = state.read(dptr, dlen)
    registry = state.host.connections
    sock = registry.udp.get(socket_id)
    if sock is None or sock.component != state.host.name:
        state.result = f"UDP socket {socket_id} is not one of '{state.host.name}'".encode()
        return ErrorCode.NOT_FOUND
    try:
        sent = sock.sendto(peer, data)
    except (ValueError, OSError) as exc:
        state.result = f"cannot send to '{peer}': {exc}".encode()
        return ErrorCode.INVALID
    return 0 if sent else ErrorCode.NOT_FOUND


IMPORTS = [
    HostImport("conn_send", "iii", "i", conn_send),
    HostImport("ws_send", "iiii", "i", ws_send),
    HostImport("conn_close", "iiii", "i", conn_close),
    HostImport("conn_peer", "i", "l", conn_peer),
    HostImport("udp_send", "iiiii", "i", udp_send),
]
