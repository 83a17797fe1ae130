"""Guest sessions: the one piece of glue between a live socket and a guest instance.

TCP connections, WebSocket connections and UDP listeners all come down to the
same thing: events (connect, data, message, datagram, close) delivered in
order to one guest instance that lives as long as the session. This module
owns that, once, for every transport:

- the instance lifecycle: created for the first event, released after the
  last one or when the guest fails (:class:`GuestSession`);
- the event pump: one event at a time, in order (:class:`EventPump`);
- flow control: reading pauses while the guest is behind or the peer does
  not read (:class:`~wasm_server.net.flow.FlowControl`);
- wake-ups the guest asked for with ``wake_after``: one TIMER event, queued in
  order with the others (:meth:`GuestSession.wake_after`);
- limits of connection-like sessions: ``connections.max`` live sessions per
  component and ``connections.idle_timeout`` (:class:`ConnectionSession`,
  :class:`SessionGroup`).

A transport module adds only what differs: framing, event kinds and
payloads, addresses, what "refuse" and "close" mean on its wire.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar, Protocol

from ..abi_codec import KIND_TIMER
from ..capabilities import GuestCall
from ..engine import GuestInstance
from ..errors import GuestError, Overloaded
from .connections import ConnectionRegistry
from .flow import FlowControl, StreamTransport

log = logging.getLogger("wasm_server")

#: events waiting for a busy guest before reading pauses
MAX_QUEUE = 256
#: unsent bytes to a peer before reading from it pauses
HIGH_WATER = 256 * 1024


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """The limits of one component's sessions (``[component.connections]`` in the manifest).

    ``max_connections`` and ``idle_timeout`` apply to connection sessions (TCP
    and WebSocket together); ``max_queue`` and ``high_water`` to every session.
    """

    max_connections: int
    idle_timeout: float
    max_queue: int = MAX_QUEUE
    high_water: int = HIGH_WATER


class EventTarget(Protocol):
    """What a session needs from its component's executor."""

    @property
    def name(self) -> str:
        """The component's name."""

    async def new_instance(self) -> GuestInstance:
        """A fresh instance that will serve this session's events."""

    async def deliver(self, inst: GuestInstance, kind: int, payload: bytes) -> int:
        """Run one event in ``inst`` under the component's deadline."""



class EventPump:
    """Delivers a session's events to its guest, one at a time, in order.

    ``on_fail`` is called when delivering raised; it returns True to go on with
    the events still queued (UDP: a bad datagram must not stop the listener)
    or False to stop for good (a connection whose guest failed is over).
    """

    def __init__(self, deliver: Callable[[int, bytes], Awaitable[int]],
                 on_fail: Callable[[Exception], bool], max_queue: int = MAX_QUEUE) -> None:
        self.deliver = deliver
        self.on_fail = on_fail
        self.max_queue = max_queue
        self.queue: deque[tuple[int, bytes]] = deque()
        self.task: asyncio.Task[None] | None = None
        self.stopped = False

    def push(self, kind: int, payload: bytes) -> bool:
        """Queue an event; False once the queue has reached its bound (apply backpressure)."""
        if self.stopped:
            return True
        self.queue.append((kind, payload))
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._run())
        return len(self.queue) < self.max_queue

    def full(self) -> bool:
        """Whether the queue has reached its bound."""
        return len(self.queue) >= self.max_queue

    def drained(self) -> bool:
        """Whether the queue is back under half its bound (where reading resumes)."""
        return len(self.queue) <= self.max_queue // 2

    def busy(self) -> bool:
        """Whether events are queued or running."""
        return bool(self.queue) or (self.task is not None and not self.task.done())

    async def _run(self) -> None:
        while self.queue and not self.stopped:
            kind, payload = self.queue.popleft()
            try:
                await self.deliver(kind, payload)
            except (GuestError, Overloaded) as exc:
                self._failed(exc)
            except Exception as exc:  # a host bug must not kill the loop
                log.exception("internal error delivering event %d", kind)
                self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        if not self.on_fail(exc):
            self.stopped = True
            self.queue.clear()


