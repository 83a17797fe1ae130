"""ABI v1 executor: alloc + handle, two crossings per request (docs/abi.md)."""

from __future__ import annotations

import logging
import time

from ..abi_codec import ABI_VERSION, KIND_HTTP_REQUEST, GuestRequest, GuestResponse, decode_response, encode_request
from ..capabilities import ComponentHost, GuestCall
from ..engine import GuestInstance, Limits, LoadedModule, Runtime
from ..errors import GuestError, LoadError
from ..protocol.response import ResponseSink

REQUIRED_EXPORTS = ("memory", "wasm_server_abi_version", "wasm_server_alloc", "wasm_server_handle")
#: an idle pooled instance unused this long is released (its memory slot goes back to the pool)
IDLE_SECONDS = 60.0

log = logging.getLogger("wasm_server")


class NativeExecutor:
    """Runs a native (ABI v1) component.

    By default every request gets a fresh Store and instance (nothing leaks
    between requests). With ``instance_reuse = N`` an instance serves up to N
    requests before it is replaced; idle instances wait in a free list. An
    instance that failed in any way is never reused.
    """

    def __init__(
        self,
        runtime: Runtime,
        loaded: LoadedModule,
        host: ComponentHost,
        limits: Limits,
        instance_reuse: int = 0,
        *,
        preinit: bool = False,
        wasm: bytes | None = None,
    ) -> None:
        """``preinit`` (with the module's bytes, ``wasm``): instances start from a snapshot
        taken after ``_initialize`` (engine/snapshot.py) when the module allows it."""
        self.name = host.name
        self.runtime = runtime
        self.loaded = loaded
        self.host = host
        self.limits = limits
        self.instance_reuse = instance_reuse
        #: the module bytes to pre-initialise at :meth:`check` (then dropped)
        self._preinit_wasm = wasm if preinit else None
        #: whether instances start from a pre-initialised image
        self.preinitialized = False
        #: pooled instances with their host state, oldest first
        self._idle: list[tuple[GuestInstance, GuestCall]] = []

    async def check(self) -> None:
        """Refuse modules that are not ABI v1 with a message saying why."""
        origin = self.loaded.origin
        missing = [e for e in REQUIRED_EXPORTS if e not in self.loaded.exports]
        if missing:
            hint = " (it exports _start: use abi = \"wagi\")" if "_start" in self.loaded.exports else ""
            raise LoadError(f"{origin}: not a wasm-server ABI module, missing exports {missing}{hint}")
        if self._preinit_wasm is not None:
            wasm, self._preinit_wasm = self._preinit_wasm, None
            await self._preinitialize(wasm)
        deadline = time.monotonic() + self.limits.timeout
        try:
            inst, _ = await self._new(deadline)
            try:
                version = await inst.call_i32(b"wasm_server_abi_version", deadline)
            finally:
                inst.release()
        except GuestError as exc:
            raise LoadError(f"{origin}: failed to start: {exc}") from None
        if version != ABI_VERSION:
            raise LoadError(
                f"{origin}: component '{self.name}' uses wasm-server ABI version {version}; "
                f"this server supports version {ABI_VERSION}"
            )

    async def _preinitialize(self, wasm: bytes) -> None:
        """Swap in the pre-initialised image; on any refusal keep the module as it is."""
        from ..engine.preinit import PreinitRefused, preinitialize  # only components that ask pay the import

        try:
            self.loaded = await preinitialize(self.runtime, wasm, self.loaded.origin, self.limits, self.host.wasi)
        except PreinitRefused as exc:
            log.warning("%s: not pre-initialised (each instance runs its start-up): %s", self.loaded.origin, exc)
            return
        self.preinitialized = True
        log.info("%s: instances start from a pre-initialised image", self.loaded.origin)

    async def _new(self, deadline: float) -> tuple[GuestInstance, GuestCall]:
        call = self.host.new_call()
        inst = await GuestInstance.create(self.runtime, self.loaded, call, self.limits, self.host.wasi, deadline)
        return inst, call

    async def new_instance(self) -> GuestInstance:
        """A fresh instance for a connection (it lives as long as the connection)."""
        inst, _ = await self._new(time.monotonic() + self.limits.timeout)
        return inst

    async def deliver(self, inst: GuestInstance, kind: int, payload: bytes) -> int:
        """One connection event, under the component's deadline."""
        return await inst.event(kind, payload, time.monotonic() + self.limits.timeout)

    async def handle(self, request: GuestRequest, sink: ResponseSink | None = None) -> GuestResponse:
        """Run one request in a fresh or pooled instance (``sink``: see capabilities/streams.py)."""
        deadline = time.monotonic() + self.limits.timeout
        inst, call = self._idle.pop() if self._idle else await self._new(deadline)
        call.headers, call.sink = request.headers, sink  # GuestCall.begin_request, inlined: hot path
        reuse = False
        try:
            ret = await inst.event(KIND_HTTP_REQUEST, encode_request(request), deadline)
            if ret < 0:
                raise GuestError(f"guest returned error code {ret}")
            response = decode_response(inst.read(ret >> 32, ret & 0xFFFFFFFF))
            reuse = inst.uses < self.instance_reuse and len(self._idle) < self.limits.idle_instances
        finally:
            if not reuse:
                inst.release()
        if reuse:
            inst.idle_since = time.monotonic()
            self._idle.append((inst, call))
        return response

    def evict_idle(self, older_than: float = IDLE_SECONDS) -> int:
        """Release pooled instances idle for ``older_than`` seconds; returns how many.
        The list is oldest first (``handle`` takes the most recent), so this trims its head."""
        cutoff = time.monotonic() - older_than
        stale = 0
        while stale < len(self._idle) and self._idle[stale][0].idle_since < cutoff:
            stale += 1
        for inst, _ in self._idle[:stale]:
            inst.release()
        del self._idle[:stale]
        return stale
