"""Whether the compiled crossing (``_fastcall``, from ``_fastcall.c``) may replace ctypes.

``_lowlevel`` calls :func:`usable` once at import. The compiled module is used only when:

- ``WASM_SERVER_PURE_PYTHON`` is not set (it forces every compiled part off, wasm_server/__init__.py),
  nor ``WASM_SERVER_FASTCALL=0`` (this part alone off: an A/B of the crossing with mypyc on);
- it was built (setup.py; scripts/setup builds it in place) and from the present ``_fastcall.c``
  (a stale build would run old code; a wheel ships no ``.c`` and is trusted);
- its struct layouts agree with wasmtime-py's ctypes declarations, and the addresses it reads
  from ctypes objects agree with ``ctypes.addressof`` (it reads CPython's ctypes objects directly).

Otherwise the ctypes path runs, and anything but the first two says why in one log line.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
from pathlib import Path
from types import ModuleType

from wasmtime import _ffi as ffi

from .. import PURE_ENV

log = logging.getLogger("wasm_server")

#: the interface version _lowlevel.py speaks (FASTCALL_ABI in _fastcall.c)
ABI = 1
#: set to 0 to run the ctypes path with everything else compiled
FASTCALL_ENV = "WASM_SERVER_FASTCALL"
SOURCE = Path(__file__).with_name("_fastcall.c")


def _offset(struct: type, field: str) -> int:
    return int(getattr(struct, field).offset)


def ctypes_layout() -> dict[str, int]:
    """Sizes and offsets of the structs ``_fastcall.c`` declares, as wasmtime-py's ctypes sees them."""
    cont = ffi.wasmtime_async_continuation_t
    return {
        "wasmtime_val_t": ctypes.sizeof(ffi.wasmtime_val_t),
        "wasmtime_val_t.of": _offset(ffi.wasmtime_val_t, "of"),
        "wasmtime_func_t": ctypes.sizeof(ffi.wasmtime_func_t),
        "wasmtime_memory_t": ctypes.sizeof(ffi.wasmtime_memory_t),
        "wasmtime_extern_t.of": _offset(ffi.wasmtime_extern_t, "of"),
        "wasmtime_instance_t": ctypes.sizeof(ffi.wasmtime_instance_t),
        "wasmtime_async_continuation_t": ctypes.sizeof(cont),
        "wasmtime_async_continuation_t.callback": _offset(cont, "callback"),
        "wasmtime_async_continuation_t.env": _offset(cont, "env"),
        "wasmtime_async_continuation_t.finalizer": _offset(cont, "finalizer"),
        "void*": ctypes.sizeof(ctypes.c_void_p),
    }


def mismatch(module: ModuleType, expected: dict[str, int]) -> str | None:
    """Why ``module`` must not be used with these ctypes layouts, or None if it may."""
    if getattr(module, "ABI", None) != ABI:
        return f"its interface is version {getattr(module, 'ABI', None)}, this code speaks {ABI}"
    layout = module.layout()
    wrong = [f"{name} is {layout.get(name)} in C, {size} in ctypes" for name, size in expected.items()
             if layout.get(name) != size]
    if wrong:
        return "its struct layouts differ from wasmtime-py's: " + "; ".join(wrong)
    module.set_types(ctypes.c_int.__mro__[2], type(ctypes.byref(ctypes.c_int())))  # _CData, CArgObject
    val = (ffi.wasmtime_val_t * 2)()
    ext = ffi.wasmtime_extern_t()
    ptr = ctypes.cast(ctypes.addressof(val), ctypes.POINTER(ffi.wasmtime_val_t))
    checks = [
        (module.address(val), ctypes.addressof(val)),
        (module.address(ext.of.func), ctypes.addressof(ext) + _offset(ffi.wasmtime_extern_t, "of")),
        (module.address(ctypes.byref(ext.of.func)), ctypes.addressof(ext) + _offset(ffi.wasmtime_extern_t, "of")),
        (module.address(ctypes.byref(val, 32)), ctypes.addressof(val) + 32),
        (module.pointer_value(ptr), ctypes.addressof(val)),
        (module.pointer_value(ctypes.c_void_p(12345)), 12345),
    ]
    if any(got != want for got, want in checks):
        return f"it reads ctypes objects wrongly ({checks}): a Python whose ctypes objects it does not know"
    return None


def is_current() -> bool:
    """Whether the built module exists and was compiled from the present ``_fastcall.c`` (if shipped)."""
    try:
        from . import _fastcall
    except ImportError:
        return False
    return not SOURCE.exists() or _fastcall.SOURCE_SHA256 == hashlib.sha256(SOURCE.read_bytes()).hexdigest()


def usable(expected: dict[str, int] | None = None) -> bool:
    """Whether ``_lowlevel`` may use the compiled module (module docstring); logs why not."""
    if os.environ.get(PURE_ENV, "") not in ("", "0") or os.environ.get(FASTCALL_ENV) == "0":
        return False
    try:
        from . import _fastcall
    except ImportError:
        return False  # not built: the ctypes path is the package's pure-Python form
    if not is_current():
        log.warning("wasm-server: %s changed since it was compiled; host calls go through ctypes "
                    "(scripts/setup recompiles)", SOURCE)
        return False
    reason = mismatch(_fastcall, ctypes_layout() if expected is None else expected)
    if reason is not None:
        log.warning("wasm-server: the compiled call path is not used: %s; host calls go through ctypes", reason)
        return False
    return True
