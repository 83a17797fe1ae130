"""KV imports: get / set / delete / exists / keys / incr on declared stores.

Stores whose coroutines usually finish without suspending (SQLite on a local
file, memory) set ``eager = True``; their calls run inline and the guest
continues without a trip through the event loop. If such a call does
suspend (a SQLite write waiting for its group commit, kv/sqlite.py), the rest
of it runs as a task while the guest is suspended, as calls to other stores
(Redis) always do.

Group commit. Calls go to the store's ``deferred()`` view: a SQLite write
returns as soon as it ran inside the turn's transaction, and its commit
(once per event-loop turn, kv/sqlite.py) becomes the call's *fence*. The
guest goes on at once, but anything it tells the outside world — a send, a
publish, an outbound request, its response or event result — waits for that
commit (capabilities/fence.py, engine ``settle``), and fails if it failed.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Coroutine, Generator

from .. import tracing
from ..abi_codec import encode_key_list
from ..engine import HostImport, HostResult
from ..errors import CapabilityError, ErrorCode
from ..kv.base import Store
from .call import GuestCall

#: what one KV operation is before it runs (sent once when the store is eager)
Op = Coroutine[object, None, int]

_I64 = struct.Struct("<q")
#: KV calls per component name since the process started (for /metrics)
OPS: dict[str, int] = {}


def _label(state: GuestCall, ptr: int, length: int) -> str:
    try:
        return state.read(ptr, length).decode()
    except UnicodeDecodeError:
        raise CapabilityError(ErrorCode.INVALID, "store name is not valid UTF-8") from None


class _Rest:
    """Awaitable finishing an operation that was stepped once inline and suspended."""

    __slots__ = ("coro", "first")

    def __init__(self, coro: Op, first: object) -> None:
        self.coro = coro
        self.first = first

    def __await__(self) -> Generator[object, None, int]:
        yielded = self.first  # what the operation waits on (a commit future)
        while True:
            try:
                sent = yield yielded
            except BaseException as exc:  # cancellation goes to the operation
                try:
                    yielded = self.coro.throw(exc)
                except StopIteration as stop:
                    return int(stop.value)
                continue
            try:
                yielded = self.coro.send(sent)
            except StopIteration as stop:
                return int(stop.value)


def _run(state: GuestCall, store: Store, coro: Op) -> HostResult:
    if getattr(store, "eager", False):
        try:
            first = coro.send(None)
        except StopIteration as stop:
            return int(stop.value)
        except CapabilityError as exc:
            state.result = str(exc).encode()
            return exc.code
        return _guarded(state, _Rest(coro, first))
    return _guarded(state, coro)


async def _guarded(state: GuestCall, op: Op | _Rest) -> int:
    try:
        return await op
    except CapabilityError as exc:
        state.result = str(exc).encode()
        return exc.code


def _op(body: Callable[..., Op], nargs: int) -> Callable[..., HostResult]:
    """Wrap ``body(state, store, *rest)``: resolve the store label, map errors to codes."""

    def fn(state: GuestCall, sptr: int, slen: int, *rest: int) -> HostResult:
        host = state.host
        OPS[host.name] = OPS.get(host.name, 0) + 1
        try:
            label = _label(state, sptr, slen)
            store = host.store(label).deferred()
        except CapabilityError as exc:
            state.result = str(exc).encode()
            return exc.code
        ret = _run(state, store, body(state, store, *rest))
        if tracing.TRACER is not None:
            ret = _traced(ret, f"kv.{body.__name__.lstrip('_')}", state, label)
        # the guest has its answer now; what it tells anyone waits for the commit (fence.py)
        fence = state.fence
        if fence is None or not fence.done():
            state.fence = store.commit_waiter(fence)
        elif not fence.cancelled() and fence.exception() is None:
            state.fence = store.commit_waiter(None)
        return ret

    return fn


def _traced(ret: HostResult, name: str, state: GuestCall, label: str) -> HostResult:
    """``ret`` with a span (tracing.py) that ends when the operation does; its parent is the
    request the instance is handling (the ``traceparent`` its headers carry)."""
    if ret is None:
        return ret
    span = tracing.child_span(name, state.headers, {"wasm_server.component": state.host.name,
                                                    "wasm_server.kv.store": label})
    return ret if span is None else tracing.finish(span, ret, _failure)


def _failure(code: int) -> str | None:
    """A KV result as a span's error (not found is an answer, not a failure)."""
    return f"error code {code}" if code < 0 and code != ErrorCode.NOT_FOUND else None


async def _get(state: GuestCall, store: Store, kptr: int, klen: int) -> int:
    value = await store.get(state.read(kptr, klen))
    if value is None:
        state.result = b""
        return ErrorCode.NOT_FOUND
    state.result = bytes(value)
    return len(state.result)


async def _set(state: GuestCall, store: Store, kptr: int, klen: int, vptr: int, vlen: int) -> int:
    await store.set(state.read(kptr, klen), state.read(vptr, vlen))
    return 0


async def _delete(state: GuestCall, store: Store, kptr: int, klen: int) -> int:
    await store.delete(state.read(kptr, klen))
    return 0


async def _exists(state: GuestCall, store: Store, kptr: int, klen: int) -> int:
    return 1 if await store.exists(state.read(kptr, klen)) else 0


async def _keys(state: GuestCall, store: Store, pptr: int, plen: int) -> int:
    state.result = encode_key_list(list(await store.keys(state.read(pptr, plen))))
    return len(state.result)


async def _incr(state: GuestCall, store: Store, kptr: int, klen: int, delta: int, out: int) -> int:
    key = state.read(kptr, klen)
    state.write(out, b"\0" * 8)  # check the output pointer before changing anything
    value = await store.incr(key, delta)
    state.write(out, _I64.pack(value))
    return 0


IMPORTS = [
    HostImport("kv_get", "iiii", "l", _op(_get, 2), is_async=True),
    HostImport("kv_set", "iiiiii", "i", _op(_set, 4), is_async=True),
    HostImport("kv_delete", "iiii", "i", _op(_delete, 2), is_async=True),
    HostImport("kv_exists", "iiii", "i", _op(_exists, 2), is_async=True),
    HostImport("kv_keys", "iiii", "l", _op(_keys, 2), is_async=True),
    HostImport("kv_incr", "iiiili", "i", _op(_incr, 4), is_async=True),
]
