"""A loaded app: components compiled and checked, routes built, ready to serve.

:meth:`App.respond` is the per-request path between the HTTP edge and the
executors: route, encode for the guest, run, map failures to status codes.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import tracing
from .abi_codec import GuestRequest, GuestResponse
from .capabilities import ALL_IMPORTS, ComponentHost, LoadEnv, configure
from .engine import Runtime
from .engine.runtime import DEFAULT_CACHE_MAX_SIZE, PoolLimits
from .errors import BadResponse, GuestError, GuestTimeout, LoadError, Overloaded
from .executors import Executor, NativeExecutor, WagiExecutor
from .executors.gate import Gate
from .executors.pooling import IdlePool
from .executors.wasi_http.detect import is_component
from .kv import StoreManager
from .manifest import AppSpec, ComponentSpec
from .metrics import ComponentStats
from .net.connections import ConnectionRegistry
from .protocol.http1 import Headers, Request
from .protocol.response import Response, ResponseSink, Upgraded, error, plain
from .pubsub import BrokerFactory, LocalBroker
from .routing import Match, MethodNotAllowed, Router, RouteSpec

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

log = logging.getLogger("wasm_server")
guest_log = logging.getLogger("wasm_server.guest")

TEXT = (b"content-type", b"text/plain; charset=utf-8")
HTML = ((b"content-type", b"text/html; charset=utf-8"),)
EVICT_SECONDS = 30.0


def engine_for(spec: AppSpec, cache_dir: Path | None, *, pool: PoolLimits | None = None,
               cache_max_size: int = DEFAULT_CACHE_MAX_SIZE) -> Runtime:
    """The Runtime an app's components run on: one engine configuration for serving and for
    precompiling, so what ``wasm-server build`` puts in the compile cache is what ``up`` finds."""
    # the pooling allocator's memory slots must fit the largest component
    max_memory = max(c.limits.memory for c in spec.components)
    return Runtime(cache_dir, ALL_IMPORTS, max_memory=max_memory, pool=pool or PoolLimits(),
                   cache_max_size=cache_max_size)


def precompile(spec: AppSpec, cache_dir: Path, *, pool: PoolLimits | None = None,
               cache_max_size: int = DEFAULT_CACHE_MAX_SIZE) -> int:
    """Compile every component's module into the compile cache (a 40 MB Go module takes
    Cranelift a minute or more: better during ``build`` than at the first ``up``).
    Returns how many were compiled (the rest were cached already)."""
    runtime = engine_for(spec, cache_dir, pool=pool, cache_max_size=cache_max_size)
    try:
        for comp in spec.components:
            try:
                wasm = comp.source.read_bytes()
            except OSError:
                continue  # not built (no build command): `up` reports it
            origin = f"{comp.source} (component '{comp.name}')"
            if is_component(wasm):
                runtime.cache.load_component(wasm, origin)
            else:
                runtime.cache.load(wasm, origin)
        return runtime.cache.misses
    finally:
        runtime.close()


@dataclass(frozen=True, slots=True)
class WebSocketRoute:
    """A WebSocket handshake routed to a component: its executor (the session's event target),
    the request its guest sees in WS_OPEN, and its manifest entry (connection limits)."""

    executor: NativeExecutor
    request: GuestRequest
    component: ComponentSpec


class App:
    """The running form of an :class:`~wasm_server.manifest.AppSpec`."""

    def __init__(self, spec: AppSpec, runtime: Runtime, stores: StoreManager,
                 brokers: BrokerFactory = LocalBroker) -> None:
        self.spec = spec
        self.runtime = runtime
        self.stores = stores
        self.executors: dict[str, Executor] = {}
        self.stats: dict[str, ComponentStats] = {}
        self._components = {c.name: c for c in spec.components}
        self.closed = False
        self._evictor: asyncio.TimerHandle | None = None
        #: request ids: "<pid in hex>-<counter in hex>", unique per server process
        self._id_prefix = b"%x" % os.getpid()
        self._ids = itertools.count(1)
        #: admission per component: limits.concurrency running, limits.queue waiting
        self.gates: dict[str, Gate] = {
            c.name: Gate(c.name, c.limits.concurrency, c.limits.queue, c.limits.timeout) for c in spec.components
        }
        self.connections = ConnectionRegistry()
        self.broker = brokers(self.connections, spec.name)
        #: (component, pattern) of the routes marked websocket = true
        self.websocket_routes = frozenset((c.name, r.pattern) for c in spec.components for r in c.routes
                                          if r.websocket)
        self.router = Router(self.route_specs())

    def route_specs(self, app: str = "") -> list[RouteSpec]:
        """This app's routes for a router (``app``: its name among deployed apps)."""
        return [RouteSpec(r.pattern, c.name, r.host, r.methods, r.origin, app)
                for c in self.spec.components for r in c.routes]

    @classmethod
    async def load(cls, spec: AppSpec, data_dir: Path, cache_dir: Path | None,
                   stores: StoreManager | None = None, *, pool: PoolLimits | None = None,
                   cache_max_size: int = DEFAULT_CACHE_MAX_SIZE, brokers: BrokerFactory = LocalBroker) -> App:
        """Compile, link and check every component; raises LoadError/ConfigError.
        ``stores``: the KV stores (default: the ``default`` SQLite store in ``data_dir``);
        ``pool``/``cache_max_size``: the engine's limits ([server] of the runtime config);
        ``brokers``: pub/sub (LocalBroker, or RedisPubSub.broker in cluster mode)."""
        runtime = engine_for(spec, cache_dir, pool=pool, cache_max_size=cache_max_size)
        app = cls(spec, runtime, stores if stores is not None else StoreManager.default(data_dir), brokers)
        try:
            for comp in spec.components:
                app.executors[comp.name] = await app._load_component(comp)
                app.stats[comp.name] = ComponentStats()
        except BaseException:
            # the engine's epoch ticker thread holds the Runtime: unless it is stopped, every failed
            # load keeps an engine (and its pooling allocator's reserved address space) for good
            await app.close()
            raise
        app._schedule_eviction()
        return app

    def _schedule_eviction(self) -> None:
        """Every EVICT_SECONDS, release pooled instances that sat idle (density: 1,000 components
        that each served a burst once do not keep 1,000 instances)."""
        loop = asyncio.get_running_loop()

        def sweep() -> None:
            if self.closed:
                return
            for executor in self.executors.values():
                if isinstance(executor, IdlePool):  # ABI v1 and wasi-http executors
                    executor.evict_idle()
            self._evictor = loop.call_later(EVICT_SECONDS, sweep)

        self._evictor = loop.call_later(EVICT_SECONDS, sweep)

    async def _load_component(self, comp: ComponentSpec) -> Executor:
        host = configure(comp, LoadEnv(self.stores, self.connections, self.broker, guest_log))
        try:
            wasm = comp.source.read_bytes()
        except OSError as exc:
            raise LoadError(
                f"{comp.manifest}: component '{comp.name}': cannot read {comp.source}: {exc.strerror}"
                + (" (build it with `wasm-server build`)" if comp.build else "")
            ) from None
        origin = f"{comp.source} (component '{comp.name}')"
        if comp.abi == "wasi-http" or is_component(wasm):
            return await self._load_wasi_http(comp, wasm, origin, host)
        loaded = self.runtime.load(wasm, origin)
        executor: Executor
        if comp.abi == "wagi":
            executor = WagiExecutor(self.runtime, loaded, host, comp.limits)
        else:
            executor = NativeExecutor(self.runtime, loaded, host, comp.limits, comp.instance_reuse,
                                      preinit=comp.preinit, wasm=wasm)
        await executor.check()
        return executor

    async def _load_wasi_http(self, comp: ComponentSpec, wasm: bytes, origin: str, host: ComponentHost) -> Executor:
        """A WASI 0.2 component (``abi = "wasi-http"``, or detected from its header)."""
        if not is_component(wasm):
            raise LoadError(f"{origin}: abi = \"wasi-http\" needs a WebAssembly component (wasi:http/proxy); "
                            "this is a core module")
        if comp.abi == "wagi":
            raise LoadError(f"{origin}: abi = \"wagi\" needs a core module; this is a component "
                            "(use abi = \"wasi-http\")")
        if comp.files:
            raise LoadError(f"{origin}: `files` is not served to wasi-http components yet "
                            "(wasi:filesystem is refused; remove the entry)")
        # only apps with components pay this import (ctypes bindings, wasmtime.component)
        from .executors.wasi_http.executor import WasiHttpExecutor

        executor = WasiHttpExecutor(self.runtime, wasm, origin, host, comp.limits, comp.instance_reuse)
        await executor.check()
        return executor

    async def respond(self, req: Request, client: str, sink: ResponseSink) -> Response:
        """Serve one parsed request (the HTTP edge turns the Response into bytes)."""
        return await self.dispatch(req, self.router.match_request(req.method, req.target, req.headers), client, sink)

    async def dispatch(self, req: Request, match: Match | MethodNotAllowed | None, client: str,
                       sink: ResponseSink) -> Response:
        """Serve a request already routed (by this app's router or the deployments' one)."""
        if match is None:
            path = req.target.split(b"?", 1)[0]
            if path == b"/" and self.spec.index is not None:
                return Response(200, HTML, self.spec.index.encode())
            return error(404, f"no route matches {path.decode('latin-1')}")
        if isinstance(match, MethodNotAllowed):
            method = "GET" if req.method == b"HEAD" else req.method.decode("latin-1")
            return plain(405, f"method {method} not allowed here\n", (b"allow", ", ".join(match.allowed).encode()))
        if self.websocket_routes and (match.target, match.route) in self.websocket_routes:
            return plain(426, "this route speaks WebSocket\n", (b"upgrade", b"websocket"))
        headers = req.headers
        rid = _request_id(headers)
        if rid is None:
            rid = b"%s-%x" % (self._id_prefix, next(self._ids))
            headers = [*headers, (b"x-request-id", rid)]  # the guest sees it too
        greq = GuestRequest(
            req.method,
            req.target,
            match.route.encode(),
            match.base.encode("latin-1"),
            match.path_info.encode("latin-1"),
            client.encode(),
            [(k.encode(), v.encode("latin-1")) for k, v in match.params],
            headers,
            req.body,
        )
        name = match.target
        tracer = tracing.TRACER
        if tracer is not None:
            return await self._traced(tracer, req, match, name, greq, sink, rid)
        resp = await self._run(name, greq, sink, rid)
        return self._answer(name, resp, sink, rid)

    async def _traced(self, tracer: Tracer, req: Request, match: Match, name: str, greq: GuestRequest,
                      sink: ResponseSink, rid: bytes) -> Response:
        """:meth:`dispatch` with a SERVER span around the guest (tracing.py); the guest sees
        the span's ``traceparent``, which parents its KV calls and outbound requests."""
        span = tracing.request_span(tracer, req.method, req.target, match.route, name, rid, greq.headers)
        status = 500
        try:
            resp = await self._run(name, greq._replace(headers=tracing.with_traceparent(span, greq.headers)), sink, rid)
            answer = self._answer(name, resp, sink, rid)
            status = answer.status
            return answer
        finally:
            tracing.end_request(span, status)

    @staticmethod
    def _answer(name: str, resp: GuestResponse, sink: ResponseSink, rid: bytes) -> Response:
        """The guest's response as the edge's Response, tagged with the request id."""
        if resp.streamed:
            if sink.started:
                return Response(resp.status, streamed=True, component=name, request_id=rid)
            return error(500, f"component '{name}' marked its response streamed but never started a stream")
        out = resp.headers
        if not _sets_request_id(out):  # the guest's own id wins
            out = [*out, (b"x-request-id", rid)]
        return Response(resp.status, out, resp.body, component=name, request_id=rid)

    async def _run(self, name: str, greq: GuestRequest, sink: ResponseSink | None = None,
                   rid: bytes = b"-") -> GuestResponse:
        stats = self.stats[name]
        stats.requests += 1
        started = time.monotonic()
        gate = self.gates[name]
        try:
            if not gate.try_enter():
                await gate.enter()
            try:
                return await self.executors[name].handle(greq, sink)
            finally:
                gate.leave()
                stats.observe(time.monotonic() - started)
        except Overloaded as exc:
            stats.overloaded += 1
            log.warning("component '%s': %s", name, exc)
            return GuestResponse(503, [TEXT, (b"retry-after", b"1")], b"server busy, try again\n")
        except GuestTimeout:
            stats.timeouts += 1
            waited = time.monotonic() - started
            log.warning("component '%s' timed out after %.1fs on %s (request %s)", name, waited,
                        greq.url.decode("latin-1"), rid.decode("latin-1"))
            return _plain(504, f"component '{name}' did not answer within its deadline\n")
        except BadResponse as exc:
            stats.errors += 1
            log.error("component '%s' returned a malformed response: %s (request %s)", name, exc,
                      rid.decode("latin-1"))
            return _plain(502, f"component '{name}' returned a malformed response\n")
        except GuestError as exc:
            stats.errors += 1
            stats.traps += 1
            log.error("component '%s' failed: %s (request %s)", name, exc, rid.decode("latin-1"))
            return _plain(500, f"component '{name}' failed\n")

    async def upgrade(self, req: Request, client: str, transport: asyncio.Transport) -> Response | Upgraded:
        """A request asked to switch protocols: a WebSocket session for websocket routes;
        anything else is answered as a plain request (and the connection then closes)."""
        return await self.dispatch_upgrade(req, self.router.match_request(req.method, req.target, req.headers),
                                           client, transport)

    async def dispatch_upgrade(self, req: Request, match: Match | MethodNotAllowed | None, client: str,
                               transport: asyncio.Transport) -> Response | Upgraded:
        """:meth:`upgrade` for a request already routed."""
        route = self.websocket_route(req, match, client)
        if route is None:
            closing = Request(req.method, req.target, req.headers, req.body, False, req.http_version)
            return await self.dispatch(closing, match, client, _NO_STREAM)
        if isinstance(route, Response):
            return route
        # imported here: the websockets package costs ~30 ms of start-up and most apps never upgrade
        from .net.session import SessionLimits
        from .net.websocket import upgrade

        comp = route.component
        limits = SessionLimits(comp.max_connections, comp.idle_timeout)
        return upgrade(route.executor, self.connections, limits, transport, route.request, client,
                       max_message=comp.websocket_message)

    def websocket_route(self, req: Request, match: Match | MethodNotAllowed | None,
                        client: str) -> WebSocketRoute | Response | None:
        """What serves a WebSocket handshake routed to ``match``: the component and the request its
        guest sees in WS_OPEN; None when ``match`` is no websocket route (answer it as plain HTTP);
        a Response when the component cannot serve it. The HTTP edge and the ASGI adapter
        (wasm_server/asgi) both start their sessions from this."""
        if not isinstance(match, Match) or (match.target, match.route) not in self.websocket_routes:
            return None
        executor = self.executors[match.target]
        if not isinstance(executor, NativeExecutor):  # refused at load; never a crash here
            return error(501, f"component '{match.target}' cannot serve WebSockets", close=True)
        greq = GuestRequest(req.method, req.target, match.route.encode(), match.base.encode("latin-1"),
                            match.path_info.encode("latin-1"), client.encode(),
                            [(k.encode(), v.encode("latin-1")) for k, v in match.params], req.headers, b"")
        return WebSocketRoute(executor, greq, self._components[match.target])

    def running_requests(self) -> dict[str, int]:
        """Requests running now, per component."""
        return {name: gate.active for name, gate in self.gates.items()}

    def busy(self) -> bool:
        """Whether requests are running or waiting, or connections are open, in this app."""
        return bool(self.connections.conns) or any(g.active or g.waiters for g in self.gates.values())

    async def close(self) -> None:
        """Release stores and stop the engine's ticker (a second call does nothing)."""
        if self.closed:
            return
        self.closed = True
        if self._evictor is not None:
            self._evictor.cancel()
        self.broker.close()
        await self.stores.close()
        self.runtime.close()


def _request_id(headers: Sequence[tuple[bytes, bytes]]) -> bytes | None:
    """The client's (or a proxy's) x-request-id, if it sent a usable one."""
    for name, value in headers:
        if name == b"x-request-id":
            return value if 0 < len(value) <= 128 else None
    return None


def _sets_request_id(headers: Sequence[tuple[bytes, bytes]]) -> bool:
    """Whether a guest's response has its own x-request-id (in any letter case)."""
    for name, _ in headers:
        if len(name) == 12 and name.lower() == b"x-request-id":
            return True
    return False


def _plain(status: int, text: str) -> GuestResponse:
    return GuestResponse(status, [TEXT], text.encode())


class _NoStream:
    """The sink of a request that cannot stream (an upgrade answered as plain HTTP)."""

    started = False

    def start(self, status: int, headers: Headers) -> bool:
        return False

    async def write(self, data: bytes) -> bool:
        return False


_NO_STREAM = _NoStream()
