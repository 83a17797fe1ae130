"""One executor per guest ABI: ``native`` (ABI v1) and ``wagi`` (CGI over WASI)."""

from __future__ import annotations

from .base import Executor
from .native import NativeExecutor
from .wagi import WagiExecutor

__all__ = ["Executor", "NativeExecutor", "WagiExecutor"]