class GuestSession(ABC):
    """Events from one socket, run in order by one guest instance.

    A transport subclass sets :attr:`end_kind`, calls :meth:`attach` once it
    has its transport and :meth:`push` for every event, and implements
    :meth:`event_done` (what the guest's return value means) and
    :meth:`guest_failed` (what a trap does to the session).
    """

    #: the event after which the instance is released (a connection's close event);
    #: None for sessions that never end on their own (a UDP listener)
    end_kind: ClassVar[int | None] = None

    def __init__(self, target: EventTarget, max_queue: int = MAX_QUEUE, high_water: int = HIGH_WATER) -> None:
        self.target = target
        self.high_water = high_water
        self.component = target.name
        self.instance: GuestInstance | None = None
        self.flow: FlowControl | None = None
        self.pump = EventPump(self._run_event, self._event_failed, max_queue)
        #: monotonic time of the last traffic either way, or of the last event finished
        self.last_active = time.monotonic()
        #: set once the end event is queued: nothing may follow it
        self.ended = False
        #: the wake-up the guest asked for (``wake_after``), until it fires
        self._timer: asyncio.TimerHandle | None = None
        #: a TIMER event is queued and has not run yet (one is enough)
        self._timer_queued = False

    def attach(self, transport: StreamTransport) -> None:
        """Flow control on ``transport`` from now on (see :class:`FlowControl`)."""
        self.flow = FlowControl(transport, self.high_water)

    def touch(self) -> None:
        """Traffic happened (the idle timeout starts again)."""
        self.last_active = time.monotonic()

    def push(self, kind: int, payload: bytes) -> None:
        """Queue an event for the guest; reading pauses while the guest is behind."""
        if self.ended:
            return
        self.touch()
        if kind == self.end_kind:
            self.ended = True
        if not self.pump.push(kind, payload) and self.flow is not None:
            self.flow.queue_full()

    # -- asyncio flow-control callbacks (a stream transport's protocol forwards them) --

    def pause_writing(self) -> None:
        """The peer is not reading what the guest sends: stop reading from it."""
        if self.flow is not None:
            self.flow.pause_writing()

    def resume_writing(self) -> None:
        """The peer caught up."""
        if self.flow is not None:
            self.flow.resume_writing()

    # -- wake-ups (capabilities/timers.py) -------------------------------------------

    def wake_after(self, delay: float | None) -> None:
        """Queue one TIMER event for the current instance after ``delay`` seconds,
        replacing an earlier request; None cancels."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if delay is not None and not self.ended:
            self._timer = asyncio.get_running_loop().call_later(delay, self._wake)

    def _wake(self) -> None:
        self._timer = None
        # a timer is not traffic: it must not keep an idle connection alive (no touch())
        if self.ended or self.instance is None or self._timer_queued:
            return
        self._timer_queued = True
        self.pump.push(KIND_TIMER, b"")

    # -- the guest side --------------------------------------------------------------

    async def _run_event(self, kind: int, payload: bytes) -> int:
        if kind == KIND_TIMER:
            self._timer_queued = False
            if self.instance is None:
                return 0  # the instance that asked is gone (it failed): nothing to wake
        if self.instance is None:
            if kind == self.end_kind:
                return 0  # the guest never saw this session: nothing to tell it
            self.instance = await self.target.new_instance()
            if isinstance(self.instance.state, GuestCall):
                self.instance.state.waker = self
        ret = await self.target.deliver(self.instance, kind, payload)
        if kind == self.end_kind:
            self._release()
        elif kind != KIND_TIMER:
            self.event_done(kind, ret)
        if kind != KIND_TIMER:
            self.last_active = time.monotonic()
        if self.flow is not None and self.pump.drained():
            self.flow.queue_drained()
        return ret

    def _release(self) -> None:
        if self.instance is not None:
            self.instance.release()
        self.instance = None

    def _event_failed(self, exc: Exception) -> bool:
        self._release()  # a failed instance is never used again
        return self.guest_failed(exc)

    @abstractmethod
    def event_done(self, kind: int, ret: int) -> None:
        """The guest answered event ``kind`` with ``ret`` (< 0: it wants the session closed)."""

    @abstractmethod
    def guest_failed(self, exc: Exception) -> bool:
        """The guest trapped or timed out (its instance is already released); True to go on
        with a fresh instance for the next event, False when the session is over."""


class ConnectionSession(GuestSession):
    """A session with a peer at the other end: counted, timed out when idle, closable.

    Subclasses call :meth:`admit` before accepting the peer (refusing it their
    own way when it returns False) and :meth:`end` when the connection is gone,
    and implement :meth:`send` and :meth:`close`, what host imports call.
    """

    def __init__(self, target: EventTarget, registry: ConnectionRegistry, limits: SessionLimits) -> None:
        super().__init__(target, limits.max_queue, limits.high_water)
        self.limits = limits
        self.registry = registry
        self.conn_id = registry.next_id()
        self.peer = ""
        self.admitted = False

    def admit(self) -> bool:
        """Take one of the component's ``connections.max`` places; False when none is free."""
        group = self.registry.groups.get(self.component)
        if group is None:
            group = self.registry.groups[self.component] = SessionGroup(self.component, self.limits)
        if not group.admit(self):
            self.ended = True  # refused: no event will ever run for it
            return False
        self.admitted = True
        self.registry.add(self)
        return True

    def end(self, kind: int, payload: bytes) -> None:
        """The connection is over: give its place back and queue the end event (once)."""
        if self.ended:
            return
        if self.admitted:
            self.admitted = False
            self.registry.remove(self.conn_id)
            group = self.registry.groups.get(self.component)
            if group is not None:
                group.leave(self)
        self.push(kind, payload)

    def on_idle(self) -> None:
        """No traffic for ``idle_timeout``: close (a transport may say why on its wire)."""
        self.close()

    def guest_failed(self, exc: Exception) -> bool:
        log.error("%s: connection %s closed: the guest failed: %s", self.component, self.peer, exc)
        self.close(1011, b"internal error")
        return False

    @abstractmethod
    def send(self, data: bytes, *, binary: bool = True) -> bool:
        """Send bytes (a message on a WebSocket); False once the connection is closing."""

    @abstractmethod
    def close(self, code: int = 1000, reason: bytes = b"") -> None:
        """Close the connection (code and reason are used by WebSockets)."""


