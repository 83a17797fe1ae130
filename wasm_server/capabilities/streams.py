"""Streaming responses: ``stream_start``, ``stream_write``.

A handler streams a response by sending its head with ``stream_start`` and
its body in chunks with ``stream_write`` (chunked transfer coding), then
returning a response whose flags have bit 0 set. ``stream_write`` waits
while the client is slow to read, so a stream never piles up in memory.
Server-Sent Events are this plus ``sleep_ms`` (clock.py) between events.

The response goes to the :class:`~wasm_server.protocol.response.ResponseSink`
the executor attached to the instance for the request it handles
(``GuestCall.sink``); outside an HTTP request there is none.
"""

from __future__ import annotations

from ..abi_codec import decode_response
from ..engine import HostImport, HostResult
from ..errors import BadResponse, ErrorCode
from .call import GuestCall


async def _start(state: GuestCall, head: bytes) -> int:
    stream = state.sink
    if stream is None:
        state.result = b"stream_start is only available while handling an HTTP request"
        return ErrorCode.INVALID
    try:
        resp = decode_response(head)
    except BadResponse as exc:
        state.result = f"malformed response head: {exc}".encode()
        return ErrorCode.INVALID
    if not stream.start(resp.status, resp.headers):
        state.result = b"the response has already started"
        return ErrorCode.INVALID
    return 0


def stream_start(state: GuestCall, ptr: int, length: int) -> HostResult:
    """Send the status line and headers now; the body follows in chunks."""
    return _start(state, state.read(ptr, length))


async def _write(state: GuestCall, data: bytes) -> int:
    stream = state.sink
    if stream is None or not stream.started:
        state.result = b"call stream_start first"
        return ErrorCode.INVALID
    if not await stream.write(data):
        state.result = b"the client has gone away"
        return ErrorCode.IO
    return 0


def stream_write(state: GuestCall, ptr: int, length: int) -> HostResult:
    """Send one chunk of the body, waiting while the client is slow."""
    return _write(state, state.read(ptr, length))


IMPORTS = [
    HostImport("stream_start", "ii", "i", stream_start, is_async=True),
    HostImport("stream_write", "ii", "i", stream_write, is_async=True),
]
