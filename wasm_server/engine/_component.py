"""Components (WASI 0.2) on the async call path, through libwasmtime's C API.

wasmtime-py 50 has no async component calls, but libwasmtime exports them:
``wasmtime_component_linker_instance_add_func_async`` (a host function that
may suspend the guest), ``wasmtime_component_linker_instantiate_async`` and
``wasmtime_component_func_call_async``, each driven by
``wasmtime_call_future_poll``. This module binds them with ctypes, as
``_lowlevel.py`` does for core modules: the guest runs on a Wasmtime fiber, a
host function that waits returns an awaitable, the poll then returns "not
done" and :func:`_drive` awaits that before polling again, so one thread
serves many suspended guests. An epoch tick makes a CPU-bound guest yield the
same way; the deadline turns into :class:`GuestTimeout`.

Every import is defined here from Python, none from Wasmtime's own WASI
(``add_wasip2`` / ``add_wasi_http``): their resource types are Rust-side and
a Python-made stream or request crossing into them fails with "mismatched
resource types".
"""

from __future__ import annotations

import asyncio
import ctypes
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from ctypes import POINTER, byref
from dataclasses import dataclass
from typing import Any, cast

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime import component as wc

from ..errors import GuestError, GuestTimeout, LoadError, Overloaded
from . import _component_values as cv
from ._component_values import CURRENT, ComponentTrap, Err, Lift, Lower
from .reasons import wasmtime_reason
from .turns import take_turn

__all__ = ["ComponentCall", "ComponentTrap", "Err", "GuestComponent", "HostFunc", "ImportPlan", "Linked",
           "instantiate", "link", "own_lowerer"]

_VP = ctypes.c_void_p
_raw = cv._raw
_poll = _raw("wasmtime_call_future_poll", ctypes.c_bool, [_VP])
_delete = _raw("wasmtime_call_future_delete", None, [_VP])
_call_async = _raw("wasmtime_component_func_call_async", _VP,
                   [_VP, _VP, _VP, ctypes.c_size_t, _VP, ctypes.c_size_t, _VP])
_instantiate_async = _raw("wasmtime_component_linker_instantiate_async", _VP, [_VP, _VP, _VP, _VP, _VP])
_ValP = POINTER(ffi.wasmtime_component_val_t)
# typed pointers in the callback's signature: ctypes builds them in C (no cast per call)
_ASYNC_CB = ctypes.CFUNCTYPE(None, _VP, _VP, _VP, _ValP, ctypes.c_size_t, _ValP, ctypes.c_size_t,
                             POINTER(_VP), POINTER(ffi.wasmtime_async_continuation_t))
_FINALIZER = ctypes.CFUNCTYPE(None, _VP)
_add_func_async = _raw("wasmtime_component_linker_instance_add_func_async", _VP,
                       [_VP, ctypes.c_char_p, ctypes.c_size_t, _ASYNC_CB, _VP, _FINALIZER])
_error_new = _raw("wasmtime_error_new", _VP, [ctypes.c_char_p])
_val_delete = _raw("wasmtime_component_val_delete", None, [_VP])
_set_epoch_deadline = _raw("wasmtime_context_set_epoch_deadline", None, [_VP, ctypes.c_uint64])
_cast = ctypes.cast
_monotonic = time.monotonic


def _await(value: object, default: None) -> object:
    """``value.__await__`` or ``default``: an awaitable test without the ABC machinery of
    ``isinstance(value, Awaitable)`` (a host call's result is usually a plain value)."""
    return getattr(value, "__await__", default)

#: a host function: ``(call, *args) -> value | Awaitable[value]`` in the shapes of _component_values
HostFunc = Callable[..., object]

_KEEP: list[Any] = []  # ctypes callbacks must outlive every linker that uses them


def _no_finalizer(_env: Any) -> None:
    return None


_FIN = _FINALIZER(_no_finalizer)
_READY = ffi.wasmtime_func_async_continuation_callback_t(lambda _env: True)


