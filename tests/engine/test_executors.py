"""Native and WAGI executors on tiny WAT guests: results, faults, limits, reuse."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.guests import wat
from wasm_server.abi_codec import GuestRequest
from wasm_server.capabilities import ALL_IMPORTS, ComponentHost
from wasm_server.engine import Limits, Runtime
from wasm_server.errors import BadResponse, GuestError, GuestTimeout, LoadError
from wasm_server.executors import NativeExecutor, WagiExecutor

REQ = GuestRequest(b"GET", b"/x?y=1", b"/...", b"", b"/x", b"127.0.0.1:1")


class DictStore:
    """The smallest store honouring the KV contract the capability relies on."""

    eager = True

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    async def incr(self, key: bytes, delta: int) -> int:
        value = int(self.data.get(key, b"0")) + delta
        self.data[key] = str(value).encode()
        return value

    def deferred(self) -> DictStore:
        return self  # every write is done when it returns: nothing to wait for

    def commit_waiter(self, held: asyncio.Future[None] | None) -> asyncio.Future[None] | None:
        return held


class Stores:
    def __init__(self) -> None:
        self.default = DictStore()

    def get(self, label: str) -> DictStore:
        return self.default


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    rt = Runtime(None, ALL_IMPORTS)
    yield rt
    rt.close()


def host(stores: Stores | None = None) -> ComponentHost:
    return ComponentHost("t", logging.getLogger("wasm_server.guest"), {}, frozenset({"default"}), stores)


async def native(rt: Runtime, body: str = "", limits: Limits | None = None, reuse: int = 0,
                 stores: Stores | None = None, **kw: int) -> NativeExecutor:
    ex = NativeExecutor(rt, rt.load(wat.guest(body, **kw), "test.wasm"), host(stores), limits or Limits(), reuse)
    await ex.check()
    return ex


async def test_hello(runtime: Runtime) -> None:
    resp = await (await native(runtime)).handle(REQ)
    assert (resp.status, resp.body) == (200, b"hi")


async def test_unknown_abi_version_is_refused_at_load(runtime: Runtime) -> None:
    with pytest.raises(LoadError, match="ABI version 7"):
        await native(runtime, version=7)


async def test_plain_wasi_command_is_refused_with_a_hint(runtime: Runtime) -> None:
    ex = NativeExecutor(runtime, runtime.load(wat.WAGI_HELLO, "cmd.wasm"), host(), Limits())
    with pytest.raises(LoadError, match="wagi"):
        await ex.check()


async def test_not_wasm_is_a_load_error(runtime: Runtime) -> None:
    with pytest.raises(LoadError, match="not a WebAssembly module"):
        runtime.load(b"hello", "x.wasm")


async def test_trap_fails_the_request_and_the_next_one_succeeds(runtime: Runtime) -> None:
    bad = await native(runtime, wat.TRAP)
    with pytest.raises(GuestError, match="unreachable"):
        await bad.handle(REQ)
    assert (await (await native(runtime)).handle(REQ)).status == 200


async def test_infinite_loop_hits_the_deadline_while_others_answer(runtime: Runtime) -> None:
    looping = await native(runtime, wat.LOOP, Limits(timeout=0.5))
    ok = await native(runtime)
    started = time.monotonic()
    task = asyncio.ensure_future(looping.handle(REQ))
    answered = 0
    while not task.done():
        assert (await ok.handle(REQ)).status == 200
        answered += 1
        await asyncio.sleep(0.01)
    with pytest.raises(GuestTimeout):
        task.result()
    assert time.monotonic() - started < 1.5
    assert answered >= 10  # the loop kept serving while the guest spun


async def test_memory_limit_stops_growth(runtime: Runtime) -> None:
    ex = await native(runtime, wat.GROW, Limits(memory=4 * 1024 * 1024))
    with pytest.raises(GuestError):
        await ex.handle(REQ)


async def test_out_of_bounds_pointer_traps_cleanly(runtime: Runtime) -> None:
    ex = await native(runtime, wat.OOB_LOG)
    with pytest.raises(GuestError, match="out-of-bounds"):
        await ex.handle(REQ)


async def test_malformed_response_is_bad_response(runtime: Runtime) -> None:
    ex = await native(runtime, response=b"\x01\x02\x03")
    with pytest.raises(BadResponse):
        await ex.handle(REQ)


async def test_kv_incr_through_the_capability(runtime: Runtime) -> None:
    stores = Stores()
    ex = await native(runtime, wat.INCR, stores=stores)
    for _ in range(3):
        await ex.handle(REQ)
    assert stores.default.data[b"counter"] == b"3"


async def test_fresh_instance_per_request_by_default(runtime: Runtime) -> None:
    ex = await native(runtime)
    await ex.handle(REQ)
    assert ex._idle == []
    reused = await native(runtime, reuse=2)
    for _ in range(3):
        await reused.handle(REQ)
    assert len(reused._idle) == 1 and reused._idle[0][0].uses == 1  # replaced after 2 uses


async def test_wagi_status_and_body(runtime: Runtime) -> None:
    ex = WagiExecutor(runtime, runtime.load(wat.WAGI_HELLO, "w.wasm"), host(), Limits())
    await ex.check()
    resp = await ex.handle(REQ)
    assert resp.status == 201 and resp.body == b"hello wagi\n"
    assert (b"Content-Type", b"text/plain") in resp.headers


async def test_module_cache_skips_recompiling(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    wasm = wat.guest()
    first = Runtime(tmp_path, ALL_IMPORTS)
    first.load(wasm, "a")
    assert (first.cache.misses, first.cache.hits) == (1, 0)
    first.close()
    second = Runtime(tmp_path, ALL_IMPORTS)
    second.load(wasm, "a")
    assert (second.cache.misses, second.cache.hits) == (0, 1)
    second.close()


async def test_exhausted_instance_pool_is_overloaded_not_a_crash() -> None:
    from wasm_server.errors import Overloaded

    rt = Runtime(None, ALL_IMPORTS, pool_size=2)
    try:
        loaded = rt.load(wat.guest(wat.LOOP), "spin.wasm")
        ex = NativeExecutor(rt, loaded, host(), Limits(timeout=0.5))
        spinning = [asyncio.ensure_future(ex.handle(REQ)) for _ in range(2)]
        await asyncio.sleep(0.05)
        with pytest.raises(Overloaded, match="no free instance slot"):
            await ex.handle(REQ)
        for task in spinning:
            with pytest.raises(GuestTimeout):
                await task
        ok = NativeExecutor(rt, rt.load(wat.guest(), "ok.wasm"), host(), Limits())
        assert (await ok.handle(REQ)).status == 200  # slots come back
    finally:
        rt.close()


async def test_request_buffer_replaces_alloc(runtime: Runtime) -> None:
    # this guest's alloc traps: every request succeeding proves the host wrote into the buffer
    ex = await native(runtime, reuse=100, request_buffer=True)
    for _ in range(4):
        assert (await ex.handle(REQ)).status == 200
    inst = ex._idle[0][0]
    assert inst.reqbuf is not None and inst.reqbuf_cap >= 16 * 1024
    big = GuestRequest(b"POST", b"/", body=b"x" * 200_000)  # more than this guest's buffer can take
    with pytest.raises(GuestError, match="could not allocate"):
        await ex.handle(big)


async def test_pooled_instances_do_not_yield_just_because_they_waited(runtime: Runtime) -> None:
    # regression: the epoch deadline used to count from an instance's previous call,
    # so an instance that sat in the pool for a tick yielded at once on every reuse
    from wasm_server.engine import _lowlevel as ll

    ex = await native(runtime, reuse=1000)
    await ex.handle(REQ)
    await asyncio.sleep(0.05)  # several epoch ticks pass while the instance is idle
    driven = 0
    real_drive = ll.drive

    async def counting_drive(*args: Any, **kwargs: Any) -> int | None:
        nonlocal driven
        driven += 1  # a call not finished in its first poll (both implementations come here)
        return await real_drive(*args, **kwargs)

    ll.drive = counting_drive
    try:
        assert (await ex.handle(REQ)).status == 200
    finally:
        ll.drive = real_drive
    assert driven == 0  # every call finished in its first poll: no yield


async def test_idle_pooled_instances_are_evicted_oldest_first(runtime: Runtime) -> None:
    ex = await native(runtime, wat.SLEEP_300MS.replace("300", "20"), reuse=100)
    await asyncio.gather(*(ex.handle(REQ) for _ in range(3)))  # three instances at once, then pooled
    assert len(ex._idle) == 3
    ex._idle[0][0].idle_since -= 120  # the oldest sat idle for two minutes
    assert ex.evict_idle(older_than=60) == 1 and len(ex._idle) == 2
    assert ex.evict_idle(older_than=0) == 2 and ex._idle == []
    assert (await ex.handle(REQ)).status == 200  # a fresh instance serves the next request


async def test_the_idle_pool_is_capped_per_component(runtime: Runtime) -> None:
    ex = await native(runtime, wat.SLEEP_300MS.replace("300", "20"), Limits(idle_instances=2), reuse=100)
    await asyncio.gather(*(ex.handle(REQ) for _ in range(5)))  # five at once, only two are kept
    assert len(ex._idle) == 2
