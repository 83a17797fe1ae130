"""The process-wide Wasmtime engine: config, linker, epoch ticker, module loading."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

from ..errors import LoadError
from .cache import ModuleCache
from .imports import HostImport, define_imports

#: how often the epoch advances; a CPU-bound guest yields to the loop this often.
#: (Measured on hello: 5 ms, 10 ms and no ticker at all give the same throughput.)
TICK_SECONDS = 0.01
#: instance slots of the pooling allocator (live instances at once, per process)
DEFAULT_POOL_SIZE = 1000
#: bytes of each memory slot and fiber stack kept mapped between uses, so a
#: fresh instance does not page-fault its first pages in again
KEEP_RESIDENT = 64 * 1024


def _use_pooling(config: wasmtime.Config, slots: int, max_memory: int) -> None:
    """Pooling allocator: memories, tables and fiber stacks come from
    preallocated slots, so a fresh instance per request costs about half of
    mmap/munmap'ing them each time (measured: 143 µs → 70 µs per request)."""
    p = ffi.wasmtime_pooling_allocation_config_new()
    ffi.wasmtime_pooling_allocation_config_total_memories_set(p, slots)
    ffi.wasmtime_pooling_allocation_config_total_tables_set(p, slots)
    ffi.wasmtime_pooling_allocation_config_total_stacks_set(p, slots)
    ffi.wasmtime_pooling_allocation_config_total_core_instances_set(p, slots)
    ffi.wasmtime_pooling_allocation_config_max_memory_size_set(p, max_memory)
    ffi.wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(p, KEEP_RESIDENT)
    ffi.wasmtime_pooling_allocation_config_async_stack_keep_resident_set(p, KEEP_RESIDENT)
    ffi.wasmtime_pooling_allocation_strategy_set(config.ptr(), p)
    ffi.wasmtime_pooling_allocation_config_delete(p)


@dataclass(frozen=True, slots=True)
class LoadedModule:
    """A compiled module, pre-linked against the host imports."""

    origin: str
    module: wasmtime.Module
    pre: wasmtime.InstancePre
    exports: frozenset[str]

    def pre_ptr(self) -> Any:
        """The raw ``wasmtime_instance_pre_t`` pointer."""
        return self.pre.ptr()


class Runtime:
    """One Wasmtime engine per process, with its linker and compiled-module cache.

    The host imports are defined once on the linker (after WASI: some replace
    WASI functions), so every InstancePre shares them.
    """

    def __init__(
        self,
        cache_dir: Path | None,
        imports: Sequence[HostImport] = (),
        *,
        max_memory: int = 64 * 1024 * 1024,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        config = wasmtime.Config()
        config.epoch_interruption = True
        config.cranelift_opt_level = "speed"
        if pool_size:
            _use_pooling(config, pool_size, max_memory)
        self.engine = wasmtime.Engine(config)
        self.pool_size = pool_size
        self.cache = ModuleCache(self.engine, cache_dir, fingerprint="epoch;speed")
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_wasi()
        define_imports(self.linker, imports)
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="wasm-epoch", daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        # The ticker runs outside the loop so it advances even while a guest
        # holds the loop thread inside a poll (ctypes releases the GIL).
        while not self._stop.wait(TICK_SECONDS):
            ffi.wasmtime_engine_increment_epoch(self.engine.ptr())

    def load(self, wasm: bytes, origin: str) -> LoadedModule:
        """Compile (or fetch from cache) and pre-link a module."""
        module = self.cache.load(wasm, origin)
        try:
            pre = self.linker.instantiate_pre(module)
        except wasmtime.WasmtimeError as exc:
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
            detail = "; ".join(lines[:2]) if lines else "link error"
            raise LoadError(f"{origin}: cannot link the module: {detail}") from None
        exports = frozenset(e.name for e in module.exports)
        return LoadedModule(origin, module, pre, exports)

    def close(self) -> None:
        """Stop the epoch ticker."""
        self._stop.set()
