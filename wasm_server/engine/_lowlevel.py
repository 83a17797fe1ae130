"""The hot path into and out of Wasmtime, through the low-level bindings.

wasmtime-py's ``Func.__call__`` costs ~26 µs a call; going through
``wasmtime._ffi`` with prebuilt ``wasmtime_val_t`` arrays costs ~4 µs, and the
compiled crossing below ~0.5 µs (3.6k instructions; ctypes 26k). Every guest
call and every host import goes through this module and nowhere else.

Calls are *async* calls (``wasmtime_func_call_async``): the guest runs on a
Wasmtime fiber, and :func:`drive` polls the call future from asyncio. A host
import that waits on I/O returns a continuation; the poll then returns
"pending" and :func:`drive` awaits the import's asyncio future before polling
again, so the event loop serves everyone else meanwhile. An epoch tick makes a
CPU-bound guest yield the same way, which is how deadlines are enforced.

Only one guest runs at a time on the loop thread (polls are synchronous), so
the guest being polled is kept in :data:`CURRENT`; host import callbacks read
their per-instance state from there instead of mapping context pointers.

Two implementations of the crossing, one behaviour: the compiled one
(``_fastcall.c``: the call with its first poll, the import trampolines and
:meth:`HostCall.read`/``write`` in C, without libffi; ``HostCall`` then derives from its
``Crossing``) when fastcall.py says it may be used, else ctypes (the pure-Python form,
also under ``WASM_SERVER_PURE_PYTHON=1``). :data:`IMPLEMENTATION` says which runs.
"""

from __future__ import annotations

import asyncio
import ctypes
import time
from collections.abc import Awaitable, Callable
from ctypes import POINTER, byref
from typing import TYPE_CHECKING, Any, Protocol

from wasmtime import Trap, WasmtimeError, _bindings
from wasmtime import _ffi as ffi

from ..errors import GuestError, GuestTimeout
from . import fastcall
from .turns import take_turn

I32 = int(ffi.WASMTIME_I32.value)
I64 = int(ffi.WASMTIME_I64.value)
EXTERN_FUNC = int(ffi.WASMTIME_EXTERN_FUNC.value)
EXTERN_MEMORY = int(ffi.WASMTIME_EXTERN_MEMORY.value)
#: whether the compiled crossing is used (see the module docstring)
FAST = fastcall.usable()
#: "compiled" or "ctypes"
IMPLEMENTATION = "compiled" if FAST else "ctypes"
if FAST:
    from . import _fastcall as _fc


def _raw(name: str, restype: Any, argtypes: list[Any]) -> Any:
    """A private ctypes handle on a C function with cheap signatures.

    ``dll[name]`` makes a new function object, so these settings do not touch
    the one wasmtime-py uses. Pointers travel as plain ``c_void_p`` integers
    (no ``.contents``/``addressof`` round trips on the hottest calls).
    """
    fn = _bindings.dll[name]  # type: ignore[attr-defined]
    fn.restype = restype
    fn.argtypes = argtypes
    return fn


_VP = ctypes.c_void_p
_poll = _raw("wasmtime_call_future_poll", ctypes.c_bool, [_VP])
_delete = _raw("wasmtime_call_future_delete", None, [_VP])
_call_async = _raw(
    "wasmtime_func_call_async", _VP, [_VP, _VP, _VP, ctypes.c_size_t, _VP, ctypes.c_size_t, _VP, _VP]
)
_memory_data = _raw("wasmtime_memory_data", ctypes.c_size_t, [_VP, _VP])
_set_epoch_deadline = _raw("wasmtime_context_set_epoch_deadline", None, [_VP, ctypes.c_uint64])
_memory_size = _raw("wasmtime_memory_data_size", ctypes.c_size_t, [_VP, _VP])
_string_at = ctypes.string_at
_memmove = ctypes.memmove
_cast = ctypes.cast
_c_void_p = ctypes.c_void_p
_monotonic = time.monotonic


