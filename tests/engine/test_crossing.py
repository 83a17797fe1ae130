"""The crossing into Wasmtime: calls, host import trampolines, guest memory (engine/_lowlevel.py).

These run on whichever implementation the process has (the compiled ``_fastcall`` by
default, ctypes under ``WASM_SERVER_PURE_PYTHON=1``: scripts/test runs this file both ways),
and they must hold for both; the last tests check which one is chosen, and why.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any, cast

import pytest
import wasmtime

from wasm_server import PURE_ENV
from wasm_server.engine import GuestInstance, HostCall, HostImport, Limits, Runtime, WasiContext, fastcall
from wasm_server.engine import _lowlevel as ll
from wasm_server.errors import GuestError

ROOT = Path(__file__).resolve().parents[2]
PURE = os.environ.get(PURE_ENV, "") not in ("", "0")

GUEST = """
(module
  (import "t" "boom" (func $boom (result i32)))
  (import "t" "peek" (func $peek (param i32 i32) (result i32)))
  (import "t" "poke" (func $poke (param i32) (result i32)))
  (import "t" "wide" (func $wide (param i64 i32) (result i64)))
  (import "t" "none" (func $none (result i32)))
  (import "t" "wait" (func $wait (param i32) (result i32)))
  (import "t" "wait_fail" (func $wait_fail (result i32)))
  (import "t" "wait_none" (func $wait_none (result i32)))
  (import "t" "wait_oob" (func $wait_oob (result i32)))
  (import "t" "async_boom" (func $async_boom (result i32)))
  (import "t" "async_now" (func $async_now (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "abcd")
  (func (export "call_boom") (result i32) (call $boom))
  (func (export "peek_ok") (result i32) (call $peek (i32.const 0) (i32.const 4)))
  (func (export "peek_oob") (result i32) (call $peek (i32.const 65530) (i32.const 100)))
  (func (export "peek_negative") (result i32) (call $peek (i32.const -1) (i32.const 4)))
  (func (export "poke_oob") (result i32) (call $poke (i32.const 65534)))
  (func (export "wide") (result i32)
    (i32.wrap_i64 (i64.shr_s (call $wide (i64.const -5000000000) (i32.const -3)) (i64.const 1))))
  (func (export "none") (result i32) (call $none))
  (func (export "wait_twice") (result i32)
    (i32.add (call $wait (i32.const 20)) (call $wait (i32.const 1))))
  (func (export "wait_fail") (result i32) (call $wait_fail))
  (func (export "wait_none") (result i32) (call $wait_none))
  (func (export "wait_oob") (result i32) (call $wait_oob))
  (func (export "async_boom") (result i32) (call $async_boom))
  (func (export "async_now") (result i32) (i32.wrap_i64 (call $async_now)))
  (func (export "spin") (result i32) (loop $l (br $l)) (i32.const 0)))
"""

SEEN: list[object] = []


def boom(state: HostCall) -> int:
    raise ValueError("the host function failed")


def peek(state: HostCall, ptr: int, length: int) -> int:
    SEEN.append(state.read(ptr, length))
    return length


def poke(state: HostCall, ptr: int) -> int:
    state.write(ptr, b"xyz")
    return 0


def wide(state: HostCall, value: int, small: int) -> int:
    SEEN.append((value, small))
    return value * 2 + 2**64  # wraps to i64, as a ctypes field does


def none(state: HostCall) -> None:
    return None  # an i32 import must return an int: a trap


async def _later(value: int) -> int:
    await asyncio.sleep(0.01)  # really suspends the guest
    return value


def wait(state: HostCall, value: int) -> Awaitable[int]:
    SEEN.append(("wait", value))
    return _later(value * 2)


async def _fail_later() -> int:
    await asyncio.sleep(0.01)
    raise RuntimeError("the awaited host call failed")


def wait_fail(state: HostCall) -> Awaitable[int]:
    return _fail_later()


async def _none_later() -> None:
    await asyncio.sleep(0.01)


def wait_none(state: HostCall) -> Awaitable[int]:
    return cast(Awaitable[int], _none_later())  # a body breaking its contract


async def _read_later(state: HostCall) -> int:
    await asyncio.sleep(0.01)
    return len(state.read(1 << 20, 1))


def wait_oob(state: HostCall) -> Awaitable[int]:
    return _read_later(state)


def async_boom(state: HostCall) -> Awaitable[int]:
    raise KeyError("refused before suspending")


def async_now(state: HostCall) -> int:
    return 77  # an async import with its answer at once (a local SQLite read)


IMPORTS = [
    HostImport("boom", "", "i", boom, module="t"),
    HostImport("peek", "ii", "i", peek, module="t"),
    HostImport("poke", "i", "i", poke, module="t"),
    HostImport("wide", "li", "l", wide, module="t"),
    HostImport("none", "", "i", none, module="t"),
    HostImport("wait", "i", "i", wait, is_async=True, module="t"),
    HostImport("wait_fail", "", "i", wait_fail, is_async=True, module="t"),
    HostImport("wait_none", "", "i", wait_none, is_async=True, module="t"),
    HostImport("wait_oob", "", "i", wait_oob, is_async=True, module="t"),
    HostImport("async_boom", "", "i", async_boom, is_async=True, module="t"),
    HostImport("async_now", "", "l", async_now, is_async=True, module="t"),
]


@pytest.fixture
async def guest() -> AsyncIterator[GuestInstance]:
    rt = Runtime(None, IMPORTS, pool_size=0)
    SEEN.clear()
    inst = await GuestInstance.create(rt, rt.load(bytes(wasmtime.wat2wasm(GUEST)), "crossing.wat"), HostCall(),
                                      Limits(timeout=5), WasiContext())
    yield inst
    inst.release()
    rt.close()


def soon() -> float:
    return time.monotonic() + 5


async def test_a_sync_import_reads_guest_memory(guest: GuestInstance) -> None:
    assert await guest.call_i32(b"peek_ok", soon()) == 4
    assert SEEN == [b"abcd"]


@pytest.mark.parametrize("export", [b"peek_oob", b"peek_negative", b"poke_oob"])
async def test_out_of_bounds_guest_pointers_trap_with_a_clear_message(guest: GuestInstance, export: bytes) -> None:
    with pytest.raises(GuestError, match=r"t\.(peek|poke): guest passed out-of-bounds memory range"):
        await guest.call_i32(export, soon())


def test_out_of_bounds_reads_and_writes_from_the_host_are_guest_errors() -> None:
    async def run() -> None:
        rt = Runtime(None, IMPORTS, pool_size=0)
        inst = await GuestInstance.create(rt, rt.load(bytes(wasmtime.wat2wasm(GUEST)), "crossing.wat"), HostCall(),
                                          Limits(), WasiContext())
        try:
            state = inst.state
            assert state.read(0, 4) == b"abcd" and state.read(65536, 0) == b""
            for ptr, length in ((65533, 4), (-1, 1), (0, -1), (2**70, 1), (1, 2**64)):
                with pytest.raises(GuestError, match=f"out-of-bounds memory range {ptr}\\+{length} \\(size 65536\\)"):
                    state.read(ptr, length)
            with pytest.raises(GuestError, match=r"out-of-bounds memory range 65535\+2 \(size 65536\)"):
                state.write(65535, b"no")
            state.write(65534, b"ok")
            assert state.read(65534, 2) == b"ok"
        finally:
            inst.release()
            rt.close()

    asyncio.run(run())


async def test_a_host_function_raising_traps_the_guest_with_its_message(guest: GuestInstance) -> None:
    with pytest.raises(GuestError, match=r"t\.boom: the host function failed"):
        await guest.call_i32(b"call_boom", soon())


async def test_a_non_int_result_traps(guest: GuestInstance) -> None:
    with pytest.raises(GuestError, match=r"t\.none: .*NoneType"):
        await guest.call_i32(b"none", soon())


async def test_i64_arguments_and_results_cross_as_plain_ints(guest: GuestInstance) -> None:
    # -5e9 * 2 + 2**64 wraps to -1e10 in an i64; the guest halves it and returns the low 32 bits
    assert await guest.call_i32(b"wide", soon()) == ctypes.c_int32(-5_000_000_000).value
    assert SEEN == [(-5_000_000_000, -3)]


async def test_an_async_import_suspends_the_guest_and_resumes_it(guest: GuestInstance) -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    ticker = asyncio.ensure_future(tick())
    try:
        assert await guest.call_i32(b"wait_twice", soon()) == 42
    finally:
        ticker.cancel()
    assert SEEN == [("wait", 20), ("wait", 1)]
    assert ticks > 0  # the loop served others while the guest waited
    assert guest.state.pending is None


async def test_an_async_import_raising_traps_and_the_instance_stays_usable(guest: GuestInstance) -> None:
    # Wasmtime polls the continuation even after a trap: an invalid one would abort the process
    with pytest.raises(GuestError, match=r"t\.async_boom: 'refused before suspending'"):
        await guest.call_i32(b"async_boom", soon())
    assert await guest.call_i32(b"peek_ok", soon()) == 4


async def test_an_async_import_answering_at_once_does_not_suspend(guest: GuestInstance) -> None:
    real_drive, driven = ll.drive, 0

    async def counting(*args: Any, **kwargs: Any) -> int | None:
        nonlocal driven
        driven += 1
        return await real_drive(*args, **kwargs)

    ll.drive = counting
    try:
        assert await guest.call_i32(b"async_now", soon()) == 77
    finally:
        ll.drive = real_drive
    assert driven == 0


async def test_an_async_import_failing_after_it_suspended_fails_the_call_at_once(guest: GuestInstance) -> None:
    # regression: the continuation raised inside a callback (printed, ignored) and the guest
    # stayed suspended until its deadline
    start = time.monotonic()
    with pytest.raises(GuestError, match=r"t\.wait_fail: the awaited host call failed"):
        await guest.call_i32(b"wait_fail", soon())
    assert time.monotonic() - start < 4  # not the 5 s deadline


async def test_an_async_import_giving_no_int_fails_the_call(guest: GuestInstance) -> None:
    with pytest.raises(GuestError, match=r"t\.wait_none returned None, not an integer"):
        await guest.call_i32(b"wait_none", soon())


async def test_an_async_import_reading_out_of_bounds_after_it_suspended_fails_the_call(guest: GuestInstance) -> None:
    with pytest.raises(GuestError, match=r"t\.wait_oob: guest passed out-of-bounds memory range 1048576\+1"):
        await guest.call_i32(b"wait_oob", soon())


async def test_a_guest_past_its_deadline_is_stopped_and_its_instance_can_be_released(guest: GuestInstance) -> None:
    from wasm_server.errors import GuestTimeout

    with pytest.raises(GuestTimeout):
        await guest.call_i32(b"spin", time.monotonic() + 0.05)


# --- which implementation runs -------------------------------------------------------------

def _probe(env: dict[str, str], prelude: str = "") -> subprocess.CompletedProcess[str]:
    code = (f"{prelude}\nfrom wasm_server.engine import _lowlevel as ll\n"
            "print(ll.IMPLEMENTATION, ll.HostCall.__mro__[1].__name__)")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=True)


def _env(pure: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != PURE_ENV}
    if pure:
        env[PURE_ENV] = "1"
    return env


def test_this_process_runs_the_implementation_its_environment_asks_for() -> None:
    assert ll.IMPLEMENTATION == ("ctypes" if PURE else "compiled")


def test_the_compiled_crossing_is_built_and_used_by_default() -> None:
    assert fastcall.is_current(), "the compiled crossing is missing or stale: run scripts/setup"
    out = _probe(_env(pure=False))
    assert out.stdout.split() == ["compiled", "Crossing"] and out.stderr == "", out.stderr


def test_the_pure_python_environment_variable_forces_the_ctypes_path() -> None:
    out = _probe(_env(pure=True))
    assert out.stdout.split() == ["ctypes", "_CtypesSlots"] and out.stderr == "", out.stderr


def test_a_struct_layout_mismatch_falls_back_to_ctypes_with_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    wrong = {**fastcall.ctypes_layout(), "wasmtime_val_t": 40}
    assert not fastcall.usable(wrong) or PURE
    if not PURE:
        assert "wasmtime_val_t is 32 in C, 40 in ctypes" in caplog.text
        assert "host calls go through ctypes" in caplog.text
    # and a whole process with a wasmtime-py declaring another layout runs the ctypes path
    prelude = ("import ctypes, wasmtime._ffi as ffi\n"
               "class Other(ctypes.Structure):\n"
               "    _fields_ = [('callback', ctypes.c_void_p), ('extra', ctypes.c_void_p), ('env', ctypes.c_void_p),\n"
               "                ('finalizer', ctypes.c_void_p)]\n"
               "ffi.wasmtime_async_continuation_t = Other")
    out = _probe(_env(pure=False), prelude)
    assert out.stdout.split() == ["ctypes", "_CtypesSlots"]
    if not PURE:
        assert "the compiled call path is not used" in out.stderr
        assert "wasmtime_async_continuation_t.env is 8 in C, 16 in ctypes" in out.stderr


def test_a_stale_build_falls_back_to_ctypes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    changed = tmp_path / "_fastcall.c"
    changed.write_text(fastcall.SOURCE.read_text() + "\n/* edited */\n")
    monkeypatch.setattr(fastcall, "SOURCE", changed)
    assert not fastcall.is_current() and not fastcall.usable()
    if not PURE:  # (the environment forces ctypes before the build is looked at)
        assert "changed since it was compiled" in caplog.text
