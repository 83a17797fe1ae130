"""One guest instance in its own Store, and the calls the executors make on it."""

from __future__ import annotations

import ctypes
import time
from typing import Any

from ..errors import GuestError, Overloaded
from . import _lowlevel as ll
from ._lowlevel import HostCall
from .limits import Limits
from .rawstore import (
    EXTERN_SIZE,
    OF,
    OFF_FUNCS,
    OFF_INST,
    OFF_MEMORY,
    SLOTS_TEMPLATE,
    RawStore,
    Slots,
    export_get,
)
from .runtime import LoadedModule, Runtime
from .wasi import WasiContext

#: the smallest request buffer asked for, so small requests never regrow it
REQUEST_BUFFER_MIN = 16 * 1024


_EXTERN_FUNC = ll.EXTERN_FUNC
_EXTERN_MEMORY = ll.EXTERN_MEMORY
_addressof = ctypes.addressof


class GuestInstance:
    """A Store + instance of a component, with its exports looked up once.

    ``state`` is the :class:`HostCall` its creator made for it (the capabilities'
    per-instance state); the engine calls its ``after_event`` hook after each
    event and its ``release`` hook when the instance is released.
    """

    __slots__ = ("_alloc_args", "_base", "_handle_args", "_i32_result", "_i64_result", "_reqbuf_func", "_slots",
                 "exports", "handle", "idle_since", "inst", "reqbuf", "reqbuf_cap", "reqbuf_ptr", "runtime_pool",
                 "state", "store", "uses")

    def __init__(self, store: RawStore, state: HostCall) -> None:
        self.store = store
        self.state = state
        self.uses = 0
        #: when it went back to its executor's pool (monotonic seconds)
        self.idle_since = 0.0
        slots = Slots.from_buffer_copy(SLOTS_TEMPLATE)
        self._slots: Any = slots
        self._base: int = _addressof(slots)
        #: the ``wasmtime_instance_t``
        self.inst: Any = slots.inst
        #: the module's function exports (which of them exist; looked up when first called)
        self.exports: frozenset[str] = frozenset()
        #: whether the guest has a reusable request buffer (``wasm_server_request_buffer``)
        self.reqbuf = False
        self._reqbuf_func: int | None = None
        self.reqbuf_ptr = 0
        self.reqbuf_cap = 0
        self.runtime_pool = 0
        self.handle: Any = None
        self._alloc_args: Any = slots.aargs
        self._handle_args: Any = slots.hargs
        self._i32_result: Any = slots.r32
        self._i64_result: Any = slots.r64

    @classmethod
    async def create(
        cls,
        runtime: Runtime,
        loaded: LoadedModule,
        state: HostCall,
        limits: Limits,
        wasi: WasiContext,
        deadline: float | None = None,
    ) -> GuestInstance:
        """Instantiate ``loaded`` in a fresh Store under ``limits``; runs ``_initialize``.

        ``state`` is what the host imports see while this instance runs (one per
        instance); it is released with the instance, also when this fails."""
        store = RawStore(runtime.engine_address, limits.memory, wasi)
        state.ctx = store.ctx
        self = cls(store, state)
        self.runtime_pool = runtime.pool_size
        if deadline is None:
            deadline = time.monotonic() + limits.timeout
        try:
            await self._start(loaded, deadline)
        except BaseException:
            self.release()  # give the pooled slot back now, not at garbage collection
            raise
        return self

    def _export_func(self, name: bytes, slot: int) -> int | None:
        """The address of function export ``name`` (looked up into ``funcs[slot]``), or None.
        Callers ask only for names the module exports as functions (``LoadedModule.funcs``),
        so the kind needs no check here."""
        base = self._base
        at = base + OFF_FUNCS + slot * EXTERN_SIZE
        if not export_get(self.state.ctx, base + OFF_INST, name, len(name), at):
            return None
        return at + OF

    async def _start(self, loaded: LoadedModule, deadline: float) -> None:
        state = self.state
        ctx = state.ctx
        base = self._base
        try:
            await ll.instantiate_into(state, loaded.pre_address, base + OFF_INST, deadline)
        except GuestError as exc:
            if "maximum concurrent" in str(exc):  # every pooled slot is in use
                raise Overloaded(f"no free instance slot ({self.runtime_pool} in use)") from None
            raise
        if not loaded.has_memory:
            raise GuestError(f"{loaded.origin}: the module exports no memory")
        memory_at = base + OFF_MEMORY
        export_get(ctx, base + OFF_INST, b"memory", 6, memory_at)
        state.set_memory(self._slots.memory)  # the wasmtime_extern_t at memory_at
        # only what every instance needs is looked up now (each lookup is a C crossing);
        # alloc, the request buffer's function and _start when first called
        funcs = self.exports = loaded.funcs
        if "wasm_server_request_buffer" in funcs:
            self.reqbuf = True
            self.reqbuf_ptr, self.reqbuf_cap = loaded.request_buffer
        if "wasm_server_handle" in funcs:
            self.handle = self._export_func(b"wasm_server_handle", 2)
        if "_initialize" in funcs:
            init = self._export_func(b"_initialize", 4)
            await ll.call(state, init, None, 0, None, 0, deadline)

    def _func(self, name: str) -> int:
        """A function export by name (GuestError if the module has none)."""
        func = self._export_func(name.encode(), 4) if name in self.exports else None
        if func is None:
            raise GuestError(f"missing export {name}")
        return func

    async def call_i32(self, name: bytes, deadline: float) -> int:
        """Call a ``() -> i32`` export by name (used for the ABI version check)."""
        func = self._func(name.decode())
        await ll.call(self.state, func, None, 0, self._i32_result, 1, deadline)
        return int(self._i32_result[0].of.i32)

    async def call_void(self, name: bytes, deadline: float) -> None:
        """Call a ``() -> ()`` export by name (pre-initialisation's ``wasm_server_init``)."""
        func = self._func(name.decode())
        await ll.call(self.state, func, None, 0, None, 0, deadline)

    async def event(self, kind: int, payload: bytes, deadline: float) -> int:
        """Deliver one event: alloc + write + ``wasm_server_handle``; returns its i64."""
        state = self.state
        state.result = b""
        self.uses += 1
        size = len(payload)
        if self.reqbuf and size <= self.reqbuf_cap:
            ptr = self.reqbuf_ptr  # the guest's reusable buffer: no alloc crossing
        else:
            ptr = await self._buffer(size, deadline)
        state.write(ptr, payload)
        hargs = self._handle_args
        hargs[0].of.i32 = kind
        hargs[1].of.i32 = ptr
        hargs[2].of.i32 = len(payload)
        out = self._i64_result
        await ll.call(state, self.handle, hargs, 3, out, 1, deadline)
        state.after_event()
        return int(out[0].of.i64)

    async def buffer(self, size: int, deadline: float) -> int:
        """Space for a ``size``-byte payload in the guest (its request buffer, grown, else alloc)."""
        return await self._buffer(size, deadline)

    async def _buffer(self, size: int, deadline: float) -> int:
        """Space for a payload: the guest's request buffer (grown) if it has one, else alloc."""
        args = self._alloc_args
        res = self._i32_result
        if self.reqbuf:
            want = max(size, REQUEST_BUFFER_MIN)
            args[0].of.i32 = want
            if self._reqbuf_func is None:
                self._reqbuf_func = self._export_func(b"wasm_server_request_buffer", 1)
            await ll.call(self.state, self._reqbuf_func, args, 1, res, 1, deadline)
            ptr = int(res[0].of.i32) & 0xFFFFFFFF
            self.reqbuf_ptr, self.reqbuf_cap = ptr, (want if ptr else 0)
        else:
            args[0].of.i32 = size
            await ll.call(self.state, self._func("wasm_server_alloc"), args, 1, res, 1, deadline)
            ptr = int(res[0].of.i32) & 0xFFFFFFFF
        if ptr == 0 and size:
            raise GuestError("the guest could not allocate the request buffer (out of memory)")
        return ptr

    async def run_start(self, deadline: float) -> int:
        """Run ``_start`` of a WASI command; returns its exit status (0 if it returned)."""
        status = await ll.call(self.state, self._func("_start"), None, 0, None, 0, deadline)
        return 0 if status is None else status

    def release(self) -> None:
        """Release the host state (what the guest opened through imports) and free the
        Store now: its pooled slot must not wait for the garbage collector (an exception's
        traceback can keep this object alive for a while)."""
        try:
            self.state.release()
        finally:
            self.store.close()

    def read(self, ptr: int, length: int) -> bytes:
        """Copy bytes out of the guest's memory."""
        return self.state.read(ptr, length)
