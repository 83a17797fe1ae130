"""Time and streaming: ``sleep_ms``, ``stream_start``, ``stream_write``.

A handler streams a response by sending its head with ``stream_start`` and
its body in chunks with ``stream_write`` (chunked transfer coding), then
returning a response whose flags have bit 0 set. ``stream_write`` waits
while the client is slow to read, so a stream never piles up in memory.
Server-Sent Events are this plus ``sleep_ms`` between events.
"""

from __future__ import annotations

import asyncio

from ..abi_codec import decode_response
from ..engine._lowlevel import CallState
from ..errors import BadResponse
from ._spec import ImportSpec

INVALID = -4
IO = -5
MAX_SLEEP_MS = 24 * 3600 * 1000


async def _sleep(ms: int) -> int:
    await asyncio.sleep(ms / 1000)
    return 0


def sleep_ms(state: CallState, ms: int) -> object:
    """Suspend the guest; the server keeps serving others. The deadline still applies."""
    if ms < 0 or ms > MAX_SLEEP_MS:
        state.result = f"sleep of {ms} ms is out of range".encode()
        return INVALID
    return _sleep(ms)


async def _start(state: CallState, head: bytes) -> int:
    stream = state.stream
    if stream is None:
        state.result = b"stream_start is only available while handling an HTTP request"
        return INVALID
    try:
        resp = decode_response(head)
    except BadResponse as exc:
        state.result = f"malformed response head: {exc}".encode()
        return INVALID
    if not stream.start(resp.status, resp.headers):
        state.result = b"the response has already started"
        return INVALID
    return 0


def stream_start(state: CallState, ptr: int, length: int) -> object:
    """Send the status line and headers now; the body follows in chunks."""
    return _start(state, state.read(ptr, length))


async def _write(state: CallState, data: bytes) -> int:
    stream = state.stream
    if stream is None or not stream.started:
        state.result = b"call stream_start first"
        return INVALID
    if not await stream.write(data):
        state.result = b"the client has gone away"
        return IO
    return 0


def stream_write(state: CallState, ptr: int, length: int) -> object:
    """Send one chunk of the body, waiting while the client is slow."""
    return _write(state, state.read(ptr, length))


IMPORTS = [
    ImportSpec("sleep_ms", "i", "i", sleep_ms, is_async=True),
    ImportSpec("stream_start", "ii", "i", stream_start, is_async=True),
    ImportSpec("stream_write", "ii", "i", stream_write, is_async=True),
]
