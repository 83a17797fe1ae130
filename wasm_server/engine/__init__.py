"""Wasmtime underneath: the engine, compiled-module cache, instances, limits.

The public surface for host capabilities is small and typed:

- :class:`HostImport` declares one import (name, signature, body, sync/async);
  :class:`Runtime` defines a list of them on its linker once per process.
- :class:`HostCall` is what an import body receives: the calling guest's memory
  (``read``/``write``), the result slot (``result``) and two lifecycle hooks
  (``after_event``, ``release``). Capabilities subclass it for their
  per-instance state; the engine never looks at that state.
- :class:`WasiContext` is the WASI view of an instance as a value.

Nothing outside this package touches ``_lowlevel`` or ctypes.
"""

from __future__ import annotations

from ._lowlevel import HostCall
from .imports import HostImport, HostResult
from .instance import GuestInstance
from .limits import Limits
from .runtime import LoadedModule, Runtime
from .wasi import WasiContext

__all__ = ["GuestInstance", "HostCall", "HostImport", "HostResult", "Limits", "LoadedModule", "Runtime",
           "WasiContext"]
