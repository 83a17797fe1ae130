"""KV imports: get / set / delete / exists / keys / incr on declared stores.

Stores whose coroutines never suspend (SQLite on a local file, memory) set
``eager = True``; their calls run inline and the guest continues without a
trip through the event loop. Other stores (Redis) run as asyncio tasks while
the guest is suspended.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Coroutine

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


def _run(state: GuestCall, store: Store, coro: Op) -> HostResult:
    if getattr(store, "eager", False):
        try:
            coro.send(None)
        except StopIteration as stop:
            return int(stop.value)
        except CapabilityError as exc:
            state.result = str(exc).encode()
            return exc.code
        coro.close()
        raise RuntimeError(f"store {type(store).__name__} is marked eager but suspended")
    return _guarded(state, coro)


async def _guarded(state: GuestCall, coro: Op) -> int:
    try:
        return await coro
    except CapabilityError as exc:
        state.result = str(exc).encode()
        return exc.code


def _op(body: Callable[..., Op], nargs: int) -> Callable[..., HostResult]:
    """Wrap ``body(state, store, *rest)``: resolve the store label, map errors to codes."""

    def fn(state: GuestCall, sptr: int, slen: int, *rest: int) -> HostResult:
        host = state.host
        OPS[host.name] = OPS.get(host.name, 0) + 1
        try:
            store = host.store(_label(state, sptr, slen))
        except CapabilityError as exc:
            state.result = str(exc).encode()
            return exc.code
        return _run(state, store, body(state, store, *rest))

    return fn


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
