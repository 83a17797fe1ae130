"""wasm-server:host@0.1.0 (sdk/wit/wasm-server.wit): kv and variables for components.

The same stores, limits and errors as ABI v1's KV imports (capabilities/kv.py):
a store must be in the component's ``key_value_stores`` (else ``denied``),
values over the store's limit are ``too-large``, ``incr`` of a non-integer is
``invalid``. Each call is committed when it returns (the store's plain API,
not ABI v1's group-commit fence). An eager store (SQLite on a local file,
memory) that finishes without suspending answers inline, without suspending the guest.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Generator
from typing import Any

from ... import tracing
from ...capabilities import kv as kv_capability
from ...engine.component import Err, HostFuncs
from ...errors import CapabilityError, ErrorCode
from ...kv.base import Store
from .call import WasiHttpCall

_CASES = {ErrorCode.DENIED: "denied", ErrorCode.TOO_LARGE: "too-large", ErrorCode.INVALID: "invalid",
          ErrorCode.IO: "io", ErrorCode.TIMEOUT: "timeout"}

Op = Coroutine[Any, Any, object]


def _error(exc: CapabilityError) -> Err:
    return Err((_CASES.get(exc.code, "io"), str(exc)))


class _Rest:
    """The rest of an operation that was stepped once inline and then suspended."""

    def __init__(self, coro: Op, first: object) -> None:
        self.coro = coro
        self.first = first

    def __await__(self) -> Generator[object, None, object]:
        yielded = self.first
        while True:
            try:
                sent = yield yielded
            except BaseException as exc:
                try:
                    yielded = self.coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
                continue
            try:
                yielded = self.coro.send(sent)
            except StopIteration as stop:
                return stop.value


def _run(call: WasiHttpCall, label: str, name: str, op: Callable[[Store], Op], writes: bool = False) -> object:
    result = _start(call, label, op, writes)
    if tracing.TRACER is None:
        return result
    span = tracing.child_span(f"kv.{name}", call.request_headers, {"wasm_server.component": call.host.name,
                                                                  "wasm_server.kv.store": label})
    return result if span is None else tracing.finish(span, result, _failure)


def _failure(result: object) -> str | None:
    """A KV result as a span's error (tracing.py)."""
    return repr(result.value) if isinstance(result, Err) else None


def _start(call: WasiHttpCall, label: str, op: Callable[[Store], Op], writes: bool) -> object:
    host = call.host
    if writes:
        call.side_effects = True
    kv_capability.OPS[host.name] = kv_capability.OPS.get(host.name, 0) + 1
    try:
        store: Store = host.store(label)
    except CapabilityError as exc:
        return _error(exc)
    coro = _guarded(op(store))
    if getattr(store, "eager", False):
        try:
            first = coro.send(None)
        except StopIteration as stop:
            return stop.value
        return _Rest(coro, first)
    return coro


async def _guarded(op: Coroutine[Any, Any, object]) -> object:
    try:
        return await op
    except CapabilityError as exc:
        return _error(exc)
    except UnicodeDecodeError:
        return Err(("invalid", "a key is not valid UTF-8"))


async def _get(store: Store, key: str) -> object:
    return await store.get(key.encode())


async def _set(store: Store, key: str, value: bytes) -> object:
    await store.set(key.encode(), bytes(value))
    return None


async def _delete(store: Store, key: str) -> object:
    await store.delete(key.encode())
    return None


async def _exists(store: Store, key: str) -> object:
    return bool(await store.exists(key.encode()))


async def _keys(store: Store, prefix: str) -> object:
    return [k.decode() for k in await store.keys(prefix.encode())]


async def _incr(store: Store, key: str, delta: int) -> object:
    return await store.incr(key.encode(), delta)


FUNCS: dict[str, HostFuncs] = {
    "wasm-server:host/types": {},
    "wasm-server:host/kv": {
        "get": lambda call, s, k: _run(call, s, "get", lambda st: _get(st, k)),
        "set": lambda call, s, k, v: _run(call, s, "set", lambda st: _set(st, k, v), writes=True),
        "delete": lambda call, s, k: _run(call, s, "delete", lambda st: _delete(st, k), writes=True),
        "exists": lambda call, s, k: _run(call, s, "exists", lambda st: _exists(st, k)),
        "keys": lambda call, s, p: _run(call, s, "keys", lambda st: _keys(st, p)),
        "incr": lambda call, s, k, d: _run(call, s, "incr", lambda st: _incr(st, k, d), writes=True),
    },
    "wasm-server:host/variables": {
        "get": lambda call, name: call.host.variables.get(name),
    },
}
