"""``wasm-server up``: load an app and serve it until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .. import tracing
from ..app import App
from ..config import ListenAddress, RuntimeConfig
from ..errors import WasmServerError
from ..kv import StoreManager
from ..manifest import AppSpec
from ..net.access_log import AccessLog
from ..net.http import ConnectionLimits, HttpServer, NoUpgrades
from ..net.listeners import Bind, parse_port_map, plan
from ..protocol.http1 import Request
from ..protocol.response import Response, ResponseSink, error
from ..pubsub import LocalBroker
from ..routing import routes_table

if TYPE_CHECKING:  # imported where used: only cluster mode and raw TCP/UDP listeners need them (start-up time)
    from ..net.tcp import TcpService
    from ..net.udp import UdpSession
    from ..pubsub.redis import RedisPubSub

log = logging.getLogger("wasm_server")


async def serve(spec: AppSpec | None, config: RuntimeConfig, *,
                watch: bool = False, build: bool = True) -> None:
    """Serve ``spec`` (or only what is deployed, when None) on ``config.listen`` until a
    shutdown signal; with ``watch``, redeploy whenever its files change (see reload.py);
    with an admin listener or a cluster, run the control plane too (see control.py)."""
    data_dir = config.data_dir_for(spec.path) if spec is not None else (config.data_dir or Path(".wasm-server"))
    cache = config.module_cache_dir
    if config.otlp_endpoint:
        tracing.configure_otlp(config.otlp_endpoint, service_name=config.trace_service_name)
    pubsub: RedisPubSub | None = None
    if config.pubsub_redis:
        from ..pubsub.redis import RedisPubSub  # cluster mode only (start-up time)

        pubsub = RedisPubSub(config.pubsub_redis)
    brokers = pubsub.broker if pubsub is not None else LocalBroker

    async def load(new_spec: AppSpec) -> App:
        return await App.load(new_spec, data_dir, cache, StoreManager.from_runtime(config.key_value_stores, data_dir),
                              pool=config.pool, cache_max_size=config.cache_max_size, brokers=brokers)

    serves_http = spec is None or spec.index is not None or any(c.routes for c in spec.components)
    http = config.listen if serves_http else ()
    binds = plan(spec, parse_port_map(config.map_ports), http) if spec is not None else []  # conflicts first
    loaded_files = None
    if watch and spec is not None:
        from .reload import fingerprint, watched_files

        loaded_files = fingerprint(watched_files(spec))  # before loading: see Reloader._seen
    app = await load(spec) if spec is not None else None
    limits = ConnectionLimits(max_body=config.max_body, request_timeout=config.request_timeout,
                              max_connections=config.max_connections)
    access = AccessLog(sys.stderr.buffer, json_lines=config.log_format == "json") if config.access_log else None
    server = HttpServer(app if app is not None else _Nothing(), limits, access)
    control = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        if pubsub is not None:
            await pubsub.start()
        https = await _open_https(server, config) if serves_http else []
        plain = server
        if config.redirect_https and https:
            from ..net.tls import Redirect

            plain = HttpServer(Redirect(https[0].port), limits, access)
        # raw TCP/UDP listeners first: once the HTTP port answers, every listener is up (a
        # probe or a client that waits for the HTTP port found the TCP one still closed)
        raw_services = (await open_raw_listeners(app, spec, binds, reuse_port=config.workers > 1)
                        if app is not None and spec is not None else [])
        for addr in http:
            try:
                await plain.listen(addr.host, addr.port, reuse_port=config.workers > 1)
            except OSError as exc:
                raise WasmServerError(f"cannot listen on {addr.url()}: {exc.strerror}") from None
        if config.admin is not None or config.clustered:
            from .control import ControlPlane

            control = await ControlPlane.start(config, data_dir, server, load, spec, app)
        # with several workers, the first one speaks for all
        say = os.environ.get("WASM_SERVER_WORKER", "0") in ("0", "1")
        for host, pattern, target in (routes_table(app.router) if say and app else []):
            print(f"  {pattern:<28} -> {target}" + (f"  (host {host})" if host != "*" else ""), file=sys.stderr)
        urls = ", ".join([*(a.url() for a in http), *(a.url().replace("http://", "https://") for a in https)]) \
            or "no HTTP (the app has no routes)"
        count = len(spec.components) if spec else 0
        workers = f", {config.workers} workers" if config.workers > 1 else ""
        if say:
            what = f"{spec.name} ({count} components{workers})" if spec else f"deployed apps{workers}"
            print(f"wasm-server serving {what} on {urls}", file=sys.stderr, flush=True)
        for b in binds if say else []:
            moved = "" if b.url() == b.wanted else f"  (manifest: {b.wanted})"
            print(f"  {b.url():<28} -> {b.component}{moved}", file=sys.stderr)
        if say:
            if control is not None:
                for line in control.describe():
                    print(f"  {line}", file=sys.stderr)
            print(f"  data dir: {data_dir}", file=sys.stderr, flush=True)
        reloader = watcher = None
        if watch and spec is not None and app is not None:
            from .reload import Reloader

            reloader = Reloader(spec, app, server, load, build=build, seen=loaded_files,
                                swap=control.swap_command_line if control is not None else None)
            watcher = asyncio.ensure_future(reloader.run())
            if say:
                print("  watching for changes (--watch)", file=sys.stderr, flush=True)
        await stop.wait()
        print("shutting down: finishing in-flight requests", file=sys.stderr, flush=True)
        if watcher is not None:
            watcher.cancel()
        await server.shutdown()
        if plain is not server:
            await plain.shutdown(grace=1)
        for svc in raw_services:
            await svc.close()
        if control is not None:
            await control.close()
        if reloader is not None:
            await reloader.close()
            if reloader.app is not app:
                await reloader.app.close()
    finally:
        if app is not None:
            await app.close()
        if pubsub is not None:
            await pubsub.close()
        if config.otlp_endpoint:
            tracing.shutdown()  # export what is batched


async def _open_https(server: HttpServer, config: RuntimeConfig) -> list[ListenAddress]:
    """Open the HTTPS listeners (certificates are checked first: a bad one fails the start)."""
    if not config.listen_tls:
        return []
    from ..net.tls import CertPair, server_context

    default = CertPair(config.tls_cert, config.tls_key) if config.tls_cert and config.tls_key else None
    if (config.tls_cert is None) != (config.tls_key is None):
        raise WasmServerError("--cert and --key go together")
    named = [CertPair(cert, key, hosts) for hosts, cert, key in config.tls_certificates]
    ctx = server_context(default, named)
    for addr in config.listen_tls:
        try:
            await server.listen(addr.host, addr.port, reuse_port=config.workers > 1, ssl=ctx)
        except OSError as exc:
            raise WasmServerError(f"cannot listen on {addr.url()} (HTTPS): {exc.strerror}") from None
    return list(config.listen_tls)


class _Nothing(NoUpgrades):
    """What a server with no app yet serves (until something is deployed)."""

    async def respond(self, req: Request, client: str, sink: ResponseSink) -> Response:
        return error(404, "no app is deployed yet")


async def open_raw_listeners(app: App, spec: AppSpec, binds: list[Bind], *,
                             reuse_port: bool = False) -> list[TcpService | UdpSession]:
    """Open every TCP/UDP listener of the plan; one TcpService per component."""
    if not binds:
        return []  # before the imports: an HTTP-only app does not load the raw-socket modules
    from ..errors import WasmServerError
    from ..executors import NativeExecutor
    from ..net.session import SessionLimits
    from ..net.tcp import TcpService
    from ..net.udp import UdpSession

    comps = {c.name: c for c in spec.components}
    tcp: dict[str, TcpService] = {}
    services: list[TcpService | UdpSession] = []
    for b in binds:
        executor = app.executors[b.component]
        assert isinstance(executor, NativeExecutor)
        comp = comps[b.component]
        try:
            if b.protocol == "tcp":
                svc = tcp.get(b.component)
                if svc is None:
                    limits = SessionLimits(comp.max_connections, comp.idle_timeout)
                    svc = tcp[b.component] = TcpService(executor, app.connections, limits)
                    services.append(svc)
                await svc.listen(b.host, b.port, reuse_port=reuse_port)
            else:
                udp = UdpSession(executor, app.connections)
                await udp.listen(b.host, b.port, reuse_port=reuse_port)
                services.append(udp)
        except OSError as exc:
            hint = " (ports below 1024 need privileges: remap with --map-port)" if b.port < 1024 else ""
            raise WasmServerError(f"cannot listen on {b.url()} for '{b.component}': {exc.strerror}{hint}") from None
    return services


def run(spec: AppSpec | None, config: RuntimeConfig, *, watch: bool = False, build: bool = True) -> None:
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
    supervisor = os.getpid()
    for i in range(config.workers):
        pid = os.fork()
        if pid == 0:
            _end_with(supervisor)
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


#: how often a worker checks that its supervisor is still alive (seconds)
_PARENT_CHECK = 0.5


def _end_with(supervisor: int) -> None:
    """In a worker just forked: shut down (SIGTERM to itself) once the supervisor is gone.

    A supervisor killed with SIGKILL (the OOM killer, ``kill -9``) cannot forward anything;
    without this its workers would go on serving, holding the ports, with nobody to stop
    them. A worker's parent changes only when the supervisor dies (the worker is re-parented),
    so one small thread per worker watches ``getppid()``, as gunicorn's workers do (the
    layering rule keeps ctypes, and so Linux's prctl PDEATHSIG, inside engine/).
    """
    import threading

    def watch() -> None:
        while os.getppid() == supervisor:
            time.sleep(_PARENT_CHECK)
        os.kill(os.getpid(), signal.SIGTERM)  # the same graceful shutdown as a normal stop

    threading.Thread(target=watch, name="wasm-server-parent-watch", daemon=True).start()


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
