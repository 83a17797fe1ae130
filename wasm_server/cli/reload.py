"""``wasm-server up --watch``: redeploy on change without dropping a request.

A watcher polls the manifest files, the components' modules and their build
``watch`` files. When something changed it rebuilds what is stale, loads the
new app completely (compiled, linked, every component checked) beside the
running one, and only then points the HTTP front at it. Requests already
running finish on the old app; its instances drain and it is closed once it
is idle. A change that does not load (a broken manifest, a module that fails
its checks, a failed build) is logged and the old app keeps serving.

TCP/UDP listeners stay bound to the app they started with: a change to raw
listeners needs a restart (the watcher says so).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from ..app import App
from ..build import build_app
from ..errors import WasmServerError
from ..manifest import AppSpec, load_manifest
from ..net.http import HttpServer

log = logging.getLogger("wasm_server")

POLL_SECONDS = 0.5
#: how long an old app may take to finish its in-flight requests before it is closed anyway
DRAIN_SECONDS = 30.0

Fingerprint = dict[Path, float]


def watched_files(spec: AppSpec) -> set[Path]:
    """Every file whose change means a redeploy."""
    files = {spec.path}
    for comp in spec.components:
        files.add(comp.manifest)
        files.add(comp.source)
        if comp.build is not None:
            for pattern in comp.build.watch:
                files.update(p for p in comp.build.workdir.glob(pattern) if p.is_file())
    return files


def fingerprint(files: set[Path]) -> Fingerprint:
    """Modification times (missing files count as 0)."""
    out: Fingerprint = {}
    for f in files:
        try:
            out[f] = f.stat().st_mtime
        except OSError:
            out[f] = 0.0
    return out


class Reloader:
    """Watches ``spec``'s files and swaps the app behind ``server`` when they change."""

    def __init__(self, spec: AppSpec, app: App, server: HttpServer, load: Callable[[AppSpec], Awaitable[App]],
                 *, build: bool = True, swap: Callable[[App], None] | None = None,
                 seen: Fingerprint | None = None) -> None:
        self.spec = spec
        self.app = app
        self.server = server
        self.load = load
        self.build = build
        #: who else must learn about the new app (the control plane's deployments)
        self.swap = swap
        self.generation = 1
        #: the files as they were when ``app`` was loaded: a change made while the server
        #: was starting is then seen on the first poll, not taken as the starting point
        self._seen = seen if seen is not None else fingerprint(watched_files(spec))
        self._draining: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Poll until cancelled."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            current = fingerprint(watched_files(self.spec))
            if current == self._seen:
                continue
            await asyncio.sleep(POLL_SECONDS / 2)  # let an editor or a build finish writing
            self._seen = fingerprint(watched_files(self.spec))
            await self.reload()

    async def reload(self) -> bool:
        """Build, load and swap in the app as it is on disk now; False if it did not load."""
        try:
            spec = load_manifest(self.spec.path)
            if self.build:
                await asyncio.to_thread(build_app, spec)
            new = await self.load(spec)
        except WasmServerError as exc:
            log.error("redeploy failed, still serving the previous version: %s", exc)
            return False
        if _raw_listeners(spec) != _raw_listeners(self.spec):
            log.warning("TCP/UDP listeners changed: restart the server to apply that part")
        old, self.app, self.spec = self.app, new, spec
        first = self.generation == 1
        if self.swap is not None:
            self.swap(new)  # the deployments route to it (and retire the old one themselves)
            self.generation += 1
            self._seen = fingerprint(watched_files(spec))
            log.info("redeployed %s (generation %d)", spec.name, self.generation)
            return True
        self.server.switch(new)
        self.generation += 1
        self._seen = fingerprint(watched_files(spec))
        log.info("redeployed %s (generation %d, %d components)", spec.name, self.generation, len(spec.components))
        if first and _raw_listeners(old.spec):
            return True  # its TCP/UDP listeners still run on it: serve() closes it at shutdown
        task = asyncio.ensure_future(self._retire(old))
        self._draining.add(task)
        task.add_done_callback(self._draining.discard)
        return True

    async def _retire(self, old: App) -> None:
        """Close ``old`` once nothing runs in it (or after DRAIN_SECONDS)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_SECONDS
        while old.busy() and loop.time() < deadline:
            await asyncio.sleep(0.05)
        await old.close()

    async def close(self) -> None:
        """Finish retiring old apps (on shutdown)."""
        if self._draining:
            await asyncio.gather(*self._draining, return_exceptions=True)


def _raw_listeners(spec: AppSpec) -> set[tuple[str, str, str, int]]:
    return {(c.name, a.protocol, a.host, a.port) for c in spec.components for a in (*c.tcp, *c.udp)}
