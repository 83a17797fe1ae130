"""The ASGI 3 application: scopes to the http, websocket and lifespan adapters."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from ..app import App
from ..config import RuntimeConfig
from ..errors import WasmServerError
from ..hosted import DRAIN_SECONDS, HostedApp, Source
from ..protocol.response import error
from .http import send_response, serve_http
from .scope import Connection, Receive, Scope, Send, extensions

log = logging.getLogger("wasm_server")


class AsgiApp:
    """An app (its manifest, or a loaded :class:`~wasm_server.app.App`) as an ASGI 3 application.

    Lifespan ``startup`` loads and compiles it (so the first request is not slow) and
    ``shutdown`` closes WebSockets (1001), waits for requests in flight (up to ``grace`` s)
    and closes the app. Where no lifespan events come (a sub-app mounted in Starlette or
    FastAPI gets none), the first request loads it; :meth:`lifespan` hands the parent app
    the same start-up and shutdown.
    """

    def __init__(self, source: Source | None, *, data_dir: Path | str | None = None,
                 config: RuntimeConfig | None = None, grace: float = DRAIN_SECONDS) -> None:
        self.host = HostedApp(source, data_dir=data_dir, config=config)
        self.grace = grace

    @property
    def app(self) -> App:
        """The loaded app (its stats, stores, router …); after start-up."""
        return self.host.app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "http":
            conn = Connection.read(scope)
            host = self.host
            if not host.loaded and not await self._ready():
                await send_response(send, error(503, "the app failed to load (see the server log)"))
                return
            await serve_http(host, conn, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:
            raise ValueError(f"ASGI: unknown scope type {kind!r}")

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        conn = Connection.read(scope)
        if not await self._ready():
            await send({"type": "websocket.close", "code": 1011})
            return
        # imported here, as the edge does: the websockets package is costly and most apps never upgrade
        from .websocket import serve_websocket

        await serve_websocket(self.host, conn, extensions(scope), receive, send)

    async def _ready(self) -> bool:
        """Load the app on first use (no lifespan); False (logged) when it cannot load."""
        if self.host.loaded:
            return True
        try:
            await self.host.start()
        except WasmServerError as exc:
            log.error("cannot load the app: %s", exc)
            return False
        return True

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            kind = message.get("type")
            if kind == "lifespan.startup":
                try:
                    await self.startup()
                except WasmServerError as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif kind == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        """Load and compile the app now (raises the loader's WasmServerError)."""
        app = await self.host.start()
        log.info("wasm-server: %s loaded (%d components)", app.spec.name, len(app.spec.components))

    async def shutdown(self) -> None:
        """Close WebSockets, drain requests in flight, close the app."""
        await self.host.stop(self.grace)

    @asynccontextmanager
    async def lifespan(self, _parent: object = None) -> AsyncIterator[None]:
        """Start-up and shutdown for a parent app that mounts this one:
        ``FastAPI(lifespan=wasm.lifespan)`` (Starlette calls it with the parent app)."""
        await self.startup()
        try:
            yield
        finally:
            await self.shutdown()

    def metrics(self) -> str:
        """The per-component counters in Prometheus' text format (as the admin API's /metrics)."""
        return self.host.metrics()

