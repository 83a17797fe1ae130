"""The process-wide Wasmtime engine: config, linker, epoch ticker, module loading."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

from ..errors import LoadError
from .cache import DEFAULT_CACHE_MAX_SIZE, ModuleCache
from .imports import HostImport, define_imports
from .rawstore import address
from .reasons import wasmtime_reason

__all__ = ["DEFAULT_CACHE_MAX_SIZE", "DEFAULT_POOL_SIZE", "LoadedModule", "PoolLimits", "Runtime"]

#: how often the epoch advances; a CPU-bound guest yields to the loop this often.
#: (Measured on hello: 5 ms, 10 ms and no ticker at all give the same throughput.)
TICK_SECONDS = 0.01
#: instance slots of the pooling allocator (live instances at once, per process)
DEFAULT_POOL_SIZE = 1000
#: core instances per instance slot (a component instance is several core instances)
CORE_INSTANCES_PER_SLOT = 16
#: bytes of each memory slot and fiber stack kept mapped between uses, so a
#: fresh instance does not page-fault its first pages in again
KEEP_RESIDENT = 64 * 1024


@dataclass(frozen=True, slots=True)
class PoolLimits:
    """The pooling allocator's sizes, per process (``[server] pool_*`` in the runtime config).

    A module that needs more than a slot holds is refused at load. Wasmtime's
    own defaults (20,000 table elements, 1 MiB of instance state) refuse real Go
    frameworks: gin v1.12 declares a table of 26,227 functions. Table slots are
    reserved address space, committed only where a module's table reaches, so
    headroom is cheap (docs/operations.md, Engine pool, has the measured cost).
    """

    #: instance slots: live instances (and their memories, tables, stacks) at once
    instances: int = DEFAULT_POOL_SIZE
    #: elements of one table slot (function-pointer tables; Go puts every function in one)
    table_elements: int = 100_000
    tables_per_module: int = 1
    memories_per_module: int = 1
    #: bytes of one instance's host-side state (grows with imports, globals, functions)
    core_instance_size: int = 2 * 1024 * 1024


def _use_pooling(config: wasmtime.Config, pool: PoolLimits, max_memory: int) -> None:
    """Pooling allocator: memories, tables and fiber stacks come from
    preallocated slots, so a fresh instance per request costs about half of
    mmap/munmap'ing them each time (measured: 143 µs → 70 µs per request)."""
    p = ffi.wasmtime_pooling_allocation_config_new()
    slots = pool.instances
    ffi.wasmtime_pooling_allocation_config_total_memories_set(p, slots * pool.memories_per_module)
    ffi.wasmtime_pooling_allocation_config_total_tables_set(p, slots * pool.tables_per_module)
    ffi.wasmtime_pooling_allocation_config_total_stacks_set(p, slots)
    # a component is many core instances (a componentize-py one: its CPython, libc, adapters …):
    # without headroom 50 concurrent Python requests exhausted 1,000 core-instance slots.
    # A slot is reserved address space (max_core_instance_size), committed only when used
    ffi.wasmtime_pooling_allocation_config_total_core_instances_set(p, slots * CORE_INSTANCES_PER_SLOT)
    ffi.wasmtime_pooling_allocation_config_table_elements_set(p, pool.table_elements)
    ffi.wasmtime_pooling_allocation_config_max_tables_per_module_set(p, pool.tables_per_module)
    ffi.wasmtime_pooling_allocation_config_max_memories_per_module_set(p, pool.memories_per_module)
    ffi.wasmtime_pooling_allocation_config_max_core_instance_size_set(p, pool.core_instance_size)
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
    #: ``(pointer, capacity)`` of the guest's request buffer if it exists in the module's
    #: initial memory (a pre-initialised image), so a fresh instance skips that crossing
    request_buffer: tuple[int, int] = (0, 0)
    #: the ``wasmtime_instance_pre_t *`` as an int (what the fresh-instance path passes)
    pre_address: int = field(init=False, default=0)
    #: the names of its function exports
    funcs: frozenset[str] = field(init=False, default=frozenset())
    #: whether it exports a memory named ``memory``
    has_memory: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pre_address", address(self.pre.ptr()))
        types = {e.name: e.type for e in self.module.exports}
        object.__setattr__(self, "funcs", frozenset(n for n, t in types.items() if isinstance(t, wasmtime.FuncType)))
        object.__setattr__(self, "has_memory", isinstance(types.get("memory"), wasmtime.MemoryType))

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
        pool_size: int | None = None,
        pool: PoolLimits = PoolLimits(),
        cache_max_size: int = DEFAULT_CACHE_MAX_SIZE,
    ) -> None:
        """``pool_size`` (instance slots) overrides ``pool.instances``; 0 turns pooling off."""
        config = wasmtime.Config()
        config.epoch_interruption = True
        config.cranelift_opt_level = "speed"
        if pool_size is not None:
            pool = replace(pool, instances=pool_size)
        if pool.instances:
            _use_pooling(config, pool, max_memory)
        self.engine = wasmtime.Engine(config)
        #: the ``wasm_engine_t *`` as an int (what a fresh Store is made from)
        self.engine_address = address(self.engine.ptr())
        self.pool_size = pool.instances
        self.pool = pool
        self.cache = ModuleCache(self.engine, cache_dir, fingerprint="epoch;speed", max_size=cache_max_size)
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_wasi()
        #: the imports' function types, alive as long as the linker (see define_imports)
        self._import_types = define_imports(self.linker, imports)
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
            raise LoadError(f"{origin}: cannot link the module: {wasmtime_reason(str(exc))}") from None
        exports = frozenset(e.name for e in module.exports)
        return LoadedModule(origin, module, pre, exports)

    def close(self) -> None:
        """Stop the epoch ticker."""
        self._stop.set()
