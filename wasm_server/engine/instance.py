"""One guest instance in its own Store, and the calls the executors make on it."""

from __future__ import annotations

import time
from ctypes import byref
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

from ..errors import GuestError, Overloaded
from . import _lowlevel as ll
from ._lowlevel import HostCall
from .limits import Limits
from .runtime import LoadedModule, Runtime
from .wasi import WasiContext

#: the smallest request buffer asked for, so small requests never regrow it
REQUEST_BUFFER_MIN = 16 * 1024


def _func(item: Any) -> Any:
    if item is None or item.kind != ll.EXTERN_FUNC:
        return None
    return byref(item.of.func)


class GuestInstance:
    """A Store + instance of a component, with its exports looked up once.

    ``state`` is the :class:`HostCall` its creator made for it (the capabilities'
    per-instance state); the engine calls its ``after_event`` hook after each
    event and its ``release`` hook when the instance is released.
    """

    __slots__ = ("_alloc_args", "_handle_args", "_i32_result", "_i64_result", "alloc", "handle", "idle_since",
                 "inst", "reqbuf", "reqbuf_cap", "reqbuf_ptr", "runtime_pool", "start", "state", "store",
                 "uses")

    def __init__(self, store: wasmtime.Store, state: HostCall) -> None:
        self.store = store
        self.state = state
        self.uses = 0
        #: when it went back to its executor's pool (monotonic seconds)
        self.idle_since = 0.0
        self.inst: Any = None
        self.reqbuf: Any = None
        self.reqbuf_ptr = 0
        self.reqbuf_cap = 0
        self.runtime_pool = 0
        self.alloc: Any = None
        self.handle: Any = None
        self.start: Any = None
        self._alloc_args = ll.val_array("i")
        self._handle_args = ll.val_array("iii")
        self._i32_result = ll.val_array("i")
        self._i64_result = ll.val_array("l")

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
        store = wasmtime.Store(runtime.engine)
        store.set_limits(memory_size=limits.memory)
        store.set_wasi(wasi.config())
        ctx = store._context()
        # every epoch tick the guest yields to the event loop (see _lowlevel)
        ffi.wasmtime_context_epoch_deadline_async_yield_and_update(ctx, 1)
        state.ctx = ctx
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

    async def _start(self, loaded: LoadedModule, deadline: float) -> None:
        ctx = self.state.ctx
        try:
            inst = await ll.instantiate(self.state, loaded.pre_ptr(), deadline)
        except GuestError as exc:
            if "maximum concurrent" in str(exc):  # every pooled slot is in use
                raise Overloaded(f"no free instance slot ({self.runtime_pool} in use)") from None
            raise
        memory = ll.export(ctx, inst, b"memory")
        if memory is None or memory.kind != ll.EXTERN_MEMORY:
            raise GuestError(f"{loaded.origin}: the module exports no memory")
        self.state.set_memory(memory)
        self.inst = inst
        self.alloc = _func(ll.export(ctx, inst, b"wasm_server_alloc"))
        self.reqbuf = _func(ll.export(ctx, inst, b"wasm_server_request_buffer"))
        if self.reqbuf is not None:
            self.reqbuf_ptr, self.reqbuf_cap = loaded.request_buffer
        self.handle = _func(ll.export(ctx, inst, b"wasm_server_handle"))
        self.start = _func(ll.export(ctx, inst, b"_start"))
        init = _func(ll.export(ctx, inst, b"_initialize"))
        if init is not None:
            await ll.call(self.state, init, None, 0, None, 0, deadline)

    async def call_i32(self, name: bytes, deadline: float) -> int:
        """Call a ``() -> i32`` export by name (used for the ABI version check)."""
        func = _func(ll.export(self.state.ctx, self.inst, name))
        if func is None:
            raise GuestError(f"missing export {name.decode()}")
        await ll.call(self.state, func, None, 0, self._i32_result, 1, deadline)
        return int(self._i32_result[0].of.i32)

    async def call_void(self, name: bytes, deadline: float) -> None:
        """Call a ``() -> ()`` export by name (pre-initialisation's ``wasm_server_init``)."""
        func = _func(ll.export(self.state.ctx, self.inst, name))
        if func is None:
            raise GuestError(f"missing export {name.decode()}")
        await ll.call(self.state, func, None, 0, None, 0, deadline)

    async def event(self, kind: int, payload: bytes, deadline: float) -> int:
        """Deliver one event: alloc + write + ``wasm_server_handle``; returns its i64."""
        state = self.state
        state.result = b""
        self.uses += 1
        size = len(payload)
        if self.reqbuf is not None and size <= self.reqbuf_cap:
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
        if self.reqbuf is not None:
            want = max(size, REQUEST_BUFFER_MIN)
            args[0].of.i32 = want
            await ll.call(self.state, self.reqbuf, args, 1, res, 1, deadline)
            ptr = int(res[0].of.i32) & 0xFFFFFFFF
            self.reqbuf_ptr, self.reqbuf_cap = ptr, (want if ptr else 0)
        else:
            args[0].of.i32 = size
            await ll.call(self.state, self.alloc, args, 1, res, 1, deadline)
            ptr = int(res[0].of.i32) & 0xFFFFFFFF
        if ptr == 0 and size:
            raise GuestError("the guest could not allocate the request buffer (out of memory)")
        return ptr

    async def run_start(self, deadline: float) -> int:
        """Run ``_start`` of a WASI command; returns its exit status (0 if it returned)."""
        status = await ll.call(self.state, self.start, None, 0, None, 0, deadline)
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
