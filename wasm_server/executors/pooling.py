"""What the app's idle sweep needs from an executor that pools instances."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class IdlePool(Protocol):
    """An executor keeping idle instances (ABI v1 and wasi-http with ``instance_reuse``)."""

    def evict_idle(self, older_than: float = ...) -> int:
        """Release instances idle for ``older_than`` seconds; returns how many."""
