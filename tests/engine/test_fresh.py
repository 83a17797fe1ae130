"""The fresh-instance path (engine/rawstore.py, GuestInstance.create): every instance starts
from the module (nothing a previous instance wrote is seen), the memory limit holds, a store
nobody released goes back to the pool at garbage collection, and exports are checked."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from pathlib import Path

import pytest
import wasmtime

from wasm_server.capabilities import ALL_IMPORTS, ComponentHost
from wasm_server.engine import GuestInstance, Limits, Runtime
from wasm_server.errors import GuestError

MODULE = """
(module
  (memory (export "memory") 1 100)
  (global $count (mut i32) (i32.const 0))
  (func (export "bump") (result i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (i32.store (i32.const 64) (i32.add (i32.load (i32.const 64)) (i32.const 1)))
    (i32.add (global.get $count) (i32.mul (i32.load (i32.const 64)) (i32.const 100))))
  (func (export "grow4") (result i32) (memory.grow (i32.const 4)))
  (func (export "boom") (result i32) unreachable))
"""


def host() -> ComponentHost:
    return ComponentHost("t", logging.getLogger("wasm_server.guest"), {}, frozenset())


@pytest.fixture
def rt(tmp_path: Path) -> object:
    runtime = Runtime(tmp_path / "cache", ALL_IMPORTS, pool_size=2)
    yield runtime
    runtime.close()


async def _new(rt: Runtime, wasm: bytes, limits: Limits | None = None) -> GuestInstance:
    h = host()
    return await GuestInstance.create(rt, rt.load(wasm, "m.wasm"), h.new_call(), limits or Limits(), h.wasi)


def test_each_instance_starts_from_the_module(rt: Runtime) -> None:
    async def go() -> None:
        wasm = bytes(wasmtime.wat2wasm(MODULE))
        for _ in range(3):
            inst = await _new(rt, wasm)
            try:
                # global and memory written by the previous instance are not seen here
                assert await inst.call_i32(b"bump", time.monotonic() + 5) == 101
                assert await inst.call_i32(b"bump", time.monotonic() + 5) == 202  # the same instance keeps them
            finally:
                inst.release()

    asyncio.run(go())


def test_memory_limit_holds(rt: Runtime) -> None:
    async def go() -> None:
        wasm = bytes(wasmtime.wat2wasm(MODULE))
        inst = await _new(rt, wasm, Limits(memory=2 * 65536))
        try:
            assert await inst.call_i32(b"grow4", time.monotonic() + 5) == -1  # 1 + 4 pages > 2
        finally:
            inst.release()
        inst = await _new(rt, wasm, Limits(memory=8 * 65536))
        try:
            assert await inst.call_i32(b"grow4", time.monotonic() + 5) == 1
        finally:
            inst.release()

    asyncio.run(go())


def test_a_trap_fails_the_call_and_release_is_idempotent(rt: Runtime) -> None:
    async def go() -> None:
        inst = await _new(rt, bytes(wasmtime.wat2wasm(MODULE)))
        with pytest.raises(GuestError, match="unreachable"):
            await inst.call_i32(b"boom", time.monotonic() + 5)
        inst.release()
        inst.release()

    asyncio.run(go())


def test_unreleased_stores_go_back_to_the_pool(rt: Runtime) -> None:
    async def go() -> None:
        wasm = bytes(wasmtime.wat2wasm(MODULE))
        for _ in range(6):  # the pool has 2 slots
            inst = await _new(rt, wasm)
            assert await inst.call_i32(b"bump", time.monotonic() + 5) == 101
            del inst
            gc.collect()

    asyncio.run(go())


def test_missing_and_mistyped_exports(rt: Runtime) -> None:
    async def go() -> None:
        inst = await _new(rt, bytes(wasmtime.wat2wasm(MODULE)))
        try:
            with pytest.raises(GuestError, match="missing export nope"):
                await inst.call_i32(b"nope", time.monotonic() + 5)
        finally:
            inst.release()
        no_memory = bytes(wasmtime.wat2wasm('(module (func (export "memory")))'))
        with pytest.raises(GuestError, match="exports no memory"):
            await _new(rt, no_memory)

    asyncio.run(go())


def test_exports_are_found_through_the_engines_context_address(rt: Runtime) -> None:
    # the engine keeps a Store's context as an address (rawstore.py); ll.export, used by the
    # snapshot and benchmarks/calls.py, took only a ctypes pointer and raised ArgumentError
    from wasm_server.engine import _lowlevel as ll

    async def go() -> None:
        inst = await _new(rt, bytes(wasmtime.wat2wasm(MODULE)))
        try:
            assert isinstance(inst.state.ctx, int)
            assert ll.export(inst.state.ctx, inst.inst, b"bump") is not None
            assert ll.export(inst.state.ctx, inst.inst, b"absent") is None
        finally:
            inst.release()

    asyncio.run(go())
