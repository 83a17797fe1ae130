"""The apps one server runs: the one named on the command line and those deployed
through the admin API (or, in a cluster, through any node's admin API).

Every deployed app keeps its own engine and instances; one router built from
the routes of every app decides which app serves a request, with the same
specificity order and clash checks as inside one app. A deployment is a manifest plus its
files, unpacked into ``<data_dir>/apps/<name>/v<version>/`` and loaded
completely (compiled, linked, checked) before it replaces the previous version
of that name; the previous version finishes its requests and is then closed.
Without a cluster, deployments are kept in the data directory and come back
after a restart.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .app import App
from .errors import ConfigError, WasmServerError
from .manifest import AppSpec, load_manifest
from .protocol.http1 import Request
from .protocol.response import Response, ResponseSink, Upgraded, error
from .routing import Match, MethodNotAllowed, Router, RouteSpec

log = logging.getLogger("wasm_server")

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
WASM_MAGIC = b"\x00asm"
DRAIN_SECONDS = 30.0

Loader = Callable[[AppSpec], Awaitable[App]]


class DeployError(WasmServerError):
    """A deployment that cannot be accepted; ``status`` is the HTTP status the admin API answers."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Deployed:
    """One running app and where it came from."""

    name: str
    version: int
    app: App
    deployed_at: float
    source: str  # "command line" | "admin API" | "cluster"

    def describe(self) -> dict[str, Any]:
        """The JSON the admin API shows for this app."""
        return {
            "name": self.name, "version": self.version, "source": self.source,
            "deployed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.deployed_at)),
            "components": [
                {"name": c.name, "routes": [r.pattern for r in c.routes],
                 "requests": self.app.stats[c.name].requests, "errors": self.app.stats[c.name].errors,
                 "timeouts": self.app.stats[c.name].timeouts, "active": self.app.gates[c.name].active}
                for c in self.app.spec.components
            ],
        }


def check_files(files: dict[str, bytes]) -> None:
    """Refuse paths that escape the deployment directory, and modules that are not wasm."""
    for rel, data in files.items():
        parts = Path(rel).parts
        if not rel or Path(rel).is_absolute() or ".." in parts:
            raise DeployError(400, f"file name {rel!r} must be a relative path inside the app")
        if rel.endswith(".wasm") and not data.startswith(WASM_MAGIC):
            raise DeployError(400, f"{rel} is not a WebAssembly module (it does not start with \\0asm)")


