"""Publish/subscribe between connections: ``publish`` and ``subscribe``.

A guest subscribes a connection to a channel; anything published on that
channel reaches every subscribed connection of the same component (as a text
message on WebSockets, as bytes on TCP) without a guest call per receiver.
The :class:`LocalBroker` fans out inside one process; a cluster swaps in a
broker that publishes through Redis pub/sub and fans out locally on receipt,
behind the same two methods.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..engine import HostImport
from ..errors import ErrorCode
from .call import GuestCall

MAX_MESSAGE = 1024 * 1024


class Broker(Protocol):
    """Where published messages go."""

    def publish(self, component: str, channel: str, data: bytes) -> int:
        """Deliver to subscribers; returns how many received it."""

    def subscribe(self, component: str, channel: str, conn_id: int) -> None:
        """Add a subscriber (dropped automatically once its connection is gone)."""


class LocalBroker:
    """In-process fan-out over the connection registry."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry
        self.channels: dict[tuple[str, str], set[int]] = {}

    def publish(self, component: str, channel: str, data: bytes) -> int:
        """Send to every live subscriber; forget the dead ones."""
        subs = self.channels.get((component, channel))
        if not subs:
            return 0
        delivered = 0
        for conn_id in list(subs):
            conn = self.registry.get(conn_id, component)
            if conn is None or not conn.send(data, binary=False):
                subs.discard(conn_id)
            else:
                delivered += 1
        return delivered

    def subscribe(self, component: str, channel: str, conn_id: int) -> None:
        """Subscribe a connection."""
        self.channels.setdefault((component, channel), set()).add(conn_id)


def _channel(state: GuestCall, ptr: int, length: int) -> str | None:
    try:
        return state.read(ptr, length).decode()
    except UnicodeDecodeError:
        state.result = b"channel name is not valid UTF-8"
        return None


def publish(state: GuestCall, cptr: int, clen: int, dptr: int, dlen: int) -> int:
    """Publish ``data`` on a channel; returns how many connections received it."""
    channel = _channel(state, cptr, clen)
    if channel is None:
        return ErrorCode.INVALID
    if dlen > MAX_MESSAGE:
        state.result = f"message of {dlen} bytes is over the {MAX_MESSAGE} limit".encode()
        return ErrorCode.TOO_LARGE
    data = state.read(dptr, dlen)
    return int(state.host.broker.publish(state.host.name, channel, data))


def subscribe(state: GuestCall, conn_id: int, cptr: int, clen: int) -> int:
    """Subscribe one of this component's connections to a channel."""
    channel = _channel(state, cptr, clen)
    if channel is None:
        return ErrorCode.INVALID
    host = state.host
    if host.connections.get(conn_id & 0xFFFFFFFF, host.name) is None:
        state.result = f"connection {conn_id} is closed or not one of '{host.name}'".encode()
        return ErrorCode.NOT_FOUND
    host.broker.subscribe(host.name, channel, conn_id & 0xFFFFFFFF)
    return 0


IMPORTS = [
    HostImport("publish", "iiii", "i", publish),
    HostImport("subscribe", "iii", "i", subscribe),
]
