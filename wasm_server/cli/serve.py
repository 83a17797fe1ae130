"""``wasm-server up``: load an app and serve it until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from ..app import App
from ..config import RuntimeConfig
from ..manifest import AppSpec
from ..net.http import ConnectionLimits, HttpServer
from ..routing import routes_table

log = logging.getLogger("wasm_server")


async def serve(spec: AppSpec, config: RuntimeConfig, *, ready: asyncio.Event | None = None) -> None:
    """Serve ``spec`` on ``config.listen`` until a shutdown signal."""
    data_dir = config.data_dir_for(spec.path)
    app = await App.load(spec, data_dir, config.cache_dir / "modules")
    server = HttpServer(app.respond, ConnectionLimits(max_body=config.max_body))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        for addr in config.listen:
            try:
                await server.listen(addr.host, addr.port)
            except OSError as exc:
                from ..errors import WasmServerError

                raise WasmServerError(f"cannot listen on {addr.url()}: {exc.strerror}") from None
        for host, pattern, target in routes_table(app.router):
            print(f"  {pattern:<28} -> {target}" + (f"  (host {host})" if host != "*" else ""), file=sys.stderr)
        urls = ", ".join(a.url() for a in config.listen)
        count = len(spec.components)
        print(f"wasm-server serving {spec.name} ({count} components) on {urls}", file=sys.stderr, flush=True)
        print(f"  data dir: {data_dir}", file=sys.stderr, flush=True)
        if ready is not None:
            ready.set()
        await stop.wait()
        print("shutting down: finishing in-flight requests", file=sys.stderr, flush=True)
        await server.shutdown()
    finally:
        await app.close()


def run(spec: AppSpec, config: RuntimeConfig) -> None:
    """Run :func:`serve` on uvloop."""
    import uvloop

    uvloop.run(serve(spec, config))
