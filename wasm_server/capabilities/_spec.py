"""Declaring a host import once: name, signature, body, sync or async."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import wasmtime

from ..engine import _lowlevel as ll

_TYPES = {"i": wasmtime.ValType.i32, "l": wasmtime.ValType.i64}
_KEEP: list[wasmtime.FuncType] = []


@dataclass(frozen=True, slots=True)
class ImportSpec:
    """``wasm_server.<name>`` with params/results as strings of ``i`` (i32) and ``l`` (i64)."""

    name: str
    params: str
    results: str
    fn: Callable[..., Any]
    is_async: bool = False
    #: the import module (WASI functions the host replaces use wasi_snapshot_preview1)
    module: str = "wasm_server"


def define(linker_ptr: Any, spec: ImportSpec) -> None:
    """Define one import on a raw linker pointer."""
    ty = wasmtime.FuncType([_TYPES[c]() for c in spec.params], [_TYPES[c]() for c in spec.results])
    _KEEP.append(ty)  # the linker refers to the type for as long as it lives
    kind = ll.I64 if spec.results == "l" else ll.I32
    if spec.is_async:
        ll.define_async(linker_ptr, spec.name.encode(), ty.ptr(), kind, spec.fn, spec.module.encode())
    else:
        assert spec.module == "wasm_server", "synchronous imports live in the wasm_server module"
        ll.define_sync(linker_ptr, spec.name.encode(), ty.ptr(), kind, spec.fn)
