"""wasi:io (error, poll, streams) for components, from Python.

Streams are the host objects behind ``input-stream`` / ``output-stream``
handles. An input stream reads from bytes the host already holds (a request
body, a fetched response); an output stream hands each write to a sink
function, which may return an awaitable: ``blocking-write-and-flush`` then
suspends the guest until it is done (backpressure from a slow client), while
the non-blocking ``write`` only ever takes what ``check-write`` offered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from ...engine.component import Err, HostFuncs, trap
from .call import WasiHttpCall

#: what one ``check-write`` grants (the guest writes at most this much before asking again)
WRITE_BUDGET = 1024 * 1024
#: the largest single read handed to a guest
MAX_READ = 1024 * 1024

Waiter = Callable[[], Awaitable[object]]
CLOSED = ("closed", None)


class IoError:
    """A ``wasi:io/error.error``: a message for ``to-debug-string``."""

    RID = 1

    def __init__(self, message: str) -> None:
        self.message = message


def failed(message: str) -> tuple[str, IoError]:
    """The ``stream-error.last-operation-failed`` case."""
    return ("last-operation-failed", IoError(message))


class Pollable:
    """A ``pollable``: ``ready()`` says whether it is ready; ``wait()`` awaits readiness."""

    RID = 2

    def __init__(self, ready: Callable[[], bool] = lambda: True, wait: Waiter | None = None) -> None:
        self.ready = ready
        self.wait = wait


READY = Pollable()


class InputStream:
    """An ``input-stream`` over bytes the host holds (``data``); ``closed`` once read whole."""

    RID = 3

    def __init__(self, data: bytes = b"", *, on_end: Callable[[], None] | None = None) -> None:
        self.data = memoryview(data)
        self.pos = 0
        self.on_end = on_end

    def read(self, n: int) -> object:
        if self.pos >= len(self.data):
            if self.on_end is not None:
                self.on_end()
                self.on_end = None
            return Err(CLOSED)
        n = min(n, MAX_READ)
        chunk = bytes(self.data[self.pos:self.pos + n])
        self.pos += len(chunk)
        return chunk

    def skip(self, n: int) -> object:
        if self.pos >= len(self.data):
            return Err(CLOSED)
        taken = min(n, len(self.data) - self.pos)
        self.pos += taken
        return taken


Sink = Callable[[bytes], Awaitable[None] | None]


class OutputStream:
    """An ``output-stream`` handing each write to ``sink`` (which may return an awaitable)."""

    RID = 4

    def __init__(self, sink: Sink, budget: Callable[[], int] = lambda: WRITE_BUDGET) -> None:
        self.sink = sink
        self.budget = budget
        self.closed = False
        #: a write the sink has not finished yet (flush waits for it)
        self.inflight: Awaitable[None] | None = None

    def write(self, data: bytes) -> object:
        if self.closed:
            return Err(CLOSED)
        if len(data) > self.budget():
            trap("output-stream.write: more bytes than check-write permitted")
        done = self.sink(data)
        if done is not None:
            self.inflight = asyncio.ensure_future(done)
        return None

    async def _finish(self, result: object) -> object:
        inflight, self.inflight = self.inflight, None
        if inflight is not None:
            try:
                await inflight
            except Exception as exc:
                return Err(failed(str(exc)))
        return result

    def flushing(self, result: object) -> object:
        """``result`` once the pending write is done (an awaitable if it is not yet)."""
        inflight = self.inflight
        if inflight is None or (isinstance(inflight, asyncio.Future) and inflight.done()):
            self.inflight = None
            return result
        return self._finish(result)


def _pollable_block(call: WasiHttpCall, p: Pollable) -> object:
    if p.ready() or p.wait is None:
        return None
    return _await_none(p.wait())


async def _await_none(aw: Awaitable[object]) -> None:
    await aw


async def _poll_any(ps: Sequence[Pollable]) -> list[int]:
    waits = [asyncio.ensure_future(p.wait()) for p in ps if p.wait is not None]
    if not waits:
        return list(range(len(ps)))
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
    return [i for i, p in enumerate(ps) if p.ready()] or [0]


def _poll(call: WasiHttpCall, ps: list[Pollable]) -> object:
    if not ps:
        trap("poll: an empty list of pollables would block forever")
    ready = [i for i, p in enumerate(ps) if p.ready()]
    return ready if ready else _poll_any(ps)


def _blocking_read(call: WasiHttpCall, s: InputStream, n: int) -> object:
    return s.read(n)


def _write_and_flush(call: WasiHttpCall, s: OutputStream, data: bytes) -> object:
    if len(data) > 4096 and s.budget() < len(data):
        trap("output-stream.blocking-write-and-flush: more than 4096 bytes beyond check-write")
    result = s.write(data)
    return result if isinstance(result, Err) else s.flushing(None)


def _check_write(call: WasiHttpCall, s: OutputStream) -> object:
    if s.closed:
        return Err(CLOSED)
    if s.inflight is not None:
        return s.flushing(s.budget())
    return s.budget()


def _splice(call: WasiHttpCall, dst: OutputStream, src: InputStream, n: int) -> object:
    chunk = src.read(min(n, dst.budget()))
    if isinstance(chunk, Err):
        return chunk
    assert isinstance(chunk, bytes)
    result = dst.write(chunk)
    return result if isinstance(result, Err) else dst.flushing(len(chunk))


def _subscribe_output(call: WasiHttpCall, s: OutputStream) -> Pollable:
    def wait() -> Awaitable[object]:
        inflight = s.inflight
        return _await_none(inflight) if inflight is not None else asyncio.sleep(0)

    return Pollable(lambda: s.inflight is None or (isinstance(s.inflight, asyncio.Future) and s.inflight.done()),
                    wait)


FUNCS: dict[str, HostFuncs] = {
    "wasi:io/error": {
        "[method]error.to-debug-string": lambda call, e: e.message,
    },
    "wasi:io/poll": {
        "[method]pollable.ready": lambda call, p: bool(p.ready()),
        "[method]pollable.block": _pollable_block,
        "poll": _poll,
    },
    "wasi:io/streams": {
        "[method]input-stream.read": lambda call, s, n: s.read(n),
        "[method]input-stream.blocking-read": _blocking_read,
        "[method]input-stream.skip": lambda call, s, n: s.skip(n),
        "[method]input-stream.blocking-skip": lambda call, s, n: s.skip(n),
        "[method]input-stream.subscribe": lambda call, s: READY,
        "[method]output-stream.check-write": _check_write,
        "[method]output-stream.write": lambda call, s, data: s.write(data),
        "[method]output-stream.blocking-write-and-flush": _write_and_flush,
        "[method]output-stream.flush": lambda call, s: None if not s.closed else Err(CLOSED),
        "[method]output-stream.blocking-flush": lambda call, s: s.flushing(None) if not s.closed else Err(CLOSED),
        "[method]output-stream.subscribe": _subscribe_output,
        "[method]output-stream.write-zeroes": lambda call, s, n: s.write(b"\0" * n),
        "[method]output-stream.blocking-write-zeroes-and-flush": lambda call, s, n: _write_and_flush(
            call, s, b"\0" * n),
        "[method]output-stream.splice": _splice,
        "[method]output-stream.blocking-splice": _splice,
    },
}

RESOURCES = {
    "wasi:io/error": {"error": IoError.RID},
    "wasi:io/poll": {"pollable": Pollable.RID},
    "wasi:io/streams": {"error": IoError.RID, "pollable": Pollable.RID, "input-stream": InputStream.RID,
                        "output-stream": OutputStream.RID},
}
