"""``log``: guest log lines into the server log, tagged with the component."""

from __future__ import annotations

import logging

from ..engine import HostImport
from .call import GuestCall

MAX_LINE = 16 * 1024
_LEVELS = (5, logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR)


def log(state: GuestCall, level: int, ptr: int, length: int) -> None:
    """Write one guest log line at ``level`` (0 trace … 4 error)."""
    host = state.host
    py_level = _LEVELS[min(max(level, 0), 4)]
    # read first: a bad pointer traps whether or not the level is enabled
    raw = state.read(ptr, min(length, MAX_LINE))
    if host.logger.isEnabledFor(py_level):
        text = raw.decode("utf-8", "replace")
        host.logger.log(py_level, "[%s] %s", host.name, text.rstrip("\n"))


IMPORTS = [HostImport("log", "iii", "", log)]
