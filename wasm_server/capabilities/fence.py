"""The commit fence: nothing a guest does is seen outside before its KV writes are committed.

KV writes to SQLite return to the guest as soon as they ran inside the
turn's transaction; the commit comes once per event-loop turn (group commit,
kv/sqlite.py) and is the call's ``fence`` (capabilities/kv.py). The imports
through which a guest tells the outside world something — send on a
connection, close it, publish, stream a response, make an outbound request —
are wrapped here: while the fence is pending they suspend the guest until it
is done, then run; if the commit failed they do not run and the guest gets
IO. Sends on a connection (the hot case: a RESP server answering a pipelined
batch) do not suspend the guest: their bytes are queued behind the commit
(:func:`after_commit`) and the connection is closed instead if it fails.
At the end of the call the engine waits for the fence too (``settle``), so
an HTTP response or an event's result is never acted on before the commit.
A guest that did not write to a group-committing store pays one attribute
check per such import.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterable

from ..engine import HostImport, HostResult
from ..errors import CapabilityError, ErrorCode
from .call import GuestCall

#: the imports that make something visible outside the process and wait for the fence
#: (conn_send and ws_send queue their bytes behind the commit instead: :func:`after_commit`)
OUTWARD = frozenset({"conn_close", "udp_send", "publish", "stream_start", "stream_write",
                     "http_send", "tcp_connect", "udp_connect", "sock_send"})


def after_commit(state: GuestCall, send: Callable[[], object], drop: Callable[[], object]) -> int | None:
    """Run ``send`` once the call's pending commit succeeded (``drop`` if it failed).

    None when nothing is pending (the caller sends now); 0 when ``send`` is
    queued behind the commit — the guest goes on without waiting, and the
    bytes leave in order after the commit (the engine does not finish the
    call before it); IO if the commit already failed.
    """
    fence = state.fence
    if fence is None:
        return None
    if not fence.done():
        def done(f: asyncio.Future[None]) -> None:
            if f.cancelled() or f.exception() is not None:
                drop()
            else:
                send()

        fence.add_done_callback(done)
        return 0
    if fence.cancelled() or fence.exception() is not None:
        state.result = b"the call's key-value writes were not committed"
        return ErrorCode.IO
    state.fence = None
    return None


def _wrap(body: Callable[..., HostResult]) -> Callable[..., HostResult]:
    def fn(state: GuestCall, *args: int) -> HostResult:
        fence = state.fence
        if fence is None:
            return body(state, *args)
        if fence.done() and not fence.cancelled() and fence.exception() is None:
            state.fence = None
            return body(state, *args)
        return _after_commit(state, fence, body, args)

    return fn


async def _after_commit(state: GuestCall, fence: asyncio.Future[None], body: Callable[..., HostResult],
                        args: tuple[int, ...]) -> int:
    try:
        await fence
    except CapabilityError as exc:
        # the fence stays set: the call fails at its end too (engine settle), and the instance goes
        state.result = str(exc).encode()
        return exc.code
    state.fence = None
    ret = body(state, *args)
    if isinstance(ret, Awaitable):
        ret = await ret
    return 0 if ret is None else int(ret)


def fenced(imports: Iterable[HostImport]) -> list[HostImport]:
    """``imports`` with every :data:`OUTWARD` one waiting for the call's fence (made async to wait)."""
    return [dataclasses.replace(spec, fn=_wrap(spec.fn), is_async=True) if spec.name in OUTWARD else spec
            for spec in imports]
