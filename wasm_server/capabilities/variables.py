"""``var_get``: configuration values from the manifest's ``variables``."""

from __future__ import annotations

from ..engine._lowlevel import CallState
from ._spec import ImportSpec

NOT_FOUND = -1
INVALID = -4


def var_get(state: CallState, ptr: int, length: int) -> int:
    """Put variable ``name`` in the result slot and return its length, or -1."""
    try:
        name = state.read(ptr, length).decode()
    except UnicodeDecodeError:
        state.result = b"variable name is not valid UTF-8"
        return INVALID
    value = state.host.variables.get(name)
    if value is None:
        state.result = b""
        return NOT_FOUND
    state.result = value.encode()
    return len(state.result)


IMPORTS = [ImportSpec("var_get", "ii", "l", var_get)]
