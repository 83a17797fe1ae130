"""Run a coroutine eagerly, and hand it to a Task only if it has to wait.

Most requests finish without ever waiting (the guest answers at once), so
creating a Task per request would cost more than the request itself. This is
Python 3.12's eager task start, for 3.11: step the coroutine once inline; if
it suspends, a Task resumes it from exactly where it stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any


class _Continuation:
    """Awaitable that continues an already-started coroutine inside a Task."""

    __slots__ = ("coro", "first")

    def __init__(self, coro: Coroutine[Any, Any, None], first: Any) -> None:
        self.coro = coro
        self.first = first

    def __await__(self) -> Generator[Any, Any, None]:
        yielded = self.first  # what the coroutine is waiting on; the Task waits on it
        while True:
            try:
                sent = yield yielded
            except BaseException as exc:  # cancellation and errors go to the coroutine
                try:
                    yielded = self.coro.throw(exc)
                except StopIteration:
                    return
                continue
            try:
                yielded = self.coro.send(sent)
            except StopIteration:
                return


async def _resume(cont: _Continuation) -> None:
    await cont


def run_eager(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run ``coro`` until it first suspends; returns the Task finishing it, or None if done."""
    try:
        first = coro.send(None)
    except StopIteration:
        return None
    return loop.create_task(_resume(_Continuation(coro, first)))
