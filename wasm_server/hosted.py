"""An app served from inside someone else's Python program: what the ASGI adapter
(:mod:`wasm_server.asgi`) and the embedding API (:mod:`wasm_server.embed`) share.

Both serve the very :class:`~wasm_server.app.App` that ``wasm-server up`` serves, loaded
the same way (same engine configuration, compile cache, KV stores from the runtime
config), and both hand it requests through the same seam as the HTTP edge:
``App.respond(request, client, sink) -> Response``. So limits, KV, outbound allow-lists,
request ids and the per-component counters behave as under ``up``. What this module adds
is what ``up``'s HTTP server does around that seam: the body limit (413), a host failure
answered 500, counting requests in flight so a shutdown can wait for them, and the
WebSocket sessions a shutdown closes.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .app import App
from .config import RuntimeConfig, load_runtime_config
from .errors import ConfigError
from .kv import StoreManager
from .manifest import AppSpec, load_manifest
from .metrics import render
from .protocol.http1 import DEFAULT_MAX_BODY, Headers, Request
from .protocol.response import Response, ResponseSink, error

if TYPE_CHECKING:
    from .routing import Match, MethodNotAllowed

log = logging.getLogger("wasm_server")

#: the manifest ``wasm_server.asgi:app`` serves
MANIFEST_ENV = "WASM_SERVER_MANIFEST"
#: a runtime config TOML (``wasm-server up --config``) for the ASGI app and ``from_env`` loaders
CONFIG_ENV = "WASM_SERVER_CONFIG"
#: how long a shutdown waits for requests in flight (``wasm-server up`` waits as long)
DRAIN_SECONDS = 30.0

Source = Path | str | App


class Closable(Protocol):
    """A live session a shutdown closes (the ASGI WebSocket session)."""

    def close(self, code: int = 1000, reason: bytes = b"") -> None:
        """Start closing (a WebSocket: the close handshake with ``code``)."""


class CollectingSink:
    """A :class:`~wasm_server.protocol.response.ResponseSink` that keeps a streamed body in
    memory: for callers that want the whole response (the embedding API; a WebSocket handshake
    answered as plain HTTP). ``limit``: the most it keeps; past it, writes fail as if the
    client had gone (the guest gets IO and stops)."""

    def __init__(self, limit: int = 64 * 1024 * 1024) -> None:
        self.started = False
        self.status = 0
        self.headers: Headers = ()
        self.chunks: list[bytes] = []
        self.limit = limit
        self._size = 0

    def start(self, status: int, headers: Headers) -> bool:
        """Keep the head of a streamed response."""
        if self.started:
            return False
        self.started = True
        self.status, self.headers = status, headers
        return True

    async def write(self, data: bytes) -> bool:
        """Keep one piece of the body; False past ``limit``."""
        self._size += len(data)
        if self._size > self.limit:
            return False
        if data:
            self.chunks.append(data)
        return True

    def response(self, resp: Response) -> Response:
        """``resp`` with a streamed body put back in (the whole response, as a client would read it)."""
        if not resp.streamed:
            return resp
        return resp._replace(status=self.status, headers=(*self.headers, *resp.headers), body=b"".join(self.chunks),
                             streamed=False)


def runtime_config(config: RuntimeConfig | None = None, data_dir: Path | str | None = None) -> RuntimeConfig:
    """``config``, or the runtime config ``wasm-server up`` would build without flags: the TOML
    named by ``$WASM_SERVER_CONFIG`` (if set) under the ``WASM_SERVER_*`` variables;
    ``data_dir`` (if given) wins over both."""
    if config is None:
        file = os.environ.get(CONFIG_ENV)
        config = load_runtime_config(Path(file) if file else None, {})
    return replace(config, data_dir=Path(data_dir)) if data_dir is not None else config


def manifest_from_env() -> Path:
    """The manifest named by ``$WASM_SERVER_MANIFEST``; a clear error when it is not set."""
    value = os.environ.get(MANIFEST_ENV, "").strip()
    if not value:
        raise ConfigError(f"set {MANIFEST_ENV} to the app's manifest (a wasm-server.toml or its directory), "
                          f"e.g. {MANIFEST_ENV}=examples/gallery uvicorn wasm_server.asgi:app")
    return Path(value)


async def load_app(spec: AppSpec, config: RuntimeConfig) -> App:
    """Load ``spec`` as ``wasm-server up`` does (same engine limits, compile cache and KV stores)."""
    data_dir = config.data_dir_for(spec.path)
    stores = StoreManager.from_runtime(config.key_value_stores, data_dir)
    return await App.load(spec, data_dir, config.module_cache_dir, stores, pool=config.pool,
                          cache_max_size=config.cache_max_size)


class HostedApp:
    """One app, loaded on first use (or at an ASGI server's start-up) in the running event loop.

    ``source``: a manifest path, an already loaded :class:`~wasm_server.app.App` (then its owner
    closes it, not :meth:`stop`), or None for ``$WASM_SERVER_MANIFEST`` read at :meth:`start`.
    """

    def __init__(self, source: Source | None, *, data_dir: Path | str | None = None,
                 config: RuntimeConfig | None = None) -> None:
        self._source = source
        self._data_dir = data_dir
        self._config = config
        self._app: App | None = source if isinstance(source, App) else None
        self._owned = self._app is None
        self._lock: asyncio.Lock | None = None
        self.max_body = config.max_body if config is not None else DEFAULT_MAX_BODY
        #: requests being answered now (a shutdown waits for them)
        self.in_flight = 0
        #: live sessions (WebSockets) a shutdown closes
        self.sessions: set[Closable] = set()
        self.stopping = False

    @property
    def app(self) -> App:
        """The loaded app (after :meth:`start`)."""
        if self._app is None:
            raise RuntimeError("the app is not loaded yet: await start() first")
        return self._app

    @property
    def loaded(self) -> bool:
        """Whether :meth:`start` has loaded the app."""
        return self._app is not None

    async def start(self) -> App:
        """Load and compile the app (once; later calls return it). Raises the loader's
        ``WasmServerError`` (a bad manifest, a module not built yet …)."""
        if self._app is not None:
            return self._app
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._app is None:
                self._app = await self._load()
        return self._app

    async def _load(self) -> App:
        config = runtime_config(self._config, self._data_dir)
        self.max_body = config.max_body
        source = self._source
        path = manifest_from_env() if source is None else Path(source) if isinstance(source, str | Path) else None
        assert path is not None  # an App was taken in the constructor
        spec = load_manifest(path)
        raw = [f"{c.name} ({len(c.tcp)} TCP, {len(c.udp)} UDP)" for c in spec.components if c.tcp or c.udp]
        if raw:
            log.warning("%s: TCP/UDP listeners are not opened when the app is embedded: %s "
                        "(serve them with `wasm-server up`)", spec.name, ", ".join(raw))
        return await load_app(spec, config)

    def too_large(self, declared: int | None) -> Response | None:
        """413 when a declared ``content-length`` is over the body limit (the edge's answer)."""
        if declared is not None and declared > self.max_body:
            return error(413, f"request body of {declared} bytes is over the {self.max_body} limit", close=True)
        return None

    def over_limit(self) -> Response:
        """413 for a body that grew over the limit while it was read."""
        return error(413, f"request body is over the {self.max_body} byte limit", close=True)

    async def respond(self, request: Request, client: str, sink: ResponseSink) -> Response:
        """Answer one request through the app's own seam (``App.respond``), counted in flight;
        a host failure is a 500, as on the HTTP edge."""
        app = self._app if self._app is not None else await self.start()
        self.in_flight += 1
        try:
            return await app.respond(request, client, sink)
        except Exception:
            log.exception("internal error while serving %s", request.target[:200])
            return error(500, "internal server error", close=True)
        finally:
            self.in_flight -= 1

    async def answer(self, request: Request, match: Match | MethodNotAllowed | None, client: str,
                     sink: ResponseSink) -> Response:
        """:meth:`respond` for a request already routed (a handshake that is no WebSocket route)."""
        self.in_flight += 1
        try:
            return await self.app.dispatch(request, match, client, sink)
        except Exception:
            log.exception("internal error while serving %s", request.target[:200])
            return error(500, "internal server error", close=True)
        finally:
            self.in_flight -= 1

    def metrics(self) -> str:
        """The app's counters in Prometheus' text format (what the admin API's /metrics shows)."""
        return metrics_text([self])

    async def stop(self, grace: float = DRAIN_SECONDS) -> None:
        """Close live sessions (WebSocket 1001), wait up to ``grace`` s for requests in flight
        and sessions to end, then close the app (its stores and engine) if it was loaded here."""
        self.stopping = True
        for session in list(self.sessions):
            session.close(1001, b"server shutting down")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        app = self._app
        while (self.in_flight or self.sessions or (app is not None and app.busy())) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if self.in_flight:
            log.warning("shutting down with %d request(s) still running after %.0f s", self.in_flight, grace)
        if app is not None and self._owned:
            self._app = None  # a later start() loads it again (a server started twice in one process)
            await app.close()
            del app
            # An App's object graph has reference cycles, so its engine is freed by the cycle
            # collector, not when the last reference goes; with the pooling allocator an engine
            # holds terabytes of reserved address space, and a program that loads and closes
            # apps (tests, a plugin host) ran out of it after ~30 (Wasmtime aborts the process).
            gc.collect()
        self.stopping = False


def metrics_text(hosts: Iterable[HostedApp]) -> str:
    """The counters of every loaded app in ``hosts`` as one Prometheus exposition (one HELP and
    TYPE line per metric, as the admin API's /metrics has for every deployed app)."""
    from .capabilities.kv import OPS

    apps = [h.app for h in hosts if h.loaded]
    return render(((a.spec.name, a.stats, a.running_requests()) for a in apps), OPS)
