"""``result_read``: how guests fetch data an import produced (docs/abi.md)."""

from __future__ import annotations

from ..engine import HostImport
from .call import GuestCall


def result_read(state: GuestCall, ptr: int, length: int) -> int:
    """Copy up to ``length`` bytes of the result slot to ``ptr``; return the slot's size."""
    data = state.result
    if length > 0 and data:
        state.write(ptr, data[:length])
    return len(data)


IMPORTS = [HostImport("result_read", "ii", "i", result_read)]