class ComponentCall:
    """The host state of one component instance (one Store): its resource table and
    the machinery of the host call the guest is suspended on. Executors subclass it
    for their per-request state."""

    def __init__(self) -> None:
        #: the Store's context (set when the instance is created)
        self.ctx: Any = None
        #: host resources the guest holds handles to, by rep
        self.table: dict[int, object] = {}
        self._next_rep = 1
        #: the awaitable host call the guest waits on, and where its result goes
        self.pending: asyncio.Future[object] | None = None
        self.pending_lower: tuple[Lower | None, Any] | None = None
        #: why a host call failed after suspending (the guest then traps; this is the reason)
        self.failure: str | None = None
        #: host calls the guest made (all requests of this instance)
        self.calls = 0

    def put(self, obj: object) -> int:
        """Store ``obj`` in the resource table; returns its rep."""
        rep = self._next_rep
        self._next_rep = rep + 1
        self.table[rep] = obj
        return rep

    def get(self, rep: int) -> object:
        """The resource of ``rep``."""
        try:
            return self.table[rep]
        except KeyError:
            raise ComponentTrap(f"unknown resource handle (rep {rep})") from None

    def take(self, rep: int) -> object:
        """Remove and return the resource of ``rep`` (an ``own`` handle came back)."""
        try:
            return self.table.pop(rep)
        except KeyError:
            raise ComponentTrap(f"unknown resource handle (rep {rep})") from None

    def dropped(self, obj: object) -> None:
        """Hook: the guest dropped its handle to ``obj`` (close what it holds)."""

    def clear(self) -> None:
        """Forget every resource (after a request: guests leave handles undropped)."""
        objs = list(self.table.values())
        self.table.clear()
        for obj in objs:
            self.dropped(obj)


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """What the host offers, by interface name without its ``@version``.

    ``funcs[iface][name]`` implements a function; ``resources[iface][name]`` is
    the host type id of a resource (``resources["*"]``: ids shared by every interface
    that ``use``s the resource, e.g. ``input-stream``); ``refuse(iface)`` says why an interface
    the host does not offer traps (None: link fails instead)."""

    funcs: Mapping[str, Mapping[str, HostFunc]]
    resources: Mapping[str, Mapping[str, int]]
    rid: Callable[[object], int]
    refuse: Callable[[str], str | None]
    #: why an import (``interface@version``) cannot be linked at all, or None
    unlinkable: Callable[[str], str | None] = lambda _name: None


@dataclass(frozen=True, slots=True)
class Linked:
    """A compiled component with the linker built from its own import types."""

    origin: str
    component: wc.Component
    linker: wc.Linker
    #: ``interface@version`` of each import, for messages
    imports: tuple[str, ...]
    #: host functions defined (counted once per component)
    defined: int


def link(engine: wasmtime.Engine, component: wc.Component, origin: str, plan: ImportPlan) -> Linked:
    """Build a linker that defines every import of ``component`` from ``plan``.

    Each import is defined under the exact name and version the component asks for
    (``wasi:io/streams@0.2.9``), so any 0.2.x build links; converters are made from
    the import's function types here, once."""
    linker = wc.Linker(engine)
    names: list[str] = []
    defined = 0
    with linker.root() as root:
        for full, ext in component.type.imports(engine).items():
            iface = full.split("@", 1)[0]
            names.append(full)
            why = plan.unlinkable(full)
            if why is not None:
                raise LoadError(f"{origin}: imports '{full}': {why}")
            ty = ext.ty
            if not isinstance(ty, wc.ComponentInstanceType):
                raise LoadError(f"{origin}: imports '{full}', which is not an interface (not served)")
            funcs = plan.funcs.get(iface)
            refused = None if funcs is not None else plan.refuse(iface)
            if funcs is None and refused is None:
                raise LoadError(f"{origin}: imports '{full}', which this server does not provide")
            with root.add_instance(full) as inst:
                resources = {**plan.resources.get("*", {}), **plan.resources.get(iface, {})}
                try:
                    defined += _define_instance(inst, full, iface, ty.exports(engine), funcs or {}, resources,
                                                plan.rid, refused)
                except LoadError as exc:
                    raise LoadError(f"{origin}: {exc}") from None
    return Linked(origin, component, linker, tuple(names), defined)


