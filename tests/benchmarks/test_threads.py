"""What docs/conformance.md (Threads) says the engine does with threads, held to it: when a
Wasmtime or wasmtime-py upgrade changes an answer, this fails and the doc needs the new one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import threads  # noqa: E402


def test_the_servers_engine_runs_atomics_but_refuses_shared_memories_and_thread_spawn() -> None:
    answers = {p.question: p.answer for p in threads.server_engine_probes()}
    assert answers["atomic instructions on an ordinary (unshared) memory"] == "works (returned 5)"
    assert answers["a module that defines `(memory 1 1 shared)`"] == (
        "refused: WasmtimeError: memory is shared which is not supported in the pooling allocator")
    assert answers["the host makes a `SharedMemory` (wasmtime-py)"].startswith(
        "refused: WasmtimeError: shared memory support is disabled for this engine")
    spawn = answers["a module importing `wasi` `thread-spawn` (a wasi-threads guest), linked as `up` links"]
    assert spawn.endswith("unknown import: `wasi::thread-spawn` has not been defined")


def test_two_threads_share_one_memory_and_atomic_increments_add_up() -> None:
    setup = threads.SharedSetup()
    # wasmtime-py's own API cannot pass the SharedMemory as an import (wasmtime-py#318)
    assert setup.import_error().startswith("refused: TypeError: incompatible types")
    atomic = setup.parallel("atomic", 20_000)
    assert atomic.counter == atomic.expected == 80_000
    woken, result, _ = setup.wait_notify()
    assert (woken, result) == (1, 0)  # the waiter in memory.atomic.wait32 was woken, not timed out


@pytest.mark.timeout(900)  # a cold zig cache builds wasi-libc first (minutes on the shared machine)
def test_a_c_guest_built_with_pthread_gets_eagain_from_pthread_create() -> None:
    guest = threads.c_guest()
    assert guest.imports == ()  # nothing but WASI: no shared memory, no thread-spawn
    assert guest.output == (*(f"pthread_create {i} failed: 6" for i in range(4)), "counter=0")  # 6 = EAGAIN
