"""Threads in wasm-server's engine, measured: what a guest gets today (docs/conformance.md, Threads).

    .venv/bin/python benchmarks/threads.py [--iterations N]

1. On the server's own engine (:func:`wasm_server.app.engine_for`, as ``up`` makes it):
   atomics on an ordinary memory, a module that defines a shared memory, a host-made
   ``SharedMemory``, and a module importing ``wasi``/``thread-spawn`` (what a wasi-threads
   guest imports), each with what Wasmtime answers.
2. On an experimental engine that differs from the server's only where threads need it
   (``Config.shared_memory = True``, no pooling allocator): two OS threads, each with its
   own Store and instance of one module, share one memory; N atomic and N plain increments
   each, the final counters and the wall time against one thread doing 2N; ``memory.atomic.wait32``
   in one thread woken by ``memory.atomic.notify`` from another. wasmtime-py 50 cannot pass a
   ``SharedMemory`` as an import (its ``_as_extern`` wraps the pointer twice:
   bytecodealliance/wasmtime-py#318), so the import is defined through ``wasmtime_linker_define``.

3. A C guest (``guests/pthreads/pthreads.c``: four pthreads adding to one atomic counter)
   built with zig (``python -m ziglang cc -target wasm32-wasi -pthread``, as ``wasm-server cc``
   uses zig) and run as a WASI command on the server's engine: what ``pthread_create`` returns.

4. ``--rust-guest``: ``wasm-server cargo-build`` of ``guests/spawn-probe`` (a cdylib calling
   ``std::thread::Builder::spawn``) and what the build says.

Prints a Markdown report; nothing is written.
"""

from __future__ import annotations

import argparse
import ctypes
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import wasmtime
from wasmtime import _ffi as ffi

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wast import reason_of, server_runtime

from wasm_server.errors import LoadError

COUNTER_WAT = """(module
  (import "env" "memory" (memory 1 1 shared))
  (func (export "atomic") (param $n i32)
    (loop $l
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "plain") (param $n i32) (result i32) (local $v i32) (local $sum i32)
    ;; the loaded value has a second use, so Cranelift cannot fuse load-add-store into one
    ;; x86 instruction: a separate load and store, as ordinary compiled code has
    (loop $l
      (local.set $v (i32.load (i32.const 4)))
      (i32.store (i32.const 4) (i32.add (local.get $v) (i32.const 1)))
      (local.set $sum (i32.add (local.get $sum) (local.get $v)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
  ;; wait at most 10 s (returns 0 woken, 1 value not 0, 2 timed out)
  (func (export "wait") (result i32) (memory.atomic.wait32 (i32.const 8) (i32.const 0) (i64.const 10000000000)))
  (func (export "notify") (result i32) (memory.atomic.notify (i32.const 8) (i32.const 1)))
  (func (export "load") (param i32) (result i32) (i32.atomic.load (local.get 0))))"""

UNSHARED_ATOMICS_WAT = """(module (memory 1)
  (func (export "f") (result i32) (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 5)))
    (i32.atomic.load (i32.const 0))))"""

THREAD_SPAWN_WAT = """(module
  (import "wasi" "thread-spawn" (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "wasi_thread_start") (param i32 i32)))"""


@dataclass(frozen=True, slots=True)
class Probe:
    """One question put to an engine and its answer."""

    question: str
    answer: str


def _answer(run: Callable[[], object]) -> str:
    try:
        result = run()
    except (wasmtime.WasmtimeError, wasmtime.Trap, LoadError, TypeError) as exc:
        text = exc.message if isinstance(exc, wasmtime.Trap) else str(exc)
        return f"refused: {type(exc).__name__}: {reason_of(text)}"
    return f"works{f' (returned {result})' if result is not None else ''}"


def server_engine_probes() -> list[Probe]:
    """What the server's own engine says to the pieces a threaded guest needs."""
    runtime = server_runtime()
    engine = runtime.engine
    try:
        def unshared_atomics() -> object:
            store = wasmtime.Store(engine)
            store.set_epoch_deadline(100)
            inst = wasmtime.Instance(store, wasmtime.Module(engine, UNSHARED_ATOMICS_WAT), [])
            func = inst.exports(store)["f"]
            assert isinstance(func, wasmtime.Func)
            return func(store)

        def shared_module() -> object:
            module = wasmtime.Module(engine, "(module (memory 1 1 shared))")
            store = wasmtime.Store(engine)
            return wasmtime.Instance(store, module, []) and None

        def host_shared_memory() -> object:
            return wasmtime.SharedMemory(engine, wasmtime.MemoryType(wasmtime.Limits(1, 1), shared=True)) and None

        def thread_spawn() -> object:
            return runtime.load(bytes(wasmtime.wat2wasm(THREAD_SPAWN_WAT)), "thread-spawn.wasm") and None

        return [
            Probe("atomic instructions on an ordinary (unshared) memory", _answer(unshared_atomics)),
            Probe("a module that defines `(memory 1 1 shared)`", _answer(shared_module)),
            Probe("the host makes a `SharedMemory` (wasmtime-py)", _answer(host_shared_memory)),
            Probe("a module importing `wasi` `thread-spawn` (a wasi-threads guest), linked as `up` links",
                  _answer(thread_spawn)),
        ]
    finally:
        runtime.close()


