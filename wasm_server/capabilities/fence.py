"""The commit fence: nothing a guest does is seen outside before its KV writes are committed.

KV writes to SQLite return to the guest as soon as they ran inside the
turn's transaction; the commit comes once per event-loop turn (group commit,
kv/sqlite.py) and is the call's ``fence`` (capabilities/kv.py). The imports
through which a guest tells the outside world something — send on a
connection, close it, publish, stream a response, make an outbound request —
are wrapped here: while the fence is pending they suspend the guest until it
is done, then run; if the commit failed they do not run and the guest gets
IO. At the end of the call the engine waits for the fence too (``settle``),
so an HTTP response or an event's result is never acted on before the
commit. A guest that did not write to a group-committing store pays one
attribute check per such import.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterable

from ..engine import HostImport, HostResult
from ..errors import CapabilityError
from .call import GuestCall

#: the imports that make something visible outside the process
OUTWARD = frozenset({"conn_send", "ws_send", "conn_close", "udp_send", "publish", "stream_start", "stream_write",
                     "http_send", "tcp_connect", "udp_connect", "sock_send"})


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
