"""Publish/subscribe between connections: ``publish`` and ``subscribe``.

A guest subscribes a connection to a channel; anything published on that
channel reaches every subscribed connection of the same component (as a text
message on WebSockets, as bytes on TCP) without a guest call per receiver.
The component's broker (``host.broker``, a :class:`wasm_server.pubsub.Broker`)
fans out inside the process, and in cluster mode to every node through Redis
pub/sub (wasm_server/pubsub/).
"""

from __future__ import annotations

from ..engine._lowlevel import CallState
from ._spec import ImportSpec

NOT_FOUND = -1
INVALID = -4
MAX_MESSAGE = 1024 * 1024


def _channel(state: CallState, ptr: int, length: int) -> str | None:
    try:
        return state.read(ptr, length).decode()
    except UnicodeDecodeError:
        state.result = b"channel name is not valid UTF-8"
        return None


def publish(state: CallState, cptr: int, clen: int, dptr: int, dlen: int) -> int:
    """Publish ``data`` on a channel; returns how many connections received it."""
    channel = _channel(state, cptr, clen)
    if channel is None:
        return INVALID
    if dlen > MAX_MESSAGE:
        state.result = f"message of {dlen} bytes is over the {MAX_MESSAGE} limit".encode()
        return -3
    data = state.read(dptr, dlen)
    return int(state.host.broker.publish(state.host.name, channel, data))


def subscribe(state: CallState, conn_id: int, cptr: int, clen: int) -> int:
    """Subscribe one of this component's connections to a channel."""
    channel = _channel(state, cptr, clen)
    if channel is None:
        return INVALID
    host = state.host
    if host.connections.get(conn_id & 0xFFFFFFFF, host.name) is None:
        state.result = f"connection {conn_id} is closed or not one of '{host.name}'".encode()
        return NOT_FOUND
    host.broker.subscribe(host.name, channel, conn_id & 0xFFFFFFFF)
    return 0


IMPORTS = [
    ImportSpec("publish", "iiii", "i", publish),
    ImportSpec("subscribe", "iii", "i", subscribe),
]
