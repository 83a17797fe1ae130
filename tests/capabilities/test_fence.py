"""The commit fence: imports that tell the outside world something wait for the KV group commit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import cast

import pytest

from wasm_server.capabilities import ALL_IMPORTS
from wasm_server.capabilities.call import GuestCall
from wasm_server.capabilities.fence import OUTWARD, after_commit, fenced
from wasm_server.capabilities.host import ComponentHost
from wasm_server.engine import HostImport
from wasm_server.engine._lowlevel import settle
from wasm_server.errors import ErrorCode, GuestError
from wasm_server.kv import KVError


def _send_import(sent: list[int]) -> HostImport:
    def publish(state: GuestCall, channel: int, *rest: int) -> int:
        sent.append(channel)
        return 0

    [spec] = fenced([HostImport("publish", "iiii", "i", publish)])
    return spec


def _call() -> GuestCall:
    return GuestCall(cast(ComponentHost, None))


def test_every_outward_import_is_fenced_and_async() -> None:
    names = {spec.name for spec in ALL_IMPORTS}
    assert OUTWARD <= names
    for spec in ALL_IMPORTS:
        if spec.name in OUTWARD:
            assert spec.is_async, spec.name
    assert not {"kv_get", "kv_set", "log", "result_read", "conn_send", "ws_send"} & OUTWARD


async def test_connection_sends_are_queued_behind_the_commit_in_order() -> None:
    state = _call()
    out: list[bytes] = []
    assert after_commit(state, lambda: out.append(b"now"), lambda: out.append(b"drop")) is None  # no fence
    fence: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    state.fence = fence
    assert after_commit(state, lambda: out.append(b"a"), lambda: out.append(b"drop")) == 0
    assert after_commit(state, lambda: out.append(b"b"), lambda: out.append(b"drop")) == 0
    assert out == []  # the guest went on; nothing left yet
    fence.set_result(None)
    await asyncio.sleep(0)
    assert out == [b"a", b"b"]


async def test_connection_sends_of_a_failed_commit_are_dropped() -> None:
    state = _call()
    out: list[bytes] = []
    fence: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    state.fence = fence
    assert after_commit(state, lambda: out.append(b"ack"), lambda: out.append(b"closed")) == 0
    fence.set_exception(KVError(ErrorCode.IO, "commit failed"))
    await asyncio.sleep(0)
    assert out == [b"closed"]
    # later sends of the same call get IO at once
    assert after_commit(state, lambda: out.append(b"ack"), lambda: out.append(b"closed")) == ErrorCode.IO


async def test_without_a_fence_the_import_runs_at_once() -> None:
    sent: list[int] = []
    state = _call()
    assert _send_import(sent).fn(state, 7, 0, 0) == 0
    assert sent == [7]


async def test_a_pending_fence_holds_the_send_until_the_commit() -> None:
    sent: list[int] = []
    state = _call()
    state.fence = asyncio.get_running_loop().create_future()
    ret = _send_import(sent).fn(state, 7, 0, 0)
    assert isinstance(ret, Awaitable)
    task = asyncio.ensure_future(ret)
    await asyncio.sleep(0)
    assert sent == []  # nothing leaves before the commit
    state.fence.set_result(None)
    assert await task == 0
    assert sent == [7] and state.fence is None


async def test_a_failed_commit_stops_the_send_and_the_call() -> None:
    sent: list[int] = []
    state = _call()
    fence: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    state.fence = fence
    ret = _send_import(sent).fn(state, 7, 0, 0)
    assert isinstance(ret, Awaitable)
    fence.set_exception(KVError(ErrorCode.IO, "commit failed"))
    assert await ret == ErrorCode.IO
    assert sent == [] and b"commit failed" in state.result
    # the fence stays: the end of the call fails too, so nothing else is acknowledged
    with pytest.raises(GuestError, match="not committed: commit failed"):
        await settle(state)
    assert state.fence is None


async def test_settle_waits_for_a_successful_commit() -> None:
    state = _call()
    fence: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    state.fence = fence
    asyncio.get_running_loop().call_soon(fence.set_result, None)
    await settle(state)
    assert fence.done() and state.fence is None
