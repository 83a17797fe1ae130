"""Pre-initialised instances (engine/snapshot.py, engine/preinit.py): the image starts where
``_initialize`` left memory and globals, ``_initialize`` does not run again, instances stay
isolated, and modules that cannot be snapshotted faithfully are refused with a reason."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
import wasmtime

from wasm_server.capabilities import ALL_IMPORTS, ComponentHost
from wasm_server.engine import GuestInstance, Limits, Runtime
from wasm_server.engine import wasmbin as wb
from wasm_server.engine.preinit import PreinitRefused, preinitialize
from wasm_server.engine.snapshot import instrument, nonzero_runs
from wasm_server.executors import NativeExecutor

REACTOR = """
(module
  (import "wasm_server" "kv_incr" (func $kv_incr (param i32 i32 i32 i32 i64 i32) (result i32)))
  (memory (export "memory") 1 100)
  (global $inits (mut i32) (i32.const 0))
  (global $warm (mut i32) (i32.const 0))
  (global $big (mut i64) (i64.const 0))
  (global $f (mut f64) (f64.const 0))
  (global $k i32 (i32.const 99))
  (data (i32.const 16) "abc")
  (func (export "_initialize")
    (global.set $inits (i32.add (global.get $inits) (i32.const 1)))
    (drop (memory.grow (i32.const 1)))
    (i32.store (i32.const 70000) (i32.const 7))
    (i32.store8 (i32.const 17) (i32.const 0x5a))
    (global.set $big (i64.const -5000000000))
    (global.set $f (f64.const 1.5))
    CAPABILITY)
  (func (export "wasm_server_init") (global.set $warm (i32.add (global.get $warm) (i32.const 1))))
  (func (export "inits") (result i32) (global.get $inits))
  (func (export "warm") (result i32) (global.get $warm))
  (func (export "pages") (result i32) (memory.size))
  (func (export "big_high") (result i32) (i32.wrap_i64 (i64.shr_s (global.get $big) (i64.const 32))))
  (func (export "f_times_2") (result i32) (i32.trunc_f64_s (f64.mul (global.get $f) (f64.const 2))))
  (func (export "k") (result i32) (global.get $k))
  (func (export "byte17") (result i32) (i32.load8_u (i32.const 17)))
  (func (export "bump") (result i32)
    (i32.store (i32.const 70000) (i32.add (i32.load (i32.const 70000)) (i32.const 1)))
    (i32.load (i32.const 70000)))
  (global $rb (mut i32) (i32.const 0))
  (global $rb_calls (mut i32) (i32.const 0))
  (func (export "wasm_server_request_buffer") (param i32) (result i32)
    (global.set $rb_calls (i32.add (global.get $rb_calls) (i32.const 1)))
    (if (i32.eqz (global.get $rb)) (then (global.set $rb (i32.const 8192))))
    (global.get $rb))
  (func (export "rb_calls") (result i32) (global.get $rb_calls))
  (func (export "wasm_server_abi_version") (result i32) (i32.const 1))
  (func (export "wasm_server_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "wasm_server_handle") (param i32 i32 i32) (result i64) (i64.const -1)))
"""
KV_CALL = "(drop (call $kv_incr (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1) (i64.const 1) (i32.const 0)))"


def reactor(capability: bool = False, extra: str = "") -> bytes:
    text = REACTOR.replace("CAPABILITY", KV_CALL if capability else "")
    if extra:
        text = text.rstrip()[:-1] + extra + ")"
    return bytes(wasmtime.wat2wasm(text))


def host() -> ComponentHost:
    return ComponentHost("t", logging.getLogger("wasm_server.guest"), {}, frozenset())


async def _call(rt: Runtime, loaded: object, *names: str) -> list[int]:
    h = host()
    inst = await GuestInstance.create(rt, loaded, h.new_call(), Limits(), h.wasi)  # type: ignore[arg-type]
    try:
        return [await inst.call_i32(n.encode(), time.monotonic() + 5) for n in names]
    finally:
        inst.release()


@pytest.fixture
def rt(tmp_path: Path) -> object:
    runtime = Runtime(tmp_path / "cache", ALL_IMPORTS, pool_size=8)
    yield runtime
    runtime.close()


def test_image_starts_where_initialize_left_it(rt: Runtime) -> None:
    async def go() -> None:
        loaded = await preinitialize(rt, reactor(), "r.wasm", Limits(), host().wasi)
        assert "_initialize" not in loaded.exports and "wasm_server_init" not in loaded.exports
        # _initialize and wasm_server_init ran once, in the snapshot, not again per instance
        got = await _call(rt, loaded, "inits", "warm", "pages", "big_high", "f_times_2", "k", "byte17")
        assert got == [1, 1, 2, -2, 3, 99, 0x5A]
        # the request buffer was asked for once, in the snapshot; a fresh instance knows it
        assert loaded.request_buffer == (8192, 16 * 1024)
        assert await _call(rt, loaded, "rb_calls") == [1]
        h = host()
        inst = await GuestInstance.create(rt, loaded, h.new_call(), Limits(), h.wasi)
        assert (inst.reqbuf_ptr, inst.reqbuf_cap) == (8192, 16 * 1024)
        inst.release()
        # each instance starts from the image: a change in one is not seen by the next
        assert await _call(rt, loaded, "bump") == [8]
        assert await _call(rt, loaded, "bump") == [8]

    asyncio.run(go())


def test_without_preinit_initialize_runs_per_instance(rt: Runtime) -> None:
    async def go() -> None:
        loaded = rt.load(reactor(), "r.wasm")
        assert await _call(rt, loaded, "inits", "warm", "byte17") == [1, 0, 0x5A]

    asyncio.run(go())


def test_image_is_cached_under_the_original_key(rt: Runtime) -> None:
    async def go() -> None:
        first = await preinitialize(rt, reactor(), "r.wasm", Limits(), host().wasi)
        misses = rt.cache.misses
        hits = rt.cache.hits
        again = await preinitialize(rt, reactor(), "r.wasm", Limits(), host().wasi)
        assert (rt.cache.misses, rt.cache.hits) == (misses, hits + 1)
        # the request buffer the snapshot left is known on a cache hit too
        assert again.request_buffer == first.request_buffer == (8192, 16 * 1024)

    asyncio.run(go())


def test_start_up_calling_a_capability_is_refused(rt: Runtime) -> None:
    async def go() -> None:
        with pytest.raises(PreinitRefused, match="without the capabilities"):
            await preinitialize(rt, reactor(capability=True), "r.wasm", Limits(), host().wasi)

    asyncio.run(go())


@pytest.mark.parametrize(("extra", "reason"), [
    ('(data "passive")', "passive data"),
    ("(func $s) (start $s)", "start function"),
])
def test_unsupported_modules_are_refused(extra: str, reason: str) -> None:
    with pytest.raises(PreinitRefused, match=reason):
        instrument(reactor(extra=extra))


def test_a_command_is_refused() -> None:
    wasm = bytes(wasmtime.wat2wasm('(module (memory (export "memory") 1) (func (export "_start")))'))
    with pytest.raises(PreinitRefused, match="_initialize"):
        instrument(wasm)


def test_executor_falls_back_when_refused(rt: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    async def go() -> tuple[bool, bool]:
        ok = NativeExecutor(rt, rt.load(reactor(), "a.wasm"), host(), Limits(), preinit=True, wasm=reactor())
        await ok.check()
        wasm = reactor(capability=True)
        refused = NativeExecutor(rt, rt.load(wasm, "b.wasm"), host(), Limits(), preinit=True, wasm=wasm)
        await refused.check()
        return ok.preinitialized, refused.preinitialized

    with caplog.at_level(logging.WARNING, logger="wasm_server"):
        assert asyncio.run(go()) == (True, False)
    assert "b.wasm: not pre-initialised" in caplog.text


def test_sections_round_trip_and_leb() -> None:
    wasm = reactor()
    assert wb.parse(wasm).encode() == wasm
    for n in (0, 1, 63, 64, -1, -64, -65, 2**31 - 1, -(2**31), 2**40):
        r = wb.Reader(wb.sleb(n))
        raw = r.uleb()
        bits = r.pos * 7
        assert (raw - (1 << bits) if raw & (1 << (bits - 1)) else raw) == n
    assert wb.Reader(wb.uleb(624485)).uleb() == 624485


def test_nonzero_runs_trim_and_skip_zero_pages() -> None:
    mem = bytearray(5 * 4096)
    mem[10:12] = b"ab"
    mem[3 * 4096 + 5] = 1
    assert nonzero_runs(bytes(mem)) == [(10, b"ab"), (3 * 4096 + 5, b"\x01")]