class SessionGroup:
    """The live connection sessions of one component: ``connections.max`` and the idle sweep.

    TCP and WebSocket sessions of a component count together. One timer per
    component checks idleness while it has sessions (not one per connection).
    """

    def __init__(self, component: str, limits: SessionLimits) -> None:
        self.component = component
        self.limits = limits
        self.sessions: set[ConnectionSession] = set()
        #: connections refused because ``max_connections`` were live
        self.refused = 0
        self._sweeper: asyncio.TimerHandle | None = None

    def admit(self, session: ConnectionSession) -> bool:
        """Count ``session`` in, or refuse it when the component is at its limit."""
        if len(self.sessions) >= self.limits.max_connections:
            self.refused += 1
            if self.refused == 1 or self.refused % 1000 == 0:
                log.warning("%s: refusing %s: %d connections is the limit (refused %d so far)",
                            self.component, session.peer, self.limits.max_connections, self.refused)
            return False
        self.sessions.add(session)
        if self._sweeper is None:
            self._schedule()
        return True

    def leave(self, session: ConnectionSession) -> None:
        """``session`` is over."""
        self.sessions.discard(session)

    def _schedule(self) -> None:
        # a few sweeps per timeout: an idle connection lives at most ~1.5 × idle_timeout
        every = min(1.0, max(0.05, self.limits.idle_timeout / 2))
        self._sweeper = asyncio.get_running_loop().call_later(every, self._sweep)

    def _sweep(self) -> None:
        self._sweeper = None
        cutoff = time.monotonic() - self.limits.idle_timeout
        for session in list(self.sessions):
            if session.last_active < cutoff and not session.pump.busy():
                log.info("%s: closing idle connection %s", self.component, session.peer)
                session.touch()  # closing takes a moment: do not ask again at the next sweep
                session.on_idle()
        if self.sessions:
            self._schedule()

    def close_all(self, kind: type[ConnectionSession] = ConnectionSession) -> None:
        """Close every live session of type ``kind``."""
        for session in list(self.sessions):
            if isinstance(session, kind):
                session.close()