class _CtypesSlots:
    """The engine's slots of a :class:`HostCall` on the ctypes path (on the compiled path
    they are ``_fastcall.Crossing``, with the same names and methods)."""

    __slots__ = ("ctx", "err", "err_ref", "fence", "mem_ref", "memory", "pending", "pending_label",
                 "pending_results", "trap", "trap_ref")

    def __init__(self) -> None:
        #: the Store's context, set by the engine when it creates the instance
        self.ctx: Any = None
        #: ``wasmtime_extern_t`` of the guest's exported memory, set after instantiation
        self.memory: Any = None
        #: asyncio future of the host import the guest is suspended on, and that import's name
        self.pending: asyncio.Future[int] | None = None
        self.pending_label: str | None = None
        self.pending_results: Any = None
        #: what the call's outcome must wait for: the group commit of KV writes it made
        #: (capabilities/kv.py); a call returns only once it is done, and fails if it failed
        self.fence: asyncio.Future[None] | None = None
        self.mem_ref: Any = None
        self.trap: Any = None
        self.err: Any = None
        self.trap_ref: Any = None
        self.err_ref: Any = None
        self.fresh_outputs()

    def fresh_outputs(self) -> None:
        """Null trap/error out-pointers for the next call (reused while calls succeed)."""
        self.trap = POINTER(ffi.wasm_trap_t)()
        self.err = POINTER(ffi.wasmtime_error_t)()
        self.trap_ref = byref(self.trap)
        self.err_ref = byref(self.err)

    def set_memory(self, memory: Any) -> None:
        """Remember the guest's exported memory (a ``wasmtime_extern_t``)."""
        self.memory = memory
        self.mem_ref = byref(memory.of.memory)

    def read(self, ptr: int, length: int) -> bytes:
        """Copy ``length`` bytes out of guest memory, trapping on out-of-bounds."""
        ctx, mem = self.ctx, self.mem_ref
        size = _memory_size(ctx, mem)
        if ptr < 0 or length < 0 or ptr + length > size:
            raise GuestError(f"guest passed out-of-bounds memory range {ptr}+{length} (size {size})")
        return _string_at(_memory_data(ctx, mem) + ptr, length)

    def write(self, ptr: int, data: bytes) -> None:
        """Copy ``data`` into guest memory at ``ptr``, trapping on out-of-bounds."""
        ctx, mem = self.ctx, self.mem_ref
        size = _memory_size(ctx, mem)
        if ptr < 0 or ptr + len(data) > size:
            raise GuestError(f"guest passed out-of-bounds memory range {ptr}+{len(data)} (size {size})")
        _memmove(_memory_data(ctx, mem) + ptr, data, len(data))


if TYPE_CHECKING or not FAST:
    _Slots = _CtypesSlots
else:
    _Slots = _fc.Crossing


class HostCall(_Slots):
    """What a host import sees of the guest instance that called it.

    The engine owns the slots here: the guest's memory (:meth:`read`,
    :meth:`write`), the result slot of docs/abi.md (:attr:`result`) and the
    call machinery (``ctx``, ``memory``, ``pending``, ``fence``: the base class,
    compiled or ctypes). Capabilities subclass it to add their per-instance state
    (the engine never looks at it) and override the two lifecycle hooks:
    :meth:`after_event` (after each event an instance handled) and
    :meth:`release` (the instance is being discarded).
    """

    __slots__ = ("result",)

    def __init__(self) -> None:
        super().__init__()
        #: the result slot of docs/abi.md
        self.result = b""

    def after_event(self) -> None:
        """Hook: the instance finished handling one event (an HTTP request included)."""

    def release(self) -> None:
        """Hook: the instance is being discarded; close what the guest opened through imports."""


#: the state of the guest currently being polled (see module docstring; the compiled path
#: keeps its own, in C)
CURRENT: HostCall | None = None


