"""A Store and the instantiation of a module through raw C calls: the fresh-instance path.

wasmtime-py's ``Store``, ``WasiConfig`` and its typed ``_ffi`` functions check every
pointer argument against its ctypes type (``PyCPointerType_from_param``: ~800
instructions per pointer argument, measured with callgrind), and a fresh instance per
request makes about 30 such calls. Here the same C functions take plain ``c_void_p``
integers, so creating and releasing an instance costs a handful of cheap crossings.

:class:`RawStore` owns the ``wasmtime_store_t``: :meth:`RawStore.close` frees it at once
(its pooled slot goes back to the pool) and the garbage collector frees a store nobody
closed.
"""

from __future__ import annotations

import ctypes
from typing import Any

from wasmtime import WasmtimeError, _bindings
from wasmtime import _ffi as ffi

from .wasi import WasiContext

__all__ = ["EXTERN_SIZE", "OF", "OFF_FUNCS", "OFF_INST", "OFF_MEMORY", "SLOTS_TEMPLATE", "RawStore", "Slots",
           "export_get"]

_VP = ctypes.c_void_p
_I64 = ctypes.c_int64


def _raw(name: str, restype: Any, argtypes: list[Any]) -> Any:
    """A private handle on a C function (``dll[name]`` is a new object: wasmtime-py's own
    typed function is untouched)."""
    fn = _bindings.dll[name]  # type: ignore[attr-defined]
    fn.restype = restype
    fn.argtypes = argtypes
    return fn


_store_new = _raw("wasmtime_store_new", _VP, [_VP, _VP, _VP])
_store_context = _raw("wasmtime_store_context", _VP, [_VP])
_store_limiter = _raw("wasmtime_store_limiter", None, [_VP, _I64, _I64, _I64, _I64, _I64])
_store_delete = _raw("wasmtime_store_delete", None, [_VP])
_wasi_config_new = _raw("wasi_config_new", _VP, [])
_set_wasi = _raw("wasmtime_context_set_wasi", _VP, [_VP, _VP])
_epoch_yield = _raw("wasmtime_context_epoch_deadline_async_yield_and_update", None, [_VP, ctypes.c_uint64])
"""``(pre, ctx, *instance, **trap, **error) -> future``: instantiate asynchronously."""
export_get = _raw("wasmtime_instance_export_get", ctypes.c_bool, [_VP, _VP, ctypes.c_char_p, ctypes.c_size_t, _VP])
"""``(ctx, *instance, name, len, *extern) -> bool``: look up an export."""

I32 = int(ffi.WASMTIME_I32.value)
I64 = int(ffi.WASMTIME_I64.value)


class Slots(ctypes.Structure):
    """Everything of one instance the C calls write or read, in one allocation: the
    instance, its exports and the argument/result values of the calls the engine makes."""

    _fields_ = [("inst", ffi.wasmtime_instance_t), ("memory", ffi.wasmtime_extern_t),
                ("hargs", ffi.wasmtime_val_t * 3), ("aargs", ffi.wasmtime_val_t * 1),
                ("r32", ffi.wasmtime_val_t * 1), ("r64", ffi.wasmtime_val_t * 1),
                ("funcs", ffi.wasmtime_extern_t * 5)]  # alloc, request buffer, handle, _start, _initialize


def _template() -> bytes:
    t = Slots()
    for arr, kind in ((t.hargs, I32), (t.aargs, I32), (t.r32, I32), (t.r64, I64)):
        for v in arr:
            v.kind = kind
    return bytes(t)


#: a fresh Slots with the value kinds set: one copy per instance
SLOTS_TEMPLATE = _template()
OFF_INST: int = Slots.inst.offset
OFF_MEMORY: int = Slots.memory.offset
OFF_FUNCS: int = Slots.funcs.offset
OF: int = ffi.wasmtime_extern_t.of.offset
EXTERN_SIZE: int = ctypes.sizeof(ffi.wasmtime_extern_t)


def address(ptr: Any) -> int:
    """The address a ctypes pointer holds, as an int (0 for NULL)."""
    return ctypes.cast(ptr, _VP).value or 0


class RawStore:
    """A ``wasmtime_store_t`` with the limits and WASI context of one instance.

    ``ctx`` is its ``wasmtime_context_t *`` as an int; every guest crossing takes it.
    """

    __slots__ = ("ctx", "ptr")

    def __init__(self, engine: int, memory: int, wasi: WasiContext) -> None:
        """A Store of ``engine`` (address) whose memories may not grow past ``memory`` bytes,
        yielding to the event loop at every epoch tick."""
        self.ptr: int = _store_new(engine, None, None)
        if not self.ptr:
            raise WasmtimeError("could not create a Store")
        self.ctx: int = _store_context(self.ptr)
        _store_limiter(self.ptr, memory, -1, -1, -1, -1)
        # the empty context (every HTTP component) needs no WasiConfig object; the
        # Store takes ownership of the config either way
        config = wasi.config()._consume() if wasi.preopens or wasi.argv or wasi.env or wasi.stdin \
            else _wasi_config_new()
        error = _set_wasi(self.ctx, config)
        if error:
            self.close()
            raise WasmtimeError._from_ptr(ctypes.cast(error, ctypes.POINTER(_bindings.wasmtime_error_t)))
        # every epoch tick the guest yields to the event loop (see _lowlevel)
        _epoch_yield(self.ctx, 1)

    def close(self) -> None:
        """Free the Store now (idempotent): its instance's pooled slot is free again."""
        ptr, self.ptr, self.ctx = self.ptr, 0, 0
        if ptr:
            _store_delete(ptr)

    def __del__(self) -> None:
        self.close()
