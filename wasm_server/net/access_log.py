"""The access log: one line per request (time, client, method, target, status, bytes,
duration, component, request id), as text or JSON.

Written by the edge after each response. Lines are formatted with one
bytes %-format and collected in memory, then written in one ``write`` every
``FLUSH_SECONDS`` or when ``FLUSH_BYTES`` pile up (as nginx's ``access_log ...
buffer= flush=``): going through ``logging`` per request would cost more than
the request itself on a hello-world route.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
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
        self._stamp: tuple[int, bytes] = (0, b"")
        self._dumps: Callable[[object], str] = str
        if json_lines:
            import json  # only JSON lines need it (start-up time of the text default)

            self._dumps = json.dumps

    def request(self, client: str, req: Request, resp: Response, sent: int, seconds: float) -> None:
        """Record one answered request."""
        if self.json_lines:
            data = self._json(client, req, resp, sent, seconds)
        else:
            # bytes formatting, no decoding: the cheapest line Python makes. The target is
            # escaped (quotes, controls, non-ASCII as \xNN): a client cannot forge a line.
            target = req.target[:MAX_TARGET]
            if _UNSAFE(target) is not None:
                target = _escape(target)
            data = b'%s %s "%s %s HTTP/%s" %d %d %.3fms %s %s\n' % (
                self._now(), client.encode(), req.method, target, req.http_version.encode(), resp.status, sent,
                seconds * 1000, resp.component.encode() or b"-", resp.request_id or b"-")
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

    def _json(self, client: str, req: Request, resp: Response, sent: int, seconds: float) -> bytes:
        rid = resp.request_id.decode("latin-1")
        return (self._dumps({
            "time": self._now().decode(), "type": "access", "client": client, "method": req.method.decode("latin-1"),
            "target": req.target[:MAX_TARGET].decode("latin-1"), "status": resp.status, "bytes": sent,
            "duration_ms": round(seconds * 1000, 3), "component": resp.component or None, "request_id": rid or None,
        }) + "\n").encode()

    def _now(self) -> bytes:
        second = int(time.time())
        if self._stamp[0] != second:
            self._stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)).encode())
        return self._stamp[1]


_UNSAFE = re.compile(rb'[^\x21\x23-\x7e]').search


def _escape(target: bytes) -> bytes:
    return b"".join(bytes((c,)) if 0x21 <= c <= 0x7E and c != 0x22 else b"\\x%02x" % c for c in target)
