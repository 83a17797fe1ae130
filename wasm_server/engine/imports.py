"""Declaring host imports: name, signature, body, sync or async; defined once per linker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

from . import _lowlevel as ll

#: what an import body returns: its integer result at once (None for ``() -> ()``
#: imports), or an awaitable of it while the guest is suspended (async imports only)
HostResult = int | None | Awaitable[int]

_TYPES = {"i": wasmtime.ValType.i32, "l": wasmtime.ValType.i64}


@dataclass(frozen=True, slots=True)
class HostImport:
    """``<module>.<name>`` with params/results as strings of ``i`` (i32) and ``l`` (i64).

    ``fn(call, *args)`` receives the :class:`~wasm_server.engine.HostCall` of the
    calling instance (the subclass its owner created) and the integer arguments.
    """

    name: str
    params: str
    results: str
    fn: Callable[..., HostResult]
    is_async: bool = False
    #: the import module (WASI functions the host replaces use wasi_snapshot_preview1)
    module: str = "wasm_server"

    @property
    def signature(self) -> str:
        """``params->results``, e.g. ``iiii->l``."""
        return f"{self.params}->{self.results}"


def _define(linker_ptr: Any, spec: HostImport) -> wasmtime.FuncType:
    ty = wasmtime.FuncType([_TYPES[c]() for c in spec.params], [_TYPES[c]() for c in spec.results])
    kind = ll.I64 if spec.results == "l" else ll.I32
    define = ll.define_async if spec.is_async else ll.define_sync
    define(linker_ptr, spec.name.encode(), ty.ptr(), kind, spec.fn, spec.module.encode())
    return ty


def define_imports(linker: wasmtime.Linker, imports: Iterable[HostImport]) -> list[wasmtime.FuncType]:
    """Define every import on ``linker``, after WASI: an import may replace a WASI function.

    Returns the function types, which the caller keeps as long as the linker lives. They were
    kept in a module-level list before; but once used, a type is bound to its engine (Wasmtime
    registers it there), so that list pinned every engine the process ever made, with its
    pooling allocator's terabytes of reserved address space: the ~30th engine (a redeploy, an
    embedding program loading apps) aborted the process in Wasmtime."""
    ptr = linker.ptr()
    ffi.wasmtime_linker_allow_shadowing(ptr, True)
    return [_define(ptr, spec) for spec in imports]
