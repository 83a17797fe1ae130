"""``result_read``: how guests fetch data an import produced (docs/abi.md)."""

from __future__ import annotations

from ..engine._lowlevel import CallState
from ._spec import ImportSpec


def result_read(state: CallState, ptr: int, length: int) -> int:
    """Copy up to ``length`` bytes of the result slot to ``ptr``; return the slot's size."""
    data = state.result
    if length > 0 and data:
        state.write(ptr, data[:length])
    return len(data)


IMPORTS = [ImportSpec("result_read", "ii", "i", result_read)]
