"""Pre-initialisation (the Wizer approach, done in the host): run a reactor's ``_initialize``
once, then write a new module whose memory and globals start where that run left them.

Three steps, each a pure function of bytes except the middle one:

1. :func:`instrument` checks the module can be snapshotted and adds an export for every
   defined global and table (the host can only read what a module exports).
2. The caller instantiates the instrumented module, calls ``_initialize`` and reads the
   memory, the globals and the table sizes (:func:`capture` does this on a live instance).
3. :func:`rebuild` writes the pre-initialised module: data segments are the memory's
   non-zero runs, the memory's minimum is the memory's size after start-up, mutable
   globals start at their captured values and ``_initialize`` is no longer exported,
   so no one runs it twice. Wasmtime maps such a module's memory image copy-on-write,
   so a fresh instance costs a page-table update instead of the guest's start-up.

What the start-up captured is frozen into the image: every instance starts with the
same heap, the same hash seeds and the same math/rand state (docs/manifest.md, preinit).
Modules this cannot snapshot faithfully are refused with a reason (:class:`PreinitRefused`).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

from wasmtime import _ffi as ffi

from . import _lowlevel as ll
from . import wasmbin as wb

__all__ = ["GLOBAL_PREFIX", "TABLE_PREFIX", "WARM_EXPORT", "Captured", "Plan", "PreinitRefused", "capture",
           "instrument", "nonzero_runs",
           "rebuild"]

GLOBAL_PREFIX = "__wasm_server_preinit_global_"
TABLE_PREFIX = "__wasm_server_preinit_table_"
INIT_EXPORT = "_initialize"
#: optional: called after ``_initialize`` for the snapshot only (docs/abi.md), then not exported
WARM_EXPORT = "wasm_server_init"
#: the granule of the zero-page scan; runs of non-zero pages become one data segment each
PAGE = 4096
WASM_PAGE = 65536


class PreinitRefused(Exception):
    """The module cannot be pre-initialised; the message says why (it runs as it is)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What :func:`instrument` learnt about a module, for :func:`rebuild`."""

    module: wb.Module
    imported_globals: int
    globals: list[wb.Global]
    memory: wb.Memory
    #: each defined table's initial size (a start-up that grows a table cannot be snapshotted)
    tables: list[int]
    #: how many data segments the original declares (the data count section must stay valid)
    data_segments: int


@dataclass(frozen=True, slots=True)
class Captured:
    """The state of an instance after its start-up."""

    memory: bytes
    #: each defined global's raw value bits, in index order (None: immutable, not read)
    globals: list[int | None]
    tables: list[int]


def _tables(module: wb.Module) -> list[int]:
    s = module.find(wb.TABLE)
    if s is None:
        return []
    r = wb.Reader(s.body)
    sizes = []
    for _ in range(r.uleb()):
        reftype = r.byte()
        if reftype == 0x40:
            raise PreinitRefused("a table with an initialiser expression (function-references)")
        _flags, minimum, _max = wb.read_limits(r)
        sizes.append(minimum)
    return sizes


def instrument(wasm: bytes) -> tuple[bytes, Plan]:
    """Check that ``wasm`` can be pre-initialised and return it with every global and table exported."""
    try:
        module = wb.parse(wasm)
        imports = wb.read_imports(module)
        memories = wb.read_memories(module)
        globals_ = wb.read_globals(module)
        exports = wb.read_exports(module)
        data = wb.read_data(module)
        tables = _tables(module)
    except wb.WasmFormatError as exc:
        raise PreinitRefused(f"module not understood: {exc}") from None
    if not any(e.name == INIT_EXPORT and e.kind == wb.EXPORT_FUNC for e in exports):
        raise PreinitRefused("it exports no _initialize (not a reactor)")
    if module.find(wb.START) is not None:
        raise PreinitRefused("it has a start function (it would run again in every instance)")
    if imports.memories or len(memories) != 1:
        raise PreinitRefused("it must define exactly one memory (and import none)")
    memory = memories[0]
    if memory.flags & 0x06:
        raise PreinitRefused("shared or 64-bit memory")
    if imports.globals:
        raise PreinitRefused("it imports globals")
    if imports.tables:
        raise PreinitRefused("it imports tables")
    if any(seg.offset is None for seg in data):
        raise PreinitRefused("it has passive data segments (bulk memory: memory.init after start-up)")
    for g in globals_:
        if g.mutable and g.valtype not in wb.NUMERIC:
            raise PreinitRefused(f"a mutable global of type 0x{g.valtype:02x}")
    extra = [wb.Export(f"{GLOBAL_PREFIX}{i}", wb.EXPORT_GLOBAL, imports.globals + i)
             for i, g in enumerate(globals_) if g.mutable]
    extra += [wb.Export(f"{TABLE_PREFIX}{i}", wb.EXPORT_TABLE, imports.tables + i) for i in range(len(tables))]
    instrumented = wb.Module(list(module.sections))
    instrumented.replace(wb.EXPORT, wb.encode_exports(exports + extra))
    plan = Plan(module, imports.globals, globals_, memory, tables, len(data))
    return instrumented.encode(), plan


def capture(ctx: Any, inst: Any, plan: Plan, memory: Any) -> Captured:
    """Read a started instance's memory, mutable globals and table sizes (``memory``: its
    exported memory, a ``wasmtime_extern_t``; ``ctx`` may be an address, as the engine keeps it)."""
    if isinstance(ctx, int):
        ctx = ctypes.cast(ctx, ctypes.POINTER(ffi.wasmtime_context_t))
    mem = ctypes.byref(memory.of.memory)
    size = ffi.wasmtime_memory_data_size(ctx, mem)
    base = ffi.wasmtime_memory_data(ctx, mem)
    data = ctypes.string_at(ctypes.addressof(base.contents), size) if size else b""
    values: list[int | None] = []
    val = ffi.wasmtime_val_t()
    for i, g in enumerate(plan.globals):
        if not g.mutable:
            values.append(None)
            continue
        item = ll.export(ctx, inst, f"{GLOBAL_PREFIX}{i}".encode())
        if item is None:
            raise PreinitRefused(f"global {i} is not exported after instrumenting")
        ffi.wasmtime_global_get(ctx, ctypes.byref(item.of.global_), ctypes.byref(val))
        raw = ctypes.string_at(ctypes.addressof(val.of), 8)
        values.append(int.from_bytes(raw, "little"))
    tables = []
    for i in range(len(plan.tables)):
        item = ll.export(ctx, inst, f"{TABLE_PREFIX}{i}".encode())
        if item is None:
            raise PreinitRefused(f"table {i} is not exported after instrumenting")
        tables.append(int(ffi.wasmtime_table_size(ctx, ctypes.byref(item.of.table))))
    return Captured(data, values, tables)


def nonzero_runs(memory: bytes, gap: int = PAGE) -> list[tuple[int, bytes]]:
    """``(offset, bytes)`` of the memory's non-zero parts: runs of pages (``gap`` bytes each)
    that are not all zero, trimmed of the zero bytes at both ends."""
    zero = bytes(gap)
    view = memoryview(memory)
    runs: list[tuple[int, bytes]] = []
    start = -1
    for off in range(0, len(memory), gap):
        is_zero = view[off:off + gap] == zero[:min(gap, len(memory) - off)]
        if not is_zero and start < 0:
            start = off
        elif is_zero and start >= 0:
            runs.append(_trim(memory, start, off))
            start = -1
    if start >= 0:
        runs.append(_trim(memory, start, len(memory)))
    return runs


def _trim(memory: bytes, start: int, end: int) -> tuple[int, bytes]:
    chunk = memory[start:end]
    stripped = chunk.lstrip(b"\0")
    offset = start + len(chunk) - len(stripped)
    return offset, stripped.rstrip(b"\0")


def rebuild(plan: Plan, captured: Captured) -> bytes:
    """The pre-initialised module (see the module docstring)."""
    if captured.tables != plan.tables:
        raise PreinitRefused(f"the start-up resized a table ({plan.tables} → {captured.tables})")
    if len(captured.memory) % WASM_PAGE:
        raise PreinitRefused("memory size is not a whole number of pages")
    module = wb.Module(list(plan.module.sections))
    pages = len(captured.memory) // WASM_PAGE
    mem = plan.memory
    module.replace(wb.MEMORY, wb.encode_memories([wb.Memory(mem.flags, pages, mem.maximum)]))
    globals_ = [
        wb.Global(g.valtype, g.mutable, wb.const_expr(g.valtype, v) if v is not None else g.init)
        for g, v in zip(plan.globals, captured.globals, strict=True)
    ]
    if globals_:
        module.replace(wb.GLOBAL, wb.encode_globals(globals_))
    exports = [e for e in wb.read_exports(plan.module) if e.name not in (INIT_EXPORT, WARM_EXPORT)]
    module.replace(wb.EXPORT, wb.encode_exports(exports))
    segments = nonzero_runs(captured.memory)
    # code may name data segments by index (data.drop of an active segment is valid): keep
    # at least as many; empty active segments do nothing
    segments += [(0, b"")] * max(0, plan.data_segments - len(segments))
    module.replace(wb.DATA, wb.encode_data(segments) if segments else None)
    if module.find(wb.DATACOUNT) is not None:
        module.replace(wb.DATACOUNT, wb.uleb(len(segments)))
    return module.encode()
