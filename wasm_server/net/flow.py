"""Backpressure for a guest session: when to stop reading from a peer.

Two independent reasons pause reading, as in uvicorn's ``FlowControl``:

- the guest is behind: too many events wait in the session's queue;
- the peer is not reading: the transport's write buffer went over its high
  water mark (asyncio calls ``pause_writing``/``resume_writing``).

Reading resumes only when neither holds, so one reason ending cannot
resume reading that the other still needs paused.
"""

from __future__ import annotations

from typing import Protocol


class StreamTransport(Protocol):
    """The part of an asyncio stream transport that flow control drives."""

    def pause_reading(self) -> None:
        """Stop calling ``data_received``."""

    def resume_reading(self) -> None:
        """Start calling ``data_received`` again."""

    def is_closing(self) -> bool:
        """Whether the transport is closing or closed."""

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Where the transport calls ``pause_writing``/``resume_writing``."""


class FlowControl:
    """Pauses and resumes reading on one transport for the two reasons above."""

    def __init__(self, transport: StreamTransport, high_water: int) -> None:
        self._transport = transport
        # asyncio's low water mark defaults to a quarter of the high one
        transport.set_write_buffer_limits(high=high_water)
        #: the guest has too many events queued
        self.guest_behind = False
        #: the peer is not reading what we write
        self.peer_behind = False
        self._paused = False

    @property
    def read_paused(self) -> bool:
        """Whether reading is paused now."""
        return self._paused

    def queue_full(self) -> None:
        """The event queue reached its bound."""
        self.guest_behind = True
        self._apply()

    def queue_drained(self) -> None:
        """The event queue fell back under its low mark."""
        self.guest_behind = False
        self._apply()

    def pause_writing(self) -> None:
        """The transport's write buffer went over its high water mark."""
        self.peer_behind = True
        self._apply()

    def resume_writing(self) -> None:
        """The transport's write buffer drained under its low water mark."""
        self.peer_behind = False
        self._apply()

    def _apply(self) -> None:
        want = self.guest_behind or self.peer_behind
        if want == self._paused or self._transport.is_closing():
            return
        self._paused = want
        if want:
            self._transport.pause_reading()
        else:
            self._transport.resume_reading()