def _define_instance(inst: wc.LinkerInstance, full: str, iface: str, items: Mapping[str, Any],
                     funcs: Mapping[str, HostFunc], resources: Mapping[str, int],
                     rid: Callable[[object], int], refused: str | None) -> int:
    count = 0
    for name, ext in items.items():
        ty = ext.ty
        if isinstance(ty, wc.ResourceType):
            type_id = resources.get(name, _fallback_rid(name))
            inst.add_resource(name, wc.ResourceType.host(type_id), _dtor)
        elif isinstance(ty, wc.FuncType):
            fn = funcs.get(name)
            label = f"{full}#{name}"
            if fn is None:
                why = refused or "not implemented by this server"
                _define(inst, name, _refusing(label, why), [], None, label)
            else:
                try:
                    lifts = [cv.converters(pty, rid)[0] for _, pty in ty.params]
                    result = ty.result
                    lower = None if result is None else cv.converters(result, rid)[1]
                except TypeError as exc:
                    raise LoadError(f"imports {label}: {exc}") from None
                _define(inst, name, fn, lifts, lower, label)
            count += 1
    return count


def _fallback_rid(name: str) -> int:
    """A type id for a resource the host never makes (of an interface it refuses). By name, so
    the same resource ``use``d by several refused interfaces gets the same id everywhere."""
    return 0x7FFF0000 + (zlib.crc32(name.encode()) & 0xFFFF)


def _refusing(label: str, why: str) -> HostFunc:
    def refuse(_call: ComponentCall, *_args: object) -> object:
        raise ComponentTrap(f"{label}: {why}")

    return refuse


def _dtor(_store: Any, rep: int) -> None:
    """The guest dropped a handle to a host resource."""
    state = CURRENT.state
    if isinstance(state, ComponentCall):
        obj = state.table.pop(rep, None)
        if obj is not None:
            state.dropped(obj)


def _define(inst: wc.LinkerInstance, name: str, fn: HostFunc, lifts: Sequence[Lift], lower: Lower | None,
            label: str) -> None:
    nparams = len(lifts)

    def continuation(_env: Any) -> bool:
        state = CURRENT.state
        assert isinstance(state, ComponentCall)
        fut = state.pending
        if fut is None or not fut.done():
            return False
        state.pending = None
        target = state.pending_lower
        state.pending_lower = None
        try:
            value = fut.result()
            if target is not None and target[0] is not None:
                target[0](value, target[1][0])
        except Exception as exc:
            # the results keep their placeholder (bool false): lowering it into the guest fails
            # its type check and the guest traps; this is the reason the executor reports
            state.failure = f"{label}: {exc}"
        return True

    cont_cb = ffi.wasmtime_func_async_continuation_callback_t(continuation)

    def trampoline(_env: Any, _ctx: Any, _ty: Any, args: Any, nargs: int, results: Any, nresults: int,
                   err_ret: Any, cont: Any) -> None:
        state = CURRENT.state
        c = cont.contents
        c.callback = _READY
        c.finalizer = _FIN
        try:
            assert isinstance(state, ComponentCall)
            state.calls += 1
            value = fn(state, *[lifts[i](args[i]) for i in range(nparams)])
            if _await(value, None) is not None:
                state.pending = asyncio.ensure_future(cast("Awaitable[object]", value))
                state.pending_lower = (lower, results)
                c.callback = cont_cb
                return
            if lower is not None:
                lower(value, results[0])
        except Exception as exc:  # a host function must never unwind into C
            msg = f"{label}: {exc}" if not isinstance(exc, ComponentTrap) else str(exc)
            if state is not None and isinstance(state, ComponentCall) and state.failure is None:
                state.failure = msg
            err_ret[0] = _error_new(msg.encode())

    cb = _ASYNC_CB(trampoline)
    _KEEP.extend((cb, cont_cb))
    data = name.encode()
    err = _add_func_async(inst.ptr(), data, len(data), cb, None, _FIN)
    if err:
        raise LoadError(f"cannot define {name}: {cv._wasmtime_error(err)}")


# ---------------------------------------------------------------------------
# Instances and calls
# ---------------------------------------------------------------------------


