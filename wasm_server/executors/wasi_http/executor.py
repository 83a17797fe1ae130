"""The executor of standard ``wasi:http/proxy`` components (``abi = "wasi-http"``).

Each request becomes an ``incoming-request`` and a ``response-outparam``
handed to the component's ``wasi:http/incoming-handler#handle``; what the
guest puts in the outparam (and writes to the body) becomes the response.
A fresh instance serves each request unless ``instance_reuse`` allows more;
an instance that trapped is discarded (500). A reused instance that traps
before answering turns reuse off for the component (JavaScript guests serve
one request per instance: "respondWith can't be called twice") and the
request is run again in a fresh instance, unless it already wrote to a KV
store or sent an outbound request (then it is a 500: running it twice could
repeat that).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from ...abi_codec import FLAG_STREAMED, GuestRequest, GuestResponse
from ...capabilities import ComponentHost
from ...engine import Limits, Runtime
from ...engine.component import ExportIndex, GuestComponent, Linked, instantiate, link, own_lowerer
from ...errors import GuestError, GuestTimeout, LoadError
from ...protocol.response import ResponseSink
from .call import WasiHttpCall
from .http_types import FORBIDDEN, Exchange, IncomingRequest, OutgoingResponse, ResponseOutparam
from .plan import import_plan

HANDLER = "wasi:http/incoming-handler@0.2"
#: an idle pooled instance unused this long is released (as for ABI v1)
IDLE_SECONDS = 60.0

log = logging.getLogger("wasm_server")


def _stream_to(sink: ResponseSink) -> Callable[[OutgoingResponse], Callable[[bytes], Awaitable[None] | None]]:
    """Once the body outgrows the buffer, send the head and pass writes on (with backpressure)."""

    def start(resp: OutgoingResponse) -> Callable[[bytes], Awaitable[None] | None]:
        sink.start(resp.status, resp.headers.pairs())

        async def write(data: bytes) -> None:
            await sink.write(data)

        return write

    return start


class WasiHttpExecutor:
    """Serves a ``wasi:http/incoming-handler`` component (see module docstring)."""

    def __init__(self, runtime: Runtime, wasm: bytes, origin: str, host: ComponentHost, limits: Limits,
                 instance_reuse: int = 0) -> None:
        self.name = host.name
        self.runtime = runtime
        self.origin = origin
        self.host = host
        self.limits = limits
        self.instance_reuse = instance_reuse
        self._wasm: bytes | None = wasm
        self.linked: Linked | None = None
        self._export: ExportIndex | None = None
        self._own = own_lowerer(import_plan().rid)
        self._idle: list[GuestComponent] = []

    async def check(self) -> None:
        """Compile (or load from the cache), link from the component's own imports and
        instantiate once; a component that exports no incoming-handler is refused."""
        wasm, self._wasm = self._wasm, None
        assert wasm is not None
        engine = self.runtime.engine
        component = self.runtime.cache.load_component(wasm, self.origin)
        # the imports first: a component asking for what is not served says so before anything else
        self.linked = link(engine, component, self.origin, import_plan())
        exports = [name for name in component.type.exports(engine) if name.startswith(HANDLER)]
        if not exports:
            served = ", ".join(component.type.exports(engine)) or "nothing"
            raise LoadError(f"{self.origin}: not a wasi:http/proxy component: it exports {served}, "
                            "not wasi:http/incoming-handler@0.2.x")
        outer = component.get_export_index(exports[0])
        self._export = component.get_export_index("handle", instance=outer)
        if self._export is None:
            raise LoadError(f"{self.origin}: {exports[0]} has no handle function")
        try:
            inst = await self._new(time.monotonic() + self.limits.timeout)
        except GuestError as exc:
            raise LoadError(f"{self.origin}: failed to start: {exc}") from None
        self._park(inst)

    async def _new(self, deadline: float) -> GuestComponent:
        assert self.linked is not None and self._export is not None
        state = WasiHttpCall(self.host, Exchange())
        return await instantiate(self.runtime.engine, self.linked, self._export, state, self.limits.memory, deadline)

    def _park(self, inst: GuestComponent) -> None:
        if len(self._idle) < max(1, self.limits.idle_instances):
            inst.idle_since = time.monotonic()
            self._idle.append(inst)

    def evict_idle(self, older_than: float = IDLE_SECONDS) -> int:
        """Release pooled instances idle for ``older_than`` seconds (oldest first); returns how many."""
        cutoff = time.monotonic() - older_than
        stale = 0
        while stale < len(self._idle) and self._idle[stale].idle_since < cutoff:
            stale += 1
        del self._idle[:stale]  # a Store is freed with its last reference
        return stale

    async def handle(self, request: GuestRequest, sink: ResponseSink | None = None) -> GuestResponse:
        """Run one request in a fresh (or reusable) instance."""
        deadline = time.monotonic() + self.limits.timeout
        inst = self._idle.pop() if self._idle else await self._new(deadline)
        reused = inst.uses > 0
        try:
            response = await self._run(inst, request, sink, deadline)
        except GuestError as exc:
            state = inst.state
            assert isinstance(state, WasiHttpCall)
            if isinstance(exc, GuestTimeout) or not reused or state.exchange.set:
                raise
            log.warning("%s: a reused instance failed before answering; instances of '%s' now serve "
                        "one request each", self.origin, self.name)
            self.instance_reuse = 0
            self._idle.clear()
            if state.side_effects:
                raise  # it wrote to a store or sent a request: running it again could repeat that
            return await self.handle(request, sink)
        if inst.uses <= self.instance_reuse:
            self._park(inst)
        return response

    async def _run(self, inst: GuestComponent, request: GuestRequest, sink: ResponseSink | None,
                   deadline: float) -> GuestResponse:
        state = inst.state
        assert isinstance(state, WasiHttpCall)
        exchange = state.exchange = Exchange(_stream_to(sink) if sink is not None else None)
        state.logged = 0
        state.side_effects = False
        state.request_headers = request.headers
        try:
            await inst.call([(self._own, _incoming(request)), (self._own, ResponseOutparam(exchange))], deadline)
        finally:
            state.clear()  # guests leave handles undropped; nothing survives the request
        if exchange.error is not None or not exchange.set:
            why = "returned without setting a response" if not exchange.set else \
                f"answered with error-code {exchange.error!r}"
            raise GuestError(f"the component {why}")
        resp = exchange.response
        assert resp is not None
        if exchange.streamed:
            return GuestResponse(resp.status, flags=FLAG_STREAMED)
        return GuestResponse(resp.status, resp.headers.pairs(), bytes(exchange.body))


def _incoming(request: GuestRequest) -> IncomingRequest:
    headers = [(k.decode("latin-1").lower(), v) for k, v in request.headers]
    authority = next((v.decode("latin-1") for k, v in headers if k == "host"), None)
    # a client must not choose what the host tells the guest about its route
    kept = [(k, v) for k, v in headers if k not in FORBIDDEN and not k.startswith(ROUTE_HEADER_PREFIX)]
    return IncomingRequest(request.method.decode("latin-1"), request.url.decode("latin-1"), "HTTP", authority,
                           [*kept, *route_headers(request)], request.body)


#: the headers Spin gives a component about its route; Spin-built guests (and ours) read them
ROUTE_HEADER_PREFIX = "spin-"


def route_headers(request: GuestRequest) -> list[tuple[str, bytes]]:
    """Spin's route headers: the path below the route prefix, the route, the base path, the client."""
    return [("spin-path-info", request.path_info or b"/"), ("spin-matched-route", request.route),
            ("spin-base-path", request.base or b"/"), ("spin-client-addr", request.client)]
