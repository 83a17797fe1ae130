"""The registry of a process's live connections, what host imports look up by id.

Connection ids are what a guest holds; the registry turns one back into the
live connection, only for the component that owns it. The sessions
themselves (instance, event pump, limits) are in :mod:`wasm_server.net.session`.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # session.py builds on this module
    from .session import SessionGroup


class Conn(Protocol):
    """What the host imports need from a live connection."""

    conn_id: int
    component: str
    peer: str

    def send(self, data: bytes, *, binary: bool = True) -> bool:
        """Queue bytes (a WebSocket message for WebSockets); False if closed."""

    def close(self, code: int = 1000, reason: bytes = b"") -> None:
        """Close the connection (code/reason used by WebSockets)."""


class DatagramSocket(Protocol):
    """What ``udp_send`` needs from a UDP listener."""

    component: str
    #: the bound address ``ip:port`` (``udp_listeners``)
    local: str

    def sendto(self, peer: str, data: bytes) -> bool:
        """Send one datagram to ``peer`` ("ip:port"); False if the socket is closed."""


class ConnectionRegistry:
    """Connection ids → connections, shared by every component of an app."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.conns: dict[int, Conn] = {}
        #: UDP listeners by socket id (``udp_send`` replies from the right socket)
        self.udp: dict[int, DatagramSocket] = {}
        #: per component: its live TCP and WebSocket sessions, under ``connections.max``
        self.groups: dict[str, SessionGroup] = {}

    def next_id(self) -> int:
        """A fresh connection id (ids are never reused within a process)."""
        return next(self._ids)

    def add(self, conn: Conn) -> None:
        """Register a live connection."""
        self.conns[conn.conn_id] = conn

    def remove(self, conn_id: int) -> None:
        """Forget a connection."""
        self.conns.pop(conn_id, None)

    def get(self, conn_id: int, component: str) -> Conn | None:
        """The connection, if it is live and belongs to ``component``."""
        conn = self.conns.get(conn_id)
        return conn if conn is not None and conn.component == component else None
