"""Per-component admission: a concurrency limit with a bounded FIFO queue.

At most ``limit`` requests of a component run at once; up to ``queue`` more
wait in arrival order; anything beyond is refused at once (503 with
``Retry-After``), so overload never turns into unbounded memory growth. A
request that waits longer than its deadline is refused the same way.
"""

from __future__ import annotations

import asyncio
from collections import deque

from ..errors import Overloaded


class Gate:
    """Admission for one component (see module docstring)."""

    __slots__ = ("active", "limit", "name", "queue", "wait", "waiters")

    def __init__(self, name: str, limit: int, queue: int, wait: float) -> None:
        self.name = name
        self.limit = limit
        self.queue = queue
        #: longest a request waits in line (the component's request deadline)
        self.wait = wait
        self.active = 0
        self.waiters: deque[asyncio.Future[None]] = deque()

    def try_enter(self) -> bool:
        """Take a slot if one is free and nobody is queued before us."""
        if self.active < self.limit and not self.waiters:
            self.active += 1
            return True
        return False

    async def enter(self) -> None:
        """Take a slot, waiting in line up to ``self.wait`` seconds; raises Overloaded."""
        timeout = self.wait
        if self.try_enter():
            return
        if len(self.waiters) >= self.queue:
            raise Overloaded(f"component '{self.name}' is at its limit of {self.limit} concurrent requests "
                             f"and {self.queue} queued")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(fut)
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            self._give_up(fut)
            raise Overloaded(f"component '{self.name}': no free slot within {timeout:.1f}s") from None
        except BaseException:
            self._give_up(fut)
            raise

    def _give_up(self, fut: asyncio.Future[None]) -> None:
        if fut.done() and not fut.cancelled():
            self.leave()  # the slot was handed over just as we gave up: pass it on
        else:
            fut.cancel()
            try:
                self.waiters.remove(fut)
            except ValueError:
                pass

    def leave(self) -> None:
        """Give the slot back, or hand it straight to the first one waiting."""
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_result(None)  # the slot passes on: ``active`` is unchanged
                return
        self.active -= 1
