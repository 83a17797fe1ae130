"""Per-component admission: concurrency limit, bounded FIFO queue, refusal beyond it."""

from __future__ import annotations

import asyncio

import pytest

from wasm_server.errors import Overloaded
from wasm_server.executors.gate import Gate


async def test_requests_beyond_the_limit_wait_in_order_and_beyond_the_queue_are_refused() -> None:
    gate = Gate("c", limit=2, queue=2, wait=5.0)
    assert gate.try_enter() and gate.try_enter() and not gate.try_enter()
    order: list[int] = []

    async def waiter(i: int) -> None:
        await gate.enter()
        order.append(i)

    tasks = [asyncio.create_task(waiter(i)) for i in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(Overloaded, match="limit of 2 concurrent requests and 2 queued"):
        await gate.enter()
    gate.leave()
    gate.leave()
    await asyncio.gather(*tasks)
    assert order == [0, 1] and gate.active == 2  # the slots passed straight to the waiters
    gate.leave()
    gate.leave()
    assert gate.active == 0 and not gate.waiters


async def test_waiting_past_the_deadline_is_refused_and_leaves_the_queue() -> None:
    gate = Gate("c", limit=1, queue=5, wait=0.05)
    assert gate.try_enter()
    with pytest.raises(Overloaded, match="no free slot within"):
        await gate.enter()
    assert not gate.waiters
    gate.leave()
    assert gate.try_enter()  # the slot is free again, nothing leaked


async def test_a_cancelled_waiter_does_not_swallow_a_slot() -> None:
    gate = Gate("c", limit=1, queue=5, wait=5.0)
    assert gate.try_enter()
    task = asyncio.create_task(gate.enter())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    gate.leave()
    assert gate.active == 0 and not gate.waiters
