"""Imports for connection-oriented services: send, close, peer, UDP replies.

A component can only touch its own connections: an id belonging to another
component is "not found", exactly like a closed one.
"""

from __future__ import annotations

from typing import Any

from ..engine._lowlevel import CallState
from ._spec import ImportSpec

NOT_FOUND = -1
INVALID = -4


def _conn(state: CallState, conn_id: int) -> Any:
    host = state.host
    conn = host.connections.get(conn_id & 0xFFFFFFFF, host.name) if host.connections is not None else None
    if conn is None:
        state.result = f"connection {conn_id} is closed or not one of '{host.name}'".encode()
    return conn


def conn_send(state: CallState, conn_id: int, ptr: int, length: int) -> int:
    """Send bytes on a TCP connection (or a binary WebSocket message)."""
    data = state.read(ptr, length)
    conn = _conn(state, conn_id)
    if conn is None or not conn.send(data):
        return NOT_FOUND
    return 0


def ws_send(state: CallState, conn_id: int, flags: int, ptr: int, length: int) -> int:
    """Send a WebSocket message: flags bit 0 = binary, else text."""
    data = state.read(ptr, length)
    conn = _conn(state, conn_id)
    if conn is None or not conn.send(data, binary=bool(flags & 1)):
        return NOT_FOUND
    return 0


def conn_close(state: CallState, conn_id: int, code: int, ptr: int, length: int) -> int:
    """Close a connection (code and reason are used by WebSockets)."""
    reason = state.read(ptr, length)
    conn = _conn(state, conn_id)
    if conn is None:
        return NOT_FOUND
    conn.close(code or 1000, reason)
    return 0


def conn_peer(state: CallState, conn_id: int) -> int:
    """The peer address "ip:port" into the result slot."""
    conn = _conn(state, conn_id)
    if conn is None:
        return NOT_FOUND
    state.result = conn.peer.encode()
    return len(state.result)


def udp_send(state: CallState, socket_id: int, pptr: int, plen: int, dptr: int, dlen: int) -> int:
    """Send a datagram from UDP listener ``socket_id`` to ``peer``."""
    peer = state.read(pptr, plen).decode("latin-1")
    data = state.read(dptr, dlen)
    registry = state.host.connections
    sock = registry.udp.get(socket_id) if registry is not None else None
    if sock is None or sock.component != state.host.name:
        state.result = f"UDP socket {socket_id} is not one of '{state.host.name}'".encode()
        return NOT_FOUND
    try:
        sent = sock.sendto(peer, data)
    except (ValueError, OSError) as exc:
        state.result = f"cannot send to '{peer}': {exc}".encode()
        return INVALID
    return 0 if sent else NOT_FOUND


IMPORTS = [
    ImportSpec("conn_send", "iii", "i", conn_send),
    ImportSpec("ws_send", "iiii", "i", ws_send),
    ImportSpec("conn_close", "iiii", "i", conn_close),
    ImportSpec("conn_peer", "i", "l", conn_peer),
    ImportSpec("udp_send", "iiiii", "i", udp_send),
]
