"""``wasm-server up``: load an app and serve it until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from ..app import App
from ..config import RuntimeConfig
from ..kv import StoreManager
from ..manifest import AppSpec
from ..net.http import ConnectionLimits, HttpServer
from ..net.listeners import Bind, parse_port_map, plan
from ..net.tcp import TcpService
from ..net.udp import UdpService
from ..routing import routes_table

log = logging.getLogger("wasm_server")


async def serve(spec: AppSpec, config: RuntimeConfig, *, ready: asyncio.Event | None = None,
                watch: bool = False, build: bool = True) -> None:
    """Serve ``spec`` on ``config.listen`` until a shutdown signal; with ``watch``,
    redeploy whenever its files change (see reload.py)."""
    data_dir = config.data_dir_for(spec.path)
    serves_http = spec.index is not None or any(c.routes for c in spec.components)
    http = config.listen if serves_http else ()
    binds = plan(spec, parse_port_map(config.map_ports), http)  # conflicts fail before loading
    app = await App.load(spec, data_dir, config.cache_dir / "modules",
                         StoreManager.from_runtime(config.key_value_stores, data_dir))
    limits = ConnectionLimits(max_body=config.max_body, request_timeout=config.request_timeout,
                              max_connections=config.max_connections)
    server = HttpServer(app.respond, limits, upgrade=app.upgrade)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        for addr in http:
            try:
                await server.listen(addr.host, addr.port, reuse_port=config.workers > 1)
            except OSError as exc:
                from ..errors import WasmServerError

                raise WasmServerError(f"cannot listen on {addr.url()}: {exc.strerror}") from None
        raw_services = await open_raw_listeners(app, spec, binds, reuse_port=config.workers > 1)
        # with several workers, the first one speaks for all
        say = os.environ.get("WASM_SERVER_WORKER", "0") in ("0", "1")
        for host, pattern, target in (routes_table(app.router) if say else []):
            print(f"  {pattern:<28} -> {target}" + (f"  (host {host})" if host != "*" else ""), file=sys.stderr)
        urls = ", ".join(a.url() for a in http) or "no HTTP (the app has no routes)"
        count = len(spec.components)
        workers = f", {config.workers} workers" if config.workers > 1 else ""
        if say:
            print(f"wasm-server serving {spec.name} ({count} components{workers}) on {urls}", file=sys.stderr,
                  flush=True)
        for b in binds if say else []:
            moved = "" if b.url() == b.wanted else f"  (manifest: {b.wanted})"
            print(f"  {b.url():<28} -> {b.component}{moved}", file=sys.stderr)
        if say:
            print(f"  data dir: {data_dir}", file=sys.stderr, flush=True)
        reloader = watcher = None
        if watch:
            from .reload import Reloader

            async def load(new_spec: AppSpec) -> App:
                return await App.load(new_spec, data_dir, config.cache_dir / "modules",
                                      StoreManager.from_runtime(config.key_value_stores, data_dir))

            reloader = Reloader(spec, app, server, load, build=build)
            watcher = asyncio.ensure_future(reloader.run())
            if say:
                print("  watching for changes (--watch)", file=sys.stderr, flush=True)
        if ready is not None:
            ready.set()
        await stop.wait()
        print("shutting down: finishing in-flight requests", file=sys.stderr, flush=True)
        if watcher is not None:
            watcher.cancel()
        await server.shutdown()
        for svc in raw_services:
            await svc.close()
        if reloader is not None:
            await reloader.close()
            if reloader.app is not app:
                await reloader.app.close()
    finally:
        await app.close()


async def open_raw_listeners(app: App, spec: AppSpec, binds: list[Bind], *,
                             reuse_port: bool = False) -> list[TcpService | UdpService]:
    """Open every TCP/UDP listener of the plan; one TcpService per component."""
    from ..errors import WasmServerError
    from ..executors import NativeExecutor

    comps = {c.name: c for c in spec.components}
    tcp: dict[str, TcpService] = {}
    services: list[TcpService | UdpService] = []
    for b in binds:
        executor = app.executors[b.component]
        assert isinstance(executor, NativeExecutor)
        comp = comps[b.component]
        try:
            if b.protocol == "tcp":
                svc = tcp.get(b.component)
                if svc is None:
                    svc = tcp[b.component] = TcpService(executor, app.connections, comp.max_connections,
                                                        comp.idle_timeout)
                    services.append(svc)
                await svc.listen(b.host, b.port, reuse_port=reuse_port)
            else:
                udp = UdpService(executor, app.connections)
                await udp.listen(b.host, b.port, reuse_port=reuse_port)
                services.append(udp)
        except OSError as exc:
            hint = " (ports below 1024 need privileges: remap with --map-port)" if b.port < 1024 else ""
            raise WasmServerError(f"cannot listen on {b.url()} for '{b.component}': {exc.strerror}{hint}") from None
    return services


def run(spec: AppSpec, config: RuntimeConfig, *, watch: bool = False, build: bool = True) -> None:
    """Run :func:`serve` on uvloop, in ``config.workers`` processes sharing the ports.

    Workers are forked before anything starts a thread or an engine; each
    opens every listener with SO_REUSEPORT, so the kernel spreads connections
    (and UDP datagrams, by peer address) across them. They share the compiled
    module cache on disk and the SQLite KV file.
    """
    import uvloop

    if config.workers <= 1:
        uvloop.run(serve(spec, config, watch=watch, build=build))
        return
    children = []
    for i in range(config.workers):
        pid = os.fork()
        if pid == 0:
            os.environ["WASM_SERVER_WORKER"] = str(i + 1)
            code = 0
            try:
                # one worker builds; the others reload when the module it writes changes
                uvloop.run(serve(spec, config, watch=watch, build=build and i == 0))
            except BaseException as exc:  # report like the CLI would, then leave without cleanup of the parent's
                print(f"error: worker {i + 1}: {exc}", file=sys.stderr)
                code = 1
            os._exit(code)
        children.append(pid)
    _supervise(children)


def _supervise(children: list[int]) -> None:
    """Forward SIGTERM/SIGINT to the workers and wait for all of them."""
    def forward(sig: int, _frame: object) -> None:
        for pid in children:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    failed = 0
    for pid in children:
        _, status = os.waitpid(pid, 0)
        failed += os.waitstatus_to_exitcode(status) not in (0, -signal.SIGTERM, -signal.SIGINT)
    if failed:
        from ..errors import WasmServerError

        raise WasmServerError(f"{failed} worker(s) failed")
