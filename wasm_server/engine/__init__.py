"""Wasmtime underneath: the engine, compiled-module cache, instances, limits."""

from __future__ import annotations

from .instance import GuestInstance
from .limits import Limits
from .runtime import LoadedModule, Runtime

__all__ = ["GuestInstance", "Limits", "LoadedModule", "Runtime"]