def _trap_message(trap: Any, err: Any) -> str:
    text = Trap._from_ptr(trap).message if trap else str(WasmtimeError._from_ptr(err))
    # Wasmtime puts the cause after the backtrace; lead with it
    head, found, cause = text.partition("Caused by:")
    lines = [ln.strip() for ln in (cause if found else head).splitlines() if ln.strip()]
    reason = lines[0] if lines else "trap"
    if found:
        frames = [ln.strip() for ln in head.splitlines() if ln.strip().startswith(("0:", "1:", "2:"))]
        reason += " (at " + "; ".join(frames) + ")" if frames else ""
    return reason


def _exit_status(err: Any) -> int | None:
    status = ctypes.c_int()
    if err and ffi.wasmtime_error_exit_status(err, byref(status)):
        return status.value
    return None


class CallFuture(Protocol):
    """A guest call (or instantiation) after its first poll: :class:`_CtypesFuture`, or
    ``_fastcall.Future`` on the compiled path."""

    @property
    def finished(self) -> bool:
        """Whether the call finished."""

    def poll(self, state: Any) -> bool:
        """Run the guest until it finishes (True) or waits (False); ``state`` is what its imports see."""

    def close(self) -> None:
        """Delete the Wasmtime future (an unfinished guest's fiber is unwound)."""

    def outcome(self) -> int | None:
        """A finished call: None, its WASI exit status, or :class:`GuestError` if it trapped."""


class _CtypesFuture:
    """:class:`CallFuture` on the ctypes path: the future and the trap/error out-pointers."""

    __slots__ = ("err", "finished", "ptr", "trap")

    def __init__(self, ptr: Any, trap: Any, err: Any) -> None:
        self.ptr = ptr
        self.trap = trap
        self.err = err
        self.finished = False

    def poll(self, state: Any) -> bool:
        """See :class:`CallFuture`."""
        global CURRENT
        CURRENT = state
        try:
            self.finished = bool(_poll(self.ptr))
        finally:
            CURRENT = None
        return self.finished

    def close(self) -> None:
        """See :class:`CallFuture`."""
        if self.ptr is not None:
            ptr, self.ptr = self.ptr, None
            _delete(ptr)

    def outcome(self) -> int | None:
        """See :class:`CallFuture`."""
        return _outcome(self.trap, self.err) if self.trap or self.err else None


def _import_failed(state: HostCall, pending: asyncio.Future[int]) -> str:
    """Why the async import the guest waited on gave it no result (drive() fails the call)."""
    label = state.pending_label or "a host import"
    if pending.cancelled():
        return f"{label} was cancelled"
    exc = pending.exception()
    if exc is not None:
        return f"{label}: {exc}"
    return f"{label} returned {pending.result()!r}, not an integer"


async def drive(state: HostCall, future: CallFuture, deadline: float, polled: bool = False) -> int | None:
    """Poll a call future to completion; returns a WASI exit status if the guest exited.

    Raises :class:`GuestTimeout` past ``deadline`` (monotonic seconds) and
    :class:`GuestError` if the guest trapped, or if the async import it waited on failed
    (an exception can only become a trap before the import suspends; after, its call
    fails here). ``polled``: the caller already polled once.
    """
    try:
        done = future.finished if polled else future.poll(state)
        while not done:
            pending = state.pending
            if pending is not None and pending.done():
                # the continuation declined a finished future: it failed or gave no int
                raise GuestError(_import_failed(state, pending))
            remaining = deadline - _monotonic()
            if remaining <= 0:
                raise GuestTimeout("guest ran past its deadline")
            if pending is not None:
                await asyncio.wait((pending,), timeout=remaining)
            else:
                # an epoch yield: let the loop serve everything else before this guest goes on
                await take_turn()
            done = future.poll(state)
    finally:
        pending = state.pending
        if pending is not None and not pending.done():
            pending.cancel()  # the host call the guest waited on is abandoned with it
        state.pending = None
        # deleting an unfinished future unwinds the guest's fiber; the store
        # is then discarded by the caller
        future.close()
    return future.outcome()