@dataclass(frozen=True, slots=True)
class Parallel:
    """Two threads against one, on one shared memory."""

    kind: str
    iterations: int
    one_thread_seconds: float
    two_threads_seconds: float
    counter: int
    expected: int


class SharedSetup:
    """An engine with shared memories on and no pooling allocator, one SharedMemory, one module."""

    def __init__(self) -> None:
        config = wasmtime.Config()
        config.epoch_interruption = True  # as the server's, so the deadline below bounds every call
        config.cranelift_opt_level = "speed"
        config.shared_memory = True
        self.engine = wasmtime.Engine(config)
        self.memory = wasmtime.SharedMemory(self.engine, wasmtime.MemoryType(wasmtime.Limits(1, 1), shared=True))
        self.module = wasmtime.Module(self.engine, COUNTER_WAT)

    def import_error(self) -> str:
        """What wasmtime-py's own API says when the shared memory is passed as an import."""
        store = wasmtime.Store(self.engine)
        return _answer(lambda: wasmtime.Instance(store, self.module, [self.memory]))

    def instance(self) -> tuple[wasmtime.Store, dict[str, wasmtime.Func]]:
        """A Store of its own (Stores are not shared between threads) and the instance's functions."""
        store = wasmtime.Store(self.engine)
        store.set_epoch_deadline(1 << 40)  # no ticker here: the deadline never comes
        linker = wasmtime.Linker(self.engine)
        extern = ffi.wasmtime_extern_t(ffi.WASMTIME_EXTERN_SHAREDMEMORY,
                                       ffi.wasmtime_extern_union(sharedmemory=self.memory.ptr()))
        error = ffi.wasmtime_linker_define(linker.ptr(), store._context(), b"env", 3, b"memory", 6,
                                           ctypes.byref(extern))
        if error:
            raise wasmtime.WasmtimeError._from_ptr(error)
        exports = linker.instantiate(store, self.module).exports(store)
        funcs = {name: f for name in ("atomic", "plain", "wait", "notify", "load")
                 if isinstance(f := exports[name], wasmtime.Func)}
        return store, funcs

    def parallel(self, kind: str, iterations: int) -> Parallel:
        """``kind`` ("atomic"/"plain") increments: one thread 2N, then two threads N each."""
        address = 0 if kind == "atomic" else 4
        store, funcs = self.instance()
        before = funcs["load"](store, address)
        start = time.perf_counter()
        funcs[kind](store, 2 * iterations)
        one = time.perf_counter() - start
        ready = threading.Barrier(3)

        def worker() -> None:
            own_store, own = self.instance()
            ready.wait(timeout=60)
            own[kind](own_store, iterations)

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(2)]
        for t in threads:
            t.start()
        ready.wait(timeout=60)
        start = time.perf_counter()
        for t in threads:
            t.join()
        two = time.perf_counter() - start
        counter = funcs["load"](store, address) - before
        return Parallel(kind, iterations, one, two, counter, 4 * iterations)

    def wait_notify(self) -> tuple[int, int, float]:
        """(waiters woken, what wait returned, µs from notify to the waiter running again)."""
        seen: dict[str, float] = {}

        def waiter() -> None:
            store, funcs = self.instance()
            seen["result"] = funcs["wait"](store)
            seen["woke"] = time.perf_counter()

        thread = threading.Thread(target=waiter, daemon=True)
        thread.start()
        store, funcs = self.instance()
        woken, start = 0, time.perf_counter()
        for _ in range(500):  # until the waiter is blocked in memory.atomic.wait32 and is woken
            time.sleep(0.01)
            start = time.perf_counter()
            woken = funcs["notify"](store)
            if woken:
                break
        thread.join(15)
        if "result" not in seen:
            raise RuntimeError("the waiter did not return from memory.atomic.wait32")
        return woken, int(seen["result"]), (seen["woke"] - start) * 1e6


PTHREADS_C = Path(__file__).resolve().parent / "guests" / "pthreads" / "pthreads.c"


@dataclass(frozen=True, slots=True)
class CGuest:
    """The pthreads guest: its non-WASI imports, what it printed, how long zig took."""

    imports: tuple[str, ...]
    output: tuple[str, ...]
    build_seconds: float


