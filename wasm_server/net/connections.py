"""Live connections (TCP and WebSocket) and the per-connection event pump.

Each connection gets its own guest instance for its whole life, so the guest
can keep per-connection state in memory. Its events (connect, data, close)
run one at a time, in order, through an :class:`EventPump`; a trap in one
connection's instance closes that connection only.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from ..errors import GuestError, Overloaded

log = logging.getLogger("wasm_server")


class Conn(Protocol):
    """What the host imports need from a live connection."""

    conn_id: int
    component: str
    peer: str

    def send(self, data: bytes, *, binary: bool = True) -> bool:
        """Queue bytes (a WebSocket message for WebSockets); False if closed."""

    def close(self, code: int = 1000, reason: bytes = b"") -> None:
        """Close the connection (code/reason used by WebSockets)."""


class ConnectionRegistry:
    """Connection ids → connections, shared by every component of a process."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.conns: dict[int, Conn] = {}
        #: UDP listeners by socket id (``udp_send`` replies from the right socket)
        self.udp: dict[int, Any] = {}

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

    def count(self, component: str) -> int:
        """Live connections of a component."""
        return sum(1 for c in self.conns.values() if c.component == component)


Handler = Callable[[int, bytes], Awaitable[int]]


class EventPump:
    """Delivers a connection's events to its guest, one at a time, in order."""

    def __init__(self, deliver: Handler, on_fail: Callable[[Exception], None], max_queue: int = 256) -> None:
        self.deliver = deliver
        self.on_fail = on_fail
        self.max_queue = max_queue
        self.queue: deque[tuple[int, bytes]] = deque()
        self.task: asyncio.Task[None] | None = None
        self.failed = False
        self.last_active = time.monotonic()

    def push(self, kind: int, payload: bytes) -> bool:
        """Queue an event; False if the queue is over its bound (caller applies backpressure)."""
        if self.failed:
            return True
        self.queue.append((kind, payload))
        self.last_active = time.monotonic()
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._run())
        return len(self.queue) < self.max_queue

    def busy(self) -> bool:
        """Whether events are queued or running."""
        return bool(self.queue) or (self.task is not None and not self.task.done())

    async def _run(self) -> None:
        while self.queue and not self.failed:
            kind, payload = self.queue.popleft()
            try:
                await self.deliver(kind, payload)
            except (GuestError, Overloaded) as exc:
                self.failed = True
                self.queue.clear()
                self.on_fail(exc)
            except Exception as exc:  # a host bug must not kill the loop
                log.exception("internal error delivering event %d", kind)
                self.failed = True
                self.queue.clear()
                self.on_fail(exc)
            self.last_active = time.monotonic()