def _outcome(trap: Any, err: Any) -> int:
    """A finished call that trapped or failed: its WASI exit status, else GuestError."""
    status = _exit_status(err)
    if status is not None:
        return status
    raise GuestError(_trap_message(trap, err))


async def _call_ctypes(
    state: HostCall, func_ref: Any, args: Any, nargs: int, results: Any, nresults: int, deadline: float
) -> int | None:
    """:func:`call` on the ctypes path."""
    trap, err = state.trap, state.err
    # the deadline counts from this call, not from the instance's last one: an
    # instance that waited in a pool would otherwise yield at once, every time
    _set_epoch_deadline(state.ctx, 1)
    future = _call_async(state.ctx, func_ref, args, nargs, results, nresults, state.trap_ref, state.err_ref)
    # fast path: most calls finish in their first poll, without a drive() coroutine
    global CURRENT
    CURRENT = state
    try:
        done = _poll(future)
    except BaseException:
        CURRENT = None
        _delete(future)
        raise
    CURRENT = None
    if done:
        _delete(future)
        if not trap and not err:
            if state.fence is not None:
                await settle(state)
            return None
        try:
            return _outcome(trap, err)
        finally:
            state.fresh_outputs()  # the next call needs null out-pointers again
    try:
        status = await drive(state, _CtypesFuture(future, trap, err), deadline, polled=True)
    finally:
        if trap or err:
            state.fresh_outputs()
    if state.fence is not None:
        await settle(state)
    return status


async def _resume(state: HostCall, future: CallFuture, deadline: float, fenced: bool) -> int | None:
    """The compiled path's call after a first poll that did not finish cleanly: drive it to
    its end (or raise its trap), then wait for the fence (a call; not an instantiation)."""
    status = await drive(state, future, deadline, polled=True)
    if fenced and state.fence is not None:
        await settle(state)
    return status


def _outcome_at(trap: int, err: int) -> int:
    """:func:`_outcome` of the out-pointers the compiled path hands over as addresses."""
    return _outcome(_cast(trap, POINTER(ffi.wasm_trap_t)) if trap else None,
                    _cast(err, POINTER(ffi.wasmtime_error_t)) if err else None)


#: ``call(state, func_ref, args, nargs, results, nresults, deadline)``: call a function
#: (``byref`` of a ``wasmtime_func_t``) with prebuilt ``wasmtime_val_t`` arrays, asynchronously:
#: set the epoch deadline, start the call, poll it once; a call that is not finished then is
#: driven by :func:`drive`. Awaiting it gives None or the guest's WASI exit status; raises
#: :class:`GuestError`/:class:`GuestTimeout`. Compiled: one C call, and an already finished
#: awaitable in the common case.
call: Callable[..., Awaitable[int | None]] = _fc.call if FAST else _call_ctypes


async def settle(state: HostCall) -> None:
    """Wait for the call's fence (the commit of its KV writes); GuestError if that failed.

    The guest was told its writes succeeded, but nobody else may be told (no
    HTTP response, no event result) until they are committed; if the commit
    failed, the call fails as a whole and its instance is discarded.
    """
    fence, state.fence = state.fence, None
    if fence is None:
        return
    try:
        await fence
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        raise GuestError(f"the call's key-value writes were not committed: {exc}") from None


_instantiate_async = _raw("wasmtime_instance_pre_instantiate_async", _VP, [_VP, _VP, _VP, _VP, _VP])


async def instantiate_into(state: HostCall, pre: int, out: int, deadline: float) -> None:
    """Instantiate the ``wasmtime_instance_pre_t`` at address ``pre`` asynchronously into the
    ``wasmtime_instance_t`` at address ``out`` (the engine's per-instance C slots)."""
    if FAST:
        await _fc.instantiate(state, pre, out, deadline)
        return
    trap = POINTER(ffi.wasm_trap_t)()
    err = POINTER(ffi.wasmtime_error_t)()
    future = _instantiate_async(pre, state.ctx, out, byref(trap), byref(err))
    await drive(state, _CtypesFuture(future, trap, err), deadline)


