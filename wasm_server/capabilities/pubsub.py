"""Publish/subscribe between connections: ``publish`` and ``subscribe``.

A guest subscribes a connection to a channel; anything published on that
channel reaches every subscribed connection of the same component (as a text
message on WebSockets, as bytes on TCP) without a guest call per receiver.
The component's broker (``host.broker``, a :class:`wasm_server.pubsub.Broker`)
fans out inside the process, and in cluster mode to every node through Redis
pub/sub (wasm_server/pubsub/).
"""

from __future__ import annotations

from ..engine import HostImport
from ..errors import ErrorCode
from ..pubsub import Broker
from .call import GuestCall

__all__ = ["IMPORTS", "Broker"]

MAX_MESSAGE = 1024 * 1024


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
