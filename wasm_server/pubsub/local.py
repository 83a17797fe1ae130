"""The broker protocol and the in-process broker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Subscriber(Protocol):
    """A live connection that can receive a published message."""

    def send(self, data: bytes, *, binary: bool = True) -> bool:
        """Queue ``data`` (a text message on WebSockets, bytes on TCP); False if closed."""


class Subscribers(Protocol):
    """Where a broker finds live connections (net.connections.ConnectionRegistry)."""

    def get(self, conn_id: int, component: str) -> Subscriber | None:
        """The connection, if it is live and belongs to ``component``."""


class Broker(Protocol):
    """Where one app's published messages go (the ``publish``/``subscribe`` host imports)."""

    def publish(self, component: str, channel: str, data: bytes) -> int:
        """Deliver to the subscribers of ``component``'s ``channel``; returns how many
        connections of this process received it (other nodes' are not counted)."""

    def subscribe(self, component: str, channel: str, conn_id: int) -> None:
        """Add a subscriber (dropped automatically once its connection is gone)."""

    def close(self) -> None:
        """The app is closing: stop delivering to it."""


#: makes an app's broker from its connection registry and its name
BrokerFactory = Callable[[Subscribers, str], Broker]


class LocalBroker:
    """In-process fan-out over an app's connection registry."""

    def __init__(self, connections: Subscribers, app: str = "") -> None:
        self.connections = connections
        self.app = app
        self.channels: dict[tuple[str, str], set[int]] = {}

    def publish(self, component: str, channel: str, data: bytes) -> int:
        """Send to every live subscriber; forget the dead ones."""
        subs = self.channels.get((component, channel))
        if not subs:
            return 0
        delivered = 0
        for conn_id in list(subs):
            conn = self.connections.get(conn_id, component)
            if conn is None or not conn.send(data, binary=False):
                subs.discard(conn_id)
            else:
                delivered += 1
        if not subs:
            del self.channels[(component, channel)]  # a channel nobody hears costs nothing
        return delivered

    def subscribe(self, component: str, channel: str, conn_id: int) -> None:
        """Subscribe a connection."""
        self.channels.setdefault((component, channel), set()).add(conn_id)

    def close(self) -> None:
        """Forget every subscription."""
        self.channels.clear()
