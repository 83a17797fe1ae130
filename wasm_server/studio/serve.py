"""Running the studio: checks its options, listens, serves until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import ipaddress
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from ..config import ListenAddress
from ..errors import ConfigError, WasmServerError
from ..net.http import ConnectionLimits, HttpServer
from .api import Guard, StudioApi
from .builds import Builder
from .deploy import Deployer
from .workspace import Workspace

DEFAULT_LISTEN = "127.0.0.1:8090"
#: the largest request body (an imported .zip; a source file is capped at 1 MiB on its own)
MAX_BODY = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class StudioOptions:
    """What ``wasm-server studio`` was asked to do."""

    workspace: Path
    listen: ListenAddress
    admin_url: str
    token: str | None
    server_url: str
    builds: int = 1
    build_timeout: float = 600.0


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a literal or ``localhost``) is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check(options: StudioOptions) -> None:
    """Refuse options that would expose the studio: off loopback it needs a token."""
    if not is_loopback(options.listen.host) and not options.token:
        raise ConfigError(
            f"the studio writes files and runs builds: listening on {options.listen.host} (not loopback) needs "
            "the admin token (--token or $WASM_SERVER_ADMIN_TOKEN); every API call must then carry it. "
            f"Or listen on loopback: --listen {DEFAULT_LISTEN}")


def studio(options: StudioOptions) -> StudioApi:
    """The studio service for ``options`` (not listening yet)."""
    guard = Guard(options.listen.host, options.listen.port,
                  None if is_loopback(options.listen.host) else options.token)
    return StudioApi(Workspace(options.workspace),
                     Builder(slots=options.builds, timeout=options.build_timeout),
                     Deployer(options.admin_url, options.token, options.server_url), guard)


async def serve(options: StudioOptions) -> None:
    """Serve the studio until a shutdown signal; running builds are killed then."""
    check(options)
    api = studio(options)
    server = HttpServer(api, ConnectionLimits(max_body=MAX_BODY))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await server.listen(options.listen.host, options.listen.port)
    except OSError as exc:
        raise WasmServerError(f"cannot listen on {options.listen.url()}: {exc.strerror}") from None
    for line in describe(options, api):
        print(line, file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        print("studio: stopping (running builds are killed)", file=sys.stderr, flush=True)
        await api.builder.close()
        await server.shutdown(grace=1)


def describe(options: StudioOptions, api: StudioApi) -> list[str]:
    """The start-up lines: where the studio is, what it serves, where it deploys."""
    n = len(api.workspace.services())
    auth = api.guard.token is not None
    lines = [
        f"wasm-server studio on {options.listen.url()}/",
        f"  workspace: {api.workspace.root} ({n} service{'' if n == 1 else 's'})",
        f"  builds: {options.builds} at a time, {options.build_timeout:g} s each at most",
        f"  deploys through the admin API at {options.admin_url}"
        + ("" if options.token else " (no token: deploy needs --token or $WASM_SERVER_ADMIN_TOKEN)"),
        f"  deployed apps are served at {options.server_url}",
    ]
    if auth:
        lines.append("  every API call needs the admin token (the page asks for it once)")
    return lines


def run(options: StudioOptions) -> None:
    """Run :func:`serve` in a new event loop."""
    asyncio.run(serve(options))
