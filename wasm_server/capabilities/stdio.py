"""A guest's stdout and stderr: lines into the server log, bounded per request.

Wasmtime's own ``fd_write`` would send a guest's output to the WASI context's
stdout, which the host gave none: Go's ``log``/``fmt.Println``, chi's Logger
and Recoverer stack traces, a C guest's ``fprintf(stderr, …)`` all vanished.
This import replaces ``fd_write`` for every guest: writes to fd 1 and 2 become
lines in the ``wasm_server.guest`` log (stdout at INFO, stderr at WARNING),
tagged with the component and the request id (the ``x-request-id`` the host
puts on every request the guest sees; ``-`` outside HTTP requests).

A guest cannot flood the log: at most :data:`MAX_BYTES` per event (an HTTP
request, or one TCP/WS/UDP event) are logged, lines are cut at
:data:`MAX_LINE`, and one line says how much more was dropped. The guest is
told every write succeeded. A line without its newline is logged when the
event ends.

WAGI programs print their CGI response on stdout: their executor sets
``GuestCall.stdout`` and stdout is collected there instead (up to
:data:`MAX_CGI_OUTPUT`; past it the guest gets EIO). Guests have no other
writable descriptor (granted directories are read-only): writes to any
other fd are EBADF.
"""

from __future__ import annotations

import logging
import struct

from ..engine import HostImport
from .call import GuestCall

MAX_BYTES = 64 * 1024
MAX_LINE = 16 * 1024
MAX_CGI_OUTPUT = 64 * 1024 * 1024
MAX_IOVECS = 1024
#: WASI preview 1 errno values
EBADF, EINVAL, EIO = 8, 28, 29
_IOVEC = struct.Struct("<II")
_U32 = struct.Struct("<I")
_LEVELS = {1: logging.INFO, 2: logging.WARNING}
_NAMES = {1: "stdout", 2: "stderr"}


def _request_id(call: GuestCall) -> str:
    for name, value in call.headers:
        if name == b"x-request-id":
            return value.decode("latin-1")
    return "-"


class GuestOutput:
    """One instance's stdout/stderr line splitter and per-event budget (an InstanceState)."""

    __slots__ = ("budget", "call", "dropped", "partial", "rid")

    def __init__(self, call: GuestCall) -> None:
        self.call = call
        self.budget = MAX_BYTES
        self.dropped = 0
        self.partial = {1: b"", 2: b""}
        self.rid: str | None = None

    def write(self, fd: int, data: bytes) -> None:
        """Log the complete lines of ``data`` (within the budget); keep a trailing partial line."""
        if self.rid is None:
            self.rid = _request_id(self.call)
        if len(data) > self.budget:
            self.dropped += len(data) - self.budget
            data = data[: self.budget]
        self.budget -= len(data)
        lines = (self.partial[fd] + data).split(b"\n")
        rest = lines.pop()
        for line in lines:
            self._emit(fd, line)
        if len(rest) >= MAX_LINE:
            self._emit(fd, rest)
            rest = b""
        self.partial[fd] = rest

    def _emit(self, fd: int, line: bytes) -> None:
        host = self.call.host
        level = _LEVELS[fd]
        if host.logger.isEnabledFor(level):
            text = line[:MAX_LINE].decode("utf-8", "replace").rstrip("\r")
            host.logger.log(level, "[%s] %s (%s, request %s)", host.name, text, _NAMES[fd], self.rid)

    def end_event(self) -> None:
        """Log what is left of this event's output and start the next event's budget."""
        for fd, rest in self.partial.items():
            if rest:
                self._emit(fd, rest)
                self.partial[fd] = b""
        if self.dropped:
            host = self.call.host
            host.logger.warning("[%s] %d more bytes of output dropped: at most %d bytes per request are logged "
                                "(request %s)", host.name, self.dropped, MAX_BYTES, self.rid)
        self.budget = MAX_BYTES
        self.dropped = 0
        self.rid = None

    def release(self) -> None:
        """The instance is discarded: log what is left."""
        self.end_event()


def fd_write(call: GuestCall, fd: int, iovs: int, iovs_len: int, nwritten: int) -> int:
    """WASI ``fd_write(fd, iovs, iovs_len, *nwritten) -> errno`` for stdout and stderr."""
    if fd != 1 and fd != 2:
        return EBADF
    if not 0 <= iovs_len <= MAX_IOVECS:
        return EINVAL
    raw = call.read(iovs, iovs_len * _IOVEC.size)
    data = b"".join(call.read(ptr, length) for ptr, length in _IOVEC.iter_unpack(raw))
    captured = call.stdout
    if fd == 1 and captured is not None:
        if len(captured) + len(data) > MAX_CGI_OUTPUT:
            return EIO
        captured += data
    else:
        output = call.output
        if output is None:
            output = call.output = GuestOutput(call)
        output.write(fd, data)
    call.write(nwritten, _U32.pack(len(data)))
    return 0


IMPORTS = [HostImport("fd_write", "iiii", "i", fd_write, module="wasi_snapshot_preview1")]
