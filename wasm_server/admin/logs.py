"""Recent log lines per component, for ``GET /v1/apps/{name}/logs``."""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

MAX_LINES = 500


class RecentLogs(logging.Handler):
    """Keeps the last MAX_LINES lines that name a component (guest log lines, and the
    server's lines about that component: traps, timeouts, overload)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: dict[str, deque[dict[str, Any]]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if not isinstance(args, tuple) or not args or not isinstance(args[0], str):
            return
        # guest lines ("[name] text") and the server's "component 'name' ..." lines only
        if record.name != "wasm_server.guest" and not str(record.msg).startswith("component '"):
            return
        component = args[0]
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return
        lines = self.lines.get(component)
        if lines is None:
            lines = self.lines[component] = deque(maxlen=MAX_LINES)
        lines.append({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
                      "level": record.levelname.lower(), "component": component, "message": message})

    def recent(self, components: list[str], limit: int = 100) -> list[dict[str, Any]]:
        """The last ``limit`` lines of these components, oldest first."""
        merged = [line for c in components for line in self.lines.get(c, ())]
        merged.sort(key=lambda line: str(line["time"]))
        return merged[-max(0, limit):]

    def install(self) -> None:
        """Listen to the guest log and the server's own log."""
        for name in ("wasm_server.guest", "wasm_server"):
            logging.getLogger(name).addHandler(self)