class Deployments:
    """Named apps and the responder that routes between them."""

    def __init__(self, root: Path, load: Loader) -> None:
        self.root = root
        self.load = load
        self.apps: dict[str, Deployed] = {}
        self._order: list[Deployed] = []
        self.router = Router([])
        self._lock = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()

    # -- serving -------------------------------------------------------------------
    # One router for every route of every app: the same specificity order and clash
    # checks as inside one app (a catch-all in one app never shadows /api of another).

    def _route(self, req: Request) -> tuple[App, Match | MethodNotAllowed | None] | None:
        match = self.router.match_request(req.method, req.target, req.headers)
        if match is not None and not isinstance(match, MethodNotAllowed):
            return self.apps[match.app].app, match
        for d in self._order:  # no route anywhere: an app with an index page answers "/" (or the 405)
            if d.app.spec.index is not None:
                return d.app, match
        return (self._order[0].app, match) if self._order and match is not None else None

    async def respond(self, req: Request, client: str, sink: ResponseSink) -> Response:
        """Serve one request with the app whose route matches it best."""
        routed = self._route(req)
        if routed is None:
            path = req.target.split(b"?", 1)[0].decode("latin-1")
            return error(404, f"no route matches {path}" if self._order else "no app is deployed")
        app, match = routed
        return await app.dispatch(req, match, client, sink)

    async def upgrade(self, req: Request, client: str, transport: asyncio.Transport) -> Response | Upgraded:
        """A protocol upgrade (WebSocket) goes to the app whose route matches it."""
        routed = self._route(req)
        if routed is None:
            return error(404, "no route matches", close=True)
        app, match = routed
        return await app.dispatch_upgrade(req, match, client, transport)

    # -- changing what runs -----------------------------------------------------------

    def add_running(self, name: str, app: App, source: str, version: int = 1) -> None:
        """Register an app that is already loaded (the command line's)."""
        self._install(Deployed(name, version, app, time.time(), source))

    async def deploy(self, name: str, manifest: str, files: dict[str, bytes], *, version: int | None = None,
                     source: str = "admin API") -> Deployed:
        """Unpack, load and switch to a new version of ``name``; raises DeployError."""
        if not NAME_RE.match(name):
            raise DeployError(400, f"app name {name!r}: use 1-63 lower-case letters, digits and '-'")
        check_files(files)
        async with self._lock:
            current = self.apps.get(name)
            if version is None:
                version = (current.version + 1) if current else 1
            elif current is not None and current.version >= version:
                return current  # a newer (or the same) version already runs here
            where = self.root / name / f"v{version}"
            if where.exists():
                shutil.rmtree(where)
            where.mkdir(parents=True)
            try:
                (where / "wasm-server.toml").write_text(manifest)
                for rel, data in files.items():
                    (where / rel).parent.mkdir(parents=True, exist_ok=True)
                    (where / rel).write_bytes(data)
                spec = self._spec(where, name)
                self._router_with(name, spec)
                app = await self.load(spec)
            except DeployError:
                shutil.rmtree(where, ignore_errors=True)
                raise
            except WasmServerError as exc:
                shutil.rmtree(where, ignore_errors=True)
                raise DeployError(422, str(exc)) from None
            (where / "deployment.json").write_text(json.dumps({"name": name, "version": version}))
            deployed = Deployed(name, version, app, time.time(), source)
            self._install(deployed)
            log.info("deployed %s version %d (%s, %d components)", name, version, source, len(spec.components))
            self._prune(name, keep=where)
            return deployed

    async def undeploy(self, name: str, *, version: int | None = None) -> bool:
        """Stop serving ``name``; False if it was not deployed (or a newer version runs)."""
        async with self._lock:
            current = self.apps.get(name)
            if current is None or (version is not None and current.version > version):
                return False
            del self.apps[name]
            self._order = [d for d in self._order if d.name != name]
            self.router = Router([r for d in self._order for r in d.app.route_specs(d.name)])
            self._retire(current.app)
            shutil.rmtree(self.root / name, ignore_errors=True)
            log.info("undeployed %s", name)
            return True

    async def restore(self) -> int:
        """Load the deployments kept in the data directory (after a restart); returns how many."""
        restored = 0
        for meta in sorted(self.root.glob("*/v*/deployment.json")):
            info = json.loads(meta.read_text())
            current = self.apps.get(info["name"])
            if current is not None and current.version >= info["version"]:
                continue
            try:
                spec = self._spec(meta.parent, info["name"])
                self._router_with(info["name"], spec)
                app = await self.load(spec)
            except WasmServerError as exc:
                log.error("cannot restore deployment %s: %s", meta.parent, exc)
                continue
            self._install(Deployed(info["name"], info["version"], app, meta.stat().st_mtime, "restored"))
            restored += 1
        return restored

    async def close(self) -> None:
        """Close every app (at shutdown)."""
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
        for d in self._order:
            await d.app.close()
        self._order = []
        self.apps = {}

    # -- helpers ---------------------------------------------------------------------

    @staticmethod
    def _spec(where: Path, name: str) -> AppSpec:
        try:
            spec = load_manifest(where / "wasm-server.toml")
        except ConfigError as exc:
            raise DeployError(400, f"the manifest does not validate: {exc}") from None
        missing = [str(c.source.relative_to(where)) for c in spec.components if not c.source.exists()]
        if missing:
            raise DeployError(400, f"the upload lacks {', '.join(missing)} (named as source in the manifest)")
        if any(c.tcp or c.udp for c in spec.components):
            raise DeployError(400, "TCP/UDP listeners cannot be deployed through the admin API; "
                                   "serve such apps with `wasm-server up PATH`")
        return AppSpec(spec.path, name, spec.components, spec.index)

    def _router_with(self, name: str, spec: AppSpec) -> Router:
        """The process-wide router if ``spec`` replaced (or joined as) app ``name``;
        DeployError 409 if one of its routes clashes with another app's."""
        routes = [r for d in self._order if d.name != name for r in d.app.route_specs(d.name)]
        routes += [RouteSpec(r.pattern, c.name, r.host, r.methods, f"app '{name}'", name)
                   for c in spec.components for r in c.routes]
        try:
            return Router(routes)
        except ConfigError as exc:
            raise DeployError(409, str(exc)) from None

    def _install(self, deployed: Deployed) -> None:
        old = self.apps.get(deployed.name)
        router = self._router_with(deployed.name, deployed.app.spec)
        self.apps[deployed.name] = deployed
        self._order = [d for d in self._order if d.name != deployed.name] + [deployed]
        self._order.sort(key=lambda d: d.name)
        self.router = router
        if old is not None:
            self._retire(old.app)

    def _retire(self, app: App) -> None:
        async def drain() -> None:
            deadline = time.monotonic() + DRAIN_SECONDS
            while app.busy() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await app.close()

        task = asyncio.ensure_future(drain())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    def _prune(self, name: str, keep: Path) -> None:
        for old in (self.root / name).glob("v*"):
            if old != keep:
                shutil.rmtree(old, ignore_errors=True)