class GuestComponent:
    """One instance of a component in its own Store."""

    __slots__ = ("ctx", "func", "idle_since", "inst", "state", "store", "uses")

    def __init__(self, store: wasmtime.Store, state: ComponentCall) -> None:
        self.store = store
        self.state = state
        self.ctx = store._context()
        self.inst = ffi.wasmtime_component_instance_t()
        self.func: Any = None
        self.uses = 0
        #: when it went back to its executor's pool (monotonic seconds)
        self.idle_since = 0.0

    async def call(self, args: Sequence[tuple[Lower, object]], deadline: float) -> None:
        """Call the export found by :func:`instantiate` with ``args`` (lowered here); no result."""
        vals = (ffi.wasmtime_component_val_t * max(len(args), 1))()
        state = self.state
        CURRENT.state = state
        try:
            for i, (lower, value) in enumerate(args):
                lower(value, vals[i])
        finally:
            CURRENT.state = None
        err = POINTER(ffi.wasmtime_error_t)()
        _set_epoch_deadline(self.ctx, 1)
        future = _call_async(byref(self.func), self.ctx, vals, len(args), None, 0, byref(err))
        self.uses += 1
        try:
            await _drive(state, future, deadline)
        finally:
            for i in range(len(args)):
                _val_delete(byref(vals[i]))
        _raise_if_failed(state, err)


async def instantiate(engine: wasmtime.Engine, linked: Linked, export: wc.ExportIndex, state: ComponentCall,
                      memory: int, deadline: float) -> GuestComponent:
    """A fresh instance of ``linked`` in a new Store limited to ``memory`` bytes per
    linear memory; ``export`` (a component ExportIndex) is the function :meth:`GuestComponent.call`
    calls."""
    store = wasmtime.Store(engine)
    store.set_limits(memory_size=memory)
    guest = GuestComponent(store, state)
    ctx = guest.ctx
    state.ctx = ctx
    ffi.wasmtime_context_epoch_deadline_async_yield_and_update(ctx, 1)
    _set_epoch_deadline(ctx, 1)
    err = POINTER(ffi.wasmtime_error_t)()
    future = _instantiate_async(linked.linker.ptr(), ctx, linked.component.ptr(), byref(guest.inst), byref(err))
    await _drive(state, future, deadline)
    try:
        _raise_if_failed(state, err)
    except GuestError as exc:
        if "maximum concurrent" in str(exc):  # every pooled slot is in use: 503, not the guest's fault
            raise Overloaded(f"{linked.origin}: no free instance slot ({exc})") from None
        raise
    func = ffi.wasmtime_component_func_t()
    if not ffi.wasmtime_component_instance_get_func(byref(guest.inst), ctx, export.ptr(), byref(func)):
        raise GuestError(f"{linked.origin}: the export is not a function")
    guest.func = func
    return guest


def _raise_if_failed(state: ComponentCall, err: Any) -> None:
    if not err:
        state.failure = None
        return
    text = wasmtime.WasmtimeError._from_ptr(err)
    reason = state.failure or _trap_reason(str(text))
    state.failure = None
    raise GuestError(reason)


def _trap_reason(text: str) -> str:
    head, found, cause = text.partition("Caused by:")
    lines = [ln.strip() for ln in (cause if found else head).splitlines() if ln.strip()]
    return wasmtime_reason(lines[0]) if lines else "trap"


async def _drive(state: ComponentCall, future: Any, deadline: float) -> None:
    """Poll a call future to completion (see the module docstring)."""
    try:
        while True:
            CURRENT.state = state
            try:
                done = _poll(future)
            finally:
                CURRENT.state = None
            if done:
                return
            remaining = deadline - _monotonic()
            if remaining <= 0:
                raise GuestTimeout("guest ran past its deadline")
            pending = state.pending
            if pending is not None and not pending.done():
                await asyncio.wait((pending,), timeout=remaining)
            else:
                # an epoch yield: let the loop serve everyone else before this guest goes on
                await take_turn()
    finally:
        pending = state.pending
        if pending is not None and not pending.done():
            pending.cancel()  # the host call the guest waited on is abandoned with it
        state.pending = None
        state.pending_lower = None
        # deleting an unfinished future unwinds the guest's fiber; the Store is then discarded
        _delete(future)


def own_lowerer(rid: Callable[[object], int]) -> Lower:
    """The lowerer of an ``own<R>`` argument (the request and outparam handed to ``handle``)."""
    return cv._resource(True, rid)[1]