def c_guest(flags: Sequence[str] = ("-target", "wasm32-wasi", "-pthread")) -> CGuest:
    """Build guests/pthreads with zig and run its ``_start`` on the server's engine with WASI."""
    with tempfile.TemporaryDirectory(prefix="pthreads-") as tmp:
        out = Path(tmp) / "pthreads.wasm"
        print(f"building {PTHREADS_C.name} with zig cc {' '.join(flags)} (the first build fills zig's cache)",
              file=sys.stderr)
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "ziglang", "cc", *flags, "-O2", str(PTHREADS_C), "-o", str(out)],
                              capture_output=True, text=True, check=False)
        took = time.monotonic() - start
        if proc.returncode != 0:
            raise RuntimeError(f"zig cc failed: {proc.stderr.strip()} (scripts/setup installs ziglang)")
        print(f"built {out.name} in {took:.1f} s", file=sys.stderr)
        runtime = server_runtime()
        try:
            module = wasmtime.Module(runtime.engine, out.read_bytes())
            imports = tuple(f"{i.module}.{i.name}" for i in module.imports if i.module != "wasi_snapshot_preview1")
            store = wasmtime.Store(runtime.engine)
            store.set_epoch_deadline(1000)  # 10 s on the server's ticker
            wasi = wasmtime.WasiConfig()
            stdout = Path(tmp) / "stdout"
            wasi.stdout_file = str(stdout)
            store.set_wasi(wasi)
            linker = wasmtime.Linker(runtime.engine)
            linker.define_wasi()
            start_func = linker.instantiate(store, module).exports(store)["_start"]
            assert isinstance(start_func, wasmtime.Func)
            try:
                start_func(store)
            except wasmtime.ExitTrap as exc:
                if exc.code != 0:
                    raise
            return CGuest(imports, tuple(stdout.read_text().splitlines()), took)
        finally:
            runtime.close()


SPAWN_PROBE = Path(__file__).resolve().parent / "guests" / "spawn-probe"


def rust_guest() -> tuple[int, list[str]]:
    """``wasm-server cargo-build`` the spawn probe: its exit status and the linker's errors."""
    with tempfile.TemporaryDirectory(prefix="spawn-probe-") as tmp:
        proc = subprocess.run([sys.executable, "-m", "wasm_server.cli.main", "cargo-build", "-o",
                               str(Path(tmp) / "probe.wasm"), "--manifest-path", str(SPAWN_PROBE / "Cargo.toml")],
                              capture_output=True, text=True, check=False)
    errors = [line.strip() for line in (proc.stdout + proc.stderr).splitlines() if "error:" in line]
    return proc.returncode, errors


def main(argv: Sequence[str] | None = None) -> int:
    """Run the probes and the measurements; print Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--iterations", type=int, default=30_000_000, help="increments per thread")
    parser.add_argument("--no-c-guest", action="store_true", help="skip building and running the C guest")
    parser.add_argument("--rust-guest", action="store_true", help="also build the Rust spawn probe (minutes)")
    args = parser.parse_args(argv)
    print(f"wasmtime-py {version('wasmtime')}\n")
    print("| on the server's engine | answer |\n|---|---|")
    for probe in server_engine_probes():
        print(f"| {probe.question} | {probe.answer.replace('|', '/')} |")
    setup = SharedSetup()
    print(f"\nExperimental engine (shared_memory on, no pooling): passing the SharedMemory to "
          f"`wasmtime.Instance`: {setup.import_error()}\n")
    print("| increments | one thread, 2N | two threads, N each | counter | expected |\n|---|---|---|---|---|")
    for kind in ("atomic", "plain"):
        p = setup.parallel(kind, args.iterations)
        print(f"| {kind} (N = {p.iterations:,}) | {p.one_thread_seconds * 1000:.0f} ms | "
              f"{p.two_threads_seconds * 1000:.0f} ms | {p.counter:,} | {p.expected:,} |")
    woken, result, micros = setup.wait_notify()
    print(f"\nwait/notify: notify woke {woken} waiter(s); wait32 returned {result} (0 = woken); "
          f"the waiter ran again {micros:.0f} µs after notify")
    if not args.no_c_guest:
        guest = c_guest()
        print(f"\nC guest (zig cc -target wasm32-wasi -pthread, built in {guest.build_seconds:.1f} s): imports "
              f"{', '.join(guest.imports) or 'nothing but WASI'}; it printed: " + "; ".join(guest.output))
    if args.rust_guest:
        status, errors = rust_guest()
        print(f"\nRust guest (wasm-server cargo-build guests/spawn-probe): exit {status}")
        for line in errors:
            print(f"    {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
