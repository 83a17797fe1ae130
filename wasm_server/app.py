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
from pathlib import Path
from typing import Any

from .abi_codec import GuestRequest, GuestResponse
from .capabilities import ComponentHost, define_all
from .capabilities.outbound_http import OutboundPolicy
from .engine import Runtime
from .engine.runtime import DEFAULT_CACHE_MAX_SIZE, PoolLimits
from .errors import BadResponse, ConfigError, GuestError, GuestTimeout, LoadError, Overloaded
from .executors import Executor, NativeExecutor, WagiExecutor
from .executors.gate import Gate
from .kv import StoreManager
from .manifest import AppSpec, ComponentSpec
from .metrics import ComponentStats
from .net.connections import ConnectionRegistry
from .protocol.http1 import LAST_CHUNK, Request, encode_response, error_response
from .pubsub import BrokerFactory, LocalBroker
from .routing import Match, MethodNotAllowed, Router, RouteSpec

log = logging.getLogger("wasm_server")
guest_log = logging.getLogger("wasm_server.guest")

TEXT = [(b"content-type", b"text/plain; charset=utf-8")]
EVICT_SECONDS = 30.0


class App:
    """The running form of an :class:`~wasm_server.manifest.AppSpec`."""

    def __init__(self, spec: AppSpec, runtime: Runtime, stores: StoreManager,
                 brokers: BrokerFactory = LocalBroker) -> None:
        self.spec = spec
        self.runtime = runtime
        self.stores = stores
        self.executors: dict[str, Executor] = {}
        self.stats: dict[str, ComponentStats] = {}
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
        #: component → {(component, pattern)} of routes marked websocket = true
        self.websocket_routes: dict[str, set[tuple[str, str]]] = {}
        for c in spec.components:
            for r in c.routes:
                if r.websocket:
                    self.websocket_routes.setdefault(c.name, set()).add((c.name, r.pattern))
        self.router = Router(
            [
                RouteSpec(r.pattern, c.name, r.host, r.methods, r.origin)
                for c in spec.components
                for r in c.routes
            ]
        )

    @classmethod
    async def load(cls, spec: AppSpec, data_dir: Path, cache_dir: Path | None,
                   stores: StoreManager | None = None, *, pool: PoolLimits | None = None,
                   cache_max_size: int = DEFAULT_CACHE_MAX_SIZE, brokers: BrokerFactory = LocalBroker) -> App:
        """Compile, link and check every component; raises LoadError/ConfigError.
        ``stores``: the KV stores (default: the ``default`` SQLite store in ``data_dir``);
        ``pool``/``cache_max_size``: the engine's limits ([server] of the runtime config);
        ``brokers``: pub/sub (LocalBroker, or RedisPubSub.broker in cluster mode)."""
        # the pooling allocator's memory slots must fit the largest component
        max_memory = max(c.limits.memory for c in spec.components)
        runtime = Runtime(cache_dir, define_all, max_memory=max_memory, pool=pool or PoolLimits(),
                          cache_max_size=cache_max_size)
        app = cls(spec, runtime, stores if stores is not None else StoreManager.default(data_dir), brokers)
        for comp in spec.components:
            app.executors[comp.name] = await app._load_component(comp)
            app.stats[comp.name] = ComponentStats()
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
                if isinstance(executor, NativeExecutor):
                    executor.evict_idle()
            self._evictor = loop.call_later(EVICT_SECONDS, sweep)

        self._evictor = loop.call_later(EVICT_SECONDS, sweep)

    async def _load_component(self, comp: ComponentSpec) -> Executor:
        for label in comp.key_value_stores:
            if not self.stores.has(label):
                raise ConfigError(
                    f"key-value store '{label}' is not configured (configured: "
                    f"{', '.join(self.stores.labels())})",
                    file=str(comp.manifest),
                    field=f"component '{comp.name}'.key_value_stores",
                )
        try:
            wasm = comp.source.read_bytes()
        except OSError as exc:
            raise LoadError(
                f"{comp.manifest}: component '{comp.name}': cannot read {comp.source}: {exc.strerror}"
                + (" (build it with `wasm-server build`)" if comp.build else "")
            ) from None
        loaded = self.runtime.load(wasm, f"{comp.source} (component '{comp.name}')")
        host = ComponentHost(
            comp.name,
            guest_log,
            dict(comp.variables),
            frozenset(comp.key_value_stores),
            self.stores,
            OutboundPolicy(comp.allowed_outbound_hosts, allow_private=comp.allow_private_networks),
            self.connections,
            self.broker,
            comp.files,
        )
        executor: Executor
        if comp.abi == "wagi" and (comp.tcp or comp.udp):
            raise ConfigError("TCP/UDP listeners need abi = \"native\" (WAGI serves HTTP only)",
                              file=str(comp.manifest), field=f"component '{comp.name}'.abi")
        if comp.abi == "wagi":
            executor = WagiExecutor(self.runtime, loaded, host, comp.limits)
        else:
            executor = NativeExecutor(self.runtime, loaded, host, comp.limits, comp.instance_reuse)
        await executor.check()
        return executor

    async def respond(self, req: Request, client: str, stream: Any = None) -> bytes:
        """Serve one parsed request; always returns response bytes.

        ``stream`` (the connection) lets a guest stream its body; the bytes
        returned then only finish the chunked body."""
        keep_alive = req.keep_alive
        head = req.method == b"HEAD"
        target = req.target
        path = target.split(b"?", 1)[0]
        host = None
        if self.router.uses_hosts:
            for name, value in req.headers:
                if name == b"host":
                    host = value.decode("latin-1")
                    break
        method = "GET" if head else req.method.decode("latin-1")
        match = self.router.match(method, host, path.decode("latin-1"))
        if match is None:
            if path == b"/" and self.spec.index is not None:
                body = self.spec.index.encode()
                return encode_response(
                    200, [(b"content-type", b"text/html; charset=utf-8")], body,
                    keep_alive=keep_alive, head=head,
                )
            return error_response(404, f"no route matches {path.decode('latin-1')}", keep_alive=keep_alive)
        if isinstance(match, MethodNotAllowed):
            allow = ", ".join(match.allowed).encode()
            body = f"method {method} not allowed here\n".encode()
            return encode_response(405, [*TEXT, (b"allow", allow)], body, keep_alive=keep_alive, head=head)
        if match.target in self.websocket_routes and (match.target, match.route) in self.websocket_routes[match.target]:
            return encode_response(426, [*TEXT, (b"upgrade", b"websocket")], b"this route speaks WebSocket\n",
                                   keep_alive=keep_alive, head=head)
        headers = req.headers
        rid = _request_id(headers)
        if rid is None:
            rid = b"%s-%x" % (self._id_prefix, next(self._ids))
            headers = [*headers, (b"x-request-id", rid)]  # the guest sees it too
        greq = GuestRequest(
            req.method,
            target,
            match.route.encode(),
            match.base.encode("latin-1"),
            match.path_info.encode("latin-1"),
            client.encode(),
            [(k.encode(), v.encode("latin-1")) for k, v in match.params],
            headers,
            req.body,
        )
        resp = await self._run(match.target, greq, stream, rid)
        if resp.flags & 1:  # the body was streamed through the connection
            if stream is not None and stream.started:
                return LAST_CHUNK
            return error_response(500, f"component '{match.target}' marked its response streamed but "
                                  "never started a stream", keep_alive=keep_alive)
        return encode_response(resp.status, [*resp.headers, (b"x-request-id", rid)], resp.body,
                               keep_alive=keep_alive, head=head)

    async def _run(self, name: str, greq: GuestRequest, stream: Any = None, rid: bytes = b"-") -> GuestResponse:
        stats = self.stats[name]
        stats.requests += 1
        started = time.monotonic()
        gate = self.gates[name]
        try:
            if not gate.try_enter():
                await gate.enter()
            try:
                return await self.executors[name].handle(greq, stream)
            finally:
                gate.leave()
                stats.observe(time.monotonic() - started)
        except Overloaded as exc:
            stats.overloaded += 1
            log.warning("component '%s': %s", name, exc)
            return GuestResponse(503, [*TEXT, (b"retry-after", b"1")], b"server busy, try again\n")
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
            log.error("component '%s' failed: %s (request %s)", name, _first_line(str(exc)), rid.decode("latin-1"))
            return _plain(500, f"component '{name}' failed\n")

    async def upgrade(self, req: Request, client: str, proto: Any, rest: bytes) -> tuple[bytes, Any]:
        """A request asked to switch protocols: a WebSocket session for websocket routes;
        anything else is answered as a plain request (and the connection then closes)."""
        path = req.target.split(b"?", 1)[0].decode("latin-1")
        host = dict(req.headers).get(b"host", b"").decode("latin-1") or None
        match = self.router.match(req.method.decode("latin-1"), host, path)
        if not isinstance(match, Match) or (match.target, match.route) not in self.websocket_routes.get(
            match.target, set()
        ):
            closing = Request(req.method, req.target, req.headers, req.body, False, req.http_version)
            return await self.respond(closing, client), None
        # imported here: the websockets package costs ~30 ms of start-up and most apps never upgrade
        from .net.websocket import WebSocketSession, accept_response, handshake_error

        problem = handshake_error(req.headers)
        if problem is not None:
            return error_response(400, f"bad WebSocket handshake: {problem}"), None
        executor = self.executors[match.target]
        assert isinstance(executor, NativeExecutor)
        greq = GuestRequest(req.method, req.target, match.route.encode(), match.base.encode("latin-1"),
                            match.path_info.encode("latin-1"), client.encode(),
                            [(k.encode(), v.encode("latin-1")) for k, v in match.params], req.headers, b"")
        session = WebSocketSession(executor, self.connections, proto.transport, greq, client)
        return accept_response(req.headers), session

    def live_instances(self) -> dict[str, int]:
        """Requests running now, per component (each runs in its own instance)."""
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


def _plain(status: int, text: str) -> GuestResponse:
    return GuestResponse(status, list(TEXT), text.encode())


def _first_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return " | ".join(lines[:3]) if lines else "unknown error"
