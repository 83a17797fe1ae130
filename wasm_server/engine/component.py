"""The engine's surface for WASI 0.2 components (the ctypes work is in ``_component*``).

Host code (executors/wasi_http/) implements interface functions as plain
Python callables ``(call, *args) -> value | Awaitable[value]`` in the value
shapes documented in ``_component_values``; :func:`link` builds a linker from
a component's own import types, :func:`instantiate` makes an instance in a
fresh Store and :meth:`GuestComponent.call` runs its export on the async path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from wasmtime.component import ExportIndex

from ._component import (
    ComponentCall,
    ComponentTrap,
    Err,
    GuestComponent,
    HostFunc,
    ImportPlan,
    Linked,
    instantiate,
    link,
    own_lowerer,
)
from ._component_values import Some

#: the functions of one interface, by name (``[method]fields.get``)
HostFuncs = Mapping[str, HostFunc]

__all__ = ["ComponentCall", "ComponentTrap", "Err", "ExportIndex", "GuestComponent", "HostFunc", "HostFuncs",
           "ImportPlan", "Linked", "Some", "instantiate", "link", "own_lowerer", "trap"]


def trap(message: str) -> NoReturn:
    """Trap the calling guest with ``message`` (a misuse the guest cannot recover from)."""
    raise ComponentTrap(message)
