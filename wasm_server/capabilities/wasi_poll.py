"""``poll_oneoff`` (WASI preview 1) without blocking the server.

Wasmtime's own ``poll_oneoff`` sleeps on the thread that runs the event
loop: one guest calling ``sleep()`` (C) or ``time.Sleep`` (Go) would stall
every other request and outlive its deadline. This replacement suspends the
guest on its fiber instead, so the loop keeps serving and the deadline
applies. Clock subscriptions sleep until the earliest one is due; fd
subscriptions are ready at once (a guest's stdin is empty, stdout always
writable).
"""

from __future__ import annotations

import asyncio
import struct
import time

from ..engine import HostImport, HostResult
from .call import GuestCall

SUBSCRIPTION = 48
EVENT = 32
CLOCK, FD_READ, FD_WRITE = 0, 1, 2
ABSTIME = 1
EINVAL = 28
_SUB = struct.Struct("<QB7xIxxxxQQH")  # userdata, tag, clock id, timeout, precision, flags
_FD = struct.Struct("<Q8xI")            # userdata, (tag), fd
_EVENT = struct.Struct("<QHB5xQH6x")    # userdata, error, type, nbytes, flags


def _now_ns(clock: int) -> int:
    return time.time_ns() if clock == 0 else time.monotonic_ns()


def plan(raw: bytes, count: int) -> tuple[float, list[bytes]]:
    """Seconds to wait and the events to report after it."""
    ready: list[bytes] = []
    clocks: list[tuple[int, int]] = []  # (due in ns from now, userdata)
    for i in range(count):
        chunk = raw[i * SUBSCRIPTION:(i + 1) * SUBSCRIPTION]
        userdata, tag, clock, timeout, _precision, flags = _SUB.unpack(chunk[:_SUB.size])
        if tag == CLOCK:
            due = timeout - _now_ns(clock) if flags & ABSTIME else timeout
            clocks.append((max(0, due), userdata))
        elif tag in (FD_READ, FD_WRITE):
            ready.append(_EVENT.pack(userdata, 0, tag, 0, 0))
        else:
            ready.append(_EVENT.pack(userdata, EINVAL, tag, 0, 0))
    if ready or not clocks:
        return 0.0, ready
    first = min(due for due, _ in clocks)
    return first / 1e9, [_EVENT.pack(userdata, 0, CLOCK, 0, 0) for due, userdata in clocks if due == first]


def poll_oneoff(state: GuestCall, in_ptr: int, out_ptr: int, count: int, nevents_ptr: int) -> HostResult:
    """The WASI call; returns an errno (0) once the events are written."""
    if count <= 0 or count > 4096:
        return EINVAL
    wait, events = plan(state.read(in_ptr, count * SUBSCRIPTION), count)

    def finish() -> int:
        state.write(out_ptr, b"".join(events))
        state.write(nevents_ptr, struct.pack("<I", len(events)))
        return 0

    if wait <= 0:
        return finish()

    async def sleep() -> int:
        await asyncio.sleep(wait)
        return finish()

    return sleep()


IMPORTS = [HostImport("poll_oneoff", "iiii", "i", poll_oneoff, is_async=True, module="wasi_snapshot_preview1")]
