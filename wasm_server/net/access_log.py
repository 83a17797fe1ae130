"""The access log: one line per request (time, client, method, target, status, bytes,
duration, component, request id), as text or JSON.

Written by the edge after each response. Lines are formatted with one
f-string and collected in memory, then written in one ``write`` every
``FLUSH_SECONDS`` or when ``FLUSH_BYTES`` pile up (as nginx's ``access_log ...
buffer= flush=``): going through ``logging`` per request would cost more than
the request itself on a hello-world route.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import BinaryIO

from ..protocol.http1 import Request
from ..protocol.response import Response

FLUSH_SECONDS = 0.5
FLUSH_BYTES = 64 * 1024
MAX_TARGET = 2048


class AccessLog:
    """Buffered access log lines to ``out`` (the server's stderr by default)."""

    def __init__(self, out: BinaryIO, *, json_lines: bool = False) -> None:
        self.out = out
        self.json_lines = json_lines
        self._lines: list[bytes] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None
        self._stamp: tuple[int, str] = (0, "")

    def request(self, client: str, req: Request, resp: Response, sent: int, seconds: float) -> None:
        """Record one answered request."""
        target = req.target[:MAX_TARGET].decode("latin-1")
        method = req.method.decode("latin-1")
        rid = resp.request_id.decode("latin-1") or "-"
        if self.json_lines:
            line = json.dumps({
                "time": self._now(), "type": "access", "client": client, "method": method, "target": target,
                "status": resp.status, "bytes": sent, "duration_ms": round(seconds * 1000, 3),
                "component": resp.component or None, "request_id": None if rid == "-" else rid,
            }) + "\n"
        else:
            # the target is quoted with its own quotes and controls escaped: a client cannot forge a line
            line = (f'{self._now()} {client} "{method} {_quote(target)} HTTP/{req.http_version}" {resp.status} '
                    f'{sent} {seconds * 1000:.3f}ms {resp.component or "-"} {rid}\n')
        data = line.encode("utf-8", "replace")
        self._lines.append(data)
        self._size += len(data)
        if self._size >= FLUSH_BYTES:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        """Write what is buffered now (also at shutdown)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lines:
            return
        data = b"".join(self._lines)
        self._lines.clear()
        self._size = 0
        try:
            self.out.write(data)
            self.out.flush()
        except (OSError, ValueError):
            pass  # a closed or full stderr must not take requests down

    def _now(self) -> str:
        second = int(time.time())
        if self._stamp[0] != second:
            self._stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
        return self._stamp[1]


def _quote(text: str) -> str:
    if text.isprintable() and '"' not in text:
        return text
    return "".join(ch if ch.isprintable() and ch != '"' else f"\\x{ord(ch):02x}" for ch in text)