def export(ctx: Any, inst: Any, name: bytes) -> Any:
    """Look up an export of an instance; returns a ``wasmtime_extern_t`` or None.
    ``ctx`` may be an address, as the engine keeps it (engine/rawstore.py)."""
    if isinstance(ctx, int):
        ctx = _cast(ctx, POINTER(ffi.wasmtime_context_t))
    item = ffi.wasmtime_extern_t()
    if ffi.wasmtime_instance_export_get(ctx, byref(inst), name, len(name), byref(item)):
        return item
    return None


# ---------------------------------------------------------------------------
# Host imports
# ---------------------------------------------------------------------------

#: a host import body: ``(call, *int args) -> int | None | Awaitable[int]``
HostFn = Callable[..., Any]

_KEEP: list[Any] = []  # ctypes callbacks must outlive the linker


def _finalize_nothing(_env: Any) -> None:
    return None


_no_finalizer: Any = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(_finalize_nothing)


def val_array(kinds: str) -> Any:
    """A prebuilt ``wasmtime_val_t`` array with kinds set (``i`` = i32, ``l`` = i64)."""
    arr: Any = (ffi.wasmtime_val_t * max(len(kinds), 1))()
    for i, k in enumerate(kinds):
        arr[i].kind = I64 if k == "l" else I32
    return arr


def _trap_ptr(message: str) -> Any:
    data = message.encode()
    return ffi.wasmtime_trap_new(data, len(data))


def _define_compiled(linker: Any, name: bytes, ty: Any, result_kind: int, fn: HostFn, module: bytes,
                     is_async: bool) -> None:
    """Define an import whose trampoline is C (``_fastcall.define``)."""
    label = f"{module.decode()}.{name.decode()}"
    hostfn, error = _fc.define(linker, module, name, ty, result_kind, fn, is_async, label)
    _KEEP.append(hostfn)  # the linker calls it for as long as the process lives
    if error:
        raise WasmtimeError._from_ptr(_cast(error, POINTER(ffi.wasmtime_error_t)))


def _schedule(value: Any) -> asyncio.Future[int] | int:
    """What an async import body returned: scheduled if awaitable, else its int (the C trampoline's
    slow case; ``int()`` raises for anything else, which traps)."""
    if isinstance(value, Awaitable):
        return asyncio.ensure_future(value)
    return int(value)


def define_sync(linker: Any, name: bytes, ty: Any, result_kind: int, fn: HostFn,
                module: bytes = b"wasm_server") -> None:
    """Define ``<module>.<name>`` as a synchronous host import.

    ``fn(state, *args)`` gets the guest's arguments as ints and returns the result (an int,
    or anything for ``-> ()``); an exception traps the guest with ``<module>.<name>: <message>``.
    """
    if FAST:
        _define_compiled(linker, name, ty, result_kind, fn, module, False)
        return

    def trampoline(_env: Any, _caller: Any, args: Any, nargs: int, results: Any, nresults: int) -> int:
        try:
            value = fn(CURRENT, *[args[i].of.i64 if args[i].kind == I64 else args[i].of.i32 for i in range(nargs)])
            if nresults:
                results[0].kind = result_kind
                if result_kind == I64:
                    results[0].of.i64 = value
                else:
                    results[0].of.i32 = value
            return 0
        except Exception as exc:  # a host import must never unwind into C
            return _cast(_trap_ptr(f"{label}: {exc}"), _c_void_p).value or 0

    label = f"{module.decode()}.{name.decode()}"
    cb = ffi.wasmtime_func_callback_t(trampoline)
    _KEEP.append(cb)
    error = ffi.wasmtime_linker_define_func(linker, module, len(module), name, len(name), ty, cb, None, _no_finalizer)
    if error:
        raise WasmtimeError._from_ptr(error)


