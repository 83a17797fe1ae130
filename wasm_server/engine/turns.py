"""Turns for guests that yielded at an epoch tick, shared by every kind of guest.

Core modules (``_lowlevel``) and components (``_component``) yield to the
event loop the same way; one queue for both keeps them fair to each other.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Turns:
    """Guests that yielded at an epoch tick resume one per loop iteration, so the loop
    polls for I/O between any two 10 ms CPU slices. (With a plain ``sleep(0)`` every
    yielded guest would run its next slice in the same iteration, and light requests
    would wait for all of them.)"""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiters: deque[asyncio.Future[None]] = deque()
        self.scheduled = False

    async def wait(self) -> None:
        """Resume once every guest that yielded before this one had its turn."""
        fut = self.loop.create_future()
        self.waiters.append(fut)
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self._release)
        await fut

    def _release(self) -> None:
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                break
        # callbacks added now run in the next iteration, after its I/O poll
        self.scheduled = bool(self.waiters)
        if self.scheduled:
            self.loop.call_soon(self._release)


_turns: Turns | None = None


async def take_turn() -> None:
    """Wait for this guest's next turn on the running loop."""
    global _turns
    loop = asyncio.get_running_loop()
    if _turns is None or _turns.loop is not loop:
        _turns = Turns(loop)
    await _turns.wait()
