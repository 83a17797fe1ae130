"""The per-instance state host imports see: the engine's HostCall plus each capability's slot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from ..engine import HostCall
from ..protocol.response import ResponseSink

if TYPE_CHECKING:
    from .host import ComponentHost
    from .outbound_sockets import SocketTable
    from .stdio import GuestOutput

Headers = Sequence[tuple[bytes, bytes]]


class Waker(Protocol):
    """The session an instance serves (a UDP listener, a TCP or WebSocket connection):
    what ``wake_after`` asks for a TIMER event (capabilities/timers.py)."""

    def wake_after(self, delay: float | None) -> None:
        """Deliver one TIMER event after ``delay`` seconds (replacing any earlier request);
        None cancels."""


class GuestCall(HostCall):
    """One instance of a component, as its host imports see it (see lifecycle.py).

    Slots belong to one capability each: ``sink`` to streams.py (per request),
    ``sockets`` to outbound_sockets.py, ``output`` and ``stdout`` to stdio.py.
    """

    __slots__ = ("headers", "host", "output", "sink", "sockets", "stdout", "waker")

    def __init__(self, host: ComponentHost) -> None:
        super().__init__()
        self.host = host
        #: where a streamed response goes while an HTTP request is handled
        self.sink: ResponseSink | None = None
        #: headers of the HTTP request being handled (its x-request-id tags guest output)
        self.headers: Headers = ()
        self.sockets: SocketTable | None = None
        self.output: GuestOutput | None = None
        #: WAGI: stdout is the CGI response, collected here instead of logged
        self.stdout: bytearray | None = None
        #: the session this instance serves (None for HTTP instances): timers.py
        self.waker: Waker | None = None

    def begin_request(self, headers: Headers, sink: ResponseSink | None) -> None:
        """An HTTP request is about to be handled by this instance."""
        self.headers = headers
        self.sink = sink

    def after_event(self) -> None:
        """Per-request state ends (the engine calls this after every event)."""
        self.sink = None
        self.headers = ()
        if self.output is not None:
            self.output.end_event()

    def release(self) -> None:
        """The instance is discarded: every capability releases its state."""
        self.sink = None
        if self.waker is not None:
            self.waker.wake_after(None)  # a discarded instance is never woken
            self.waker = None
        states = (self.sockets, self.output)
        self.sockets = self.output = None
        for state in states:
            if state is not None:
                state.release()