def define_async(linker: Any, name: bytes, ty: Any, result_kind: int, fn: HostFn,
                 module: bytes = b"wasm_server") -> None:
    """Define ``<module>.<name>`` as an async host import.

    ``fn`` returns its integer result, or an awaitable of it: the guest is then
    suspended until that is done (:func:`drive`). An exception before it
    suspends traps the guest; after, the call fails with :class:`GuestError`.
    """
    if FAST:
        _define_compiled(linker, name, ty, result_kind, fn, module, True)
        return

    def set_result(results: Any, value: int) -> None:
        results[0].kind = result_kind
        if result_kind == I64:
            results[0].of.i64 = value
        else:
            results[0].of.i32 = value

    def continuation_fn(_env: Any) -> bool:
        state = CURRENT
        fut = state.pending if state is not None else None
        if state is None or fut is None or not fut.done():
            return False
        # an exception or a non-int stays in the future: drive() fails the call with it
        # (a callback must not raise: ctypes would print it and return False anyway)
        if fut.cancelled() or fut.exception() is not None or not isinstance(fut.result(), int):
            return False
        set_result(state.pending_results, fut.result())
        state.pending = None
        state.pending_label = None
        state.pending_results = None
        return True

    def ready_fn(_env: Any) -> bool:
        return True

    continuation = ffi.wasmtime_func_async_continuation_callback_t(continuation_fn)
    ready = ffi.wasmtime_func_async_continuation_callback_t(ready_fn)

    def trampoline(
        _env: Any, _caller: Any, args: Any, nargs: int, results: Any, nresults: int, trap_ret: Any, cont: Any
    ) -> None:
        state = CURRENT
        try:
            assert state is not None
            argv = [args[i].of.i64 if args[i].kind == I64 else args[i].of.i32 for i in range(nargs)]
            value = fn(state, *argv)
            if not isinstance(value, Awaitable):
                # the import had its answer at once (a local SQLite read)
                set_result(results, int(value))
                cont.contents.callback = ready
                cont.contents.finalizer = _no_finalizer
                return
            task = asyncio.ensure_future(value)
            state.pending = task
            state.pending_label = label
            state.pending_results = results
            cont.contents.callback = continuation
            cont.contents.finalizer = _no_finalizer
        except Exception as exc:
            trap_ret[0] = _trap_ptr(f"{label}: {exc}")
            # Wasmtime polls the continuation even when a trap is returned: it must be a
            # valid "done" callback, or the process aborts (a guest could crash the server)
            cont.contents.callback = ready
            cont.contents.finalizer = _no_finalizer

    label = f"{module.decode()}.{name.decode()}"
    cb = ffi.wasmtime_func_async_callback_t(trampoline)
    _KEEP.extend((cb, continuation, ready))
    error = ffi.wasmtime_linker_define_async_func(
        linker, module, len(module), name, len(name), ty, cb, None, _no_finalizer
    )
    if error:
        raise WasmtimeError._from_ptr(error)


if FAST:
    _fc.init(
        {name: int(_cast(getattr(_bindings.dll, name), _c_void_p).value or 0) for name in (  # type: ignore[attr-defined]
            "wasmtime_func_call_async", "wasmtime_instance_pre_instantiate_async", "wasmtime_call_future_poll",
            "wasmtime_call_future_delete", "wasmtime_context_set_epoch_deadline", "wasmtime_memory_data",
            "wasmtime_memory_data_size", "wasmtime_trap_new", "wasmtime_linker_define_func",
            "wasmtime_linker_define_async_func")},
        I32, I64, GuestError, _resume, _outcome_at, _schedule,
        ctypes.c_int.__mro__[2], type(byref(ctypes.c_int())),
    )
