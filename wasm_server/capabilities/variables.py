"""``var_get``: configuration values from the manifest's ``variables``."""

from __future__ import annotations

from ..engine import HostImport
from ..errors import ErrorCode
from .call import GuestCall


def var_get(state: GuestCall, ptr: int, length: int) -> int:
    """Put variable ``name`` in the result slot and return its length, or -1."""
    try:
        name = state.read(ptr, length).decode()
    except UnicodeDecodeError:
        state.result = b"variable name is not valid UTF-8"
        return ErrorCode.INVALID
    value = state.host.variables.get(name)
    if value is None:
        state.result = b""
        return ErrorCode.NOT_FOUND
    state.result = value.encode()
    return len(state.result)


IMPORTS = [HostImport("var_get", "ii", "l", var_get)]
