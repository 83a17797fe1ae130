"""The admin API: HTTP/JSON on its own listener (loopback by default).

Every call but ``GET /healthz`` (liveness), ``GET /readyz`` (readiness) and
``GET /openapi.json`` needs
``Authorization: Bearer <token>``; without it, or with a wrong one, the answer
is 401 with a JSON body saying which. The routes are described in
``openapi.json`` next to this file.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from ..deployments import DeployError, Deployments
from ..metrics import render
from ..net.http import NoUpgrades
from ..protocol.http1 import Request
from ..protocol.response import Response, ResponseSink
from .logs import RecentLogs

log = logging.getLogger("wasm_server")

OPENAPI = Path(__file__).with_name("openapi.json")
_APP_PATH = re.compile(r"^/v1/apps/([^/]+)(/logs)?$")
JSON = (b"content-type", b"application/json")

#: ``(name, manifest, files) -> version``: publish a deployment (to the cluster, or locally)
Publisher = Callable[[str, str, dict[str, bytes]], Awaitable[dict[str, Any]]]
#: ``name -> existed``: publish an undeploy
Remover = Callable[[str], Awaitable[bool]]


def _json(status: int, body: object) -> Response:
    return Response(status, (JSON,), (json.dumps(body, indent=1) + "\n").encode())


class AdminApi(NoUpgrades):
    """The admin service (an :class:`~wasm_server.net.http.HttpService` on its own listener).

    ``draining``: a shutdown started. The admin listener opens only once the node has
    loaded (and, in a cluster, caught up with) what it serves, so a node that answers is
    ready until it drains. ``/healthz`` (liveness) answers 200 for as long as the process
    serves at all, so an orchestrator never kills a node that is only draining;
    ``/readyz`` (readiness) fails as soon as draining starts, so balancers stop sending
    new requests first."""

    def __init__(self, deployments: Deployments, token: str, logs: RecentLogs, *,
                 publish: Publisher | None = None, remove: Remover | None = None,
                 draining: Callable[[], bool] = lambda: False,
                 node: str = "") -> None:
        self.deployments = deployments
        self.token = token.encode()
        self.logs = logs
        self.publish = publish or self._deploy_here
        self.remove = remove or self.deployments.undeploy
        self.draining = draining
        self.node = node

    async def respond(self, req: Request, client: str, sink: ResponseSink) -> Response:
        """Serve one admin request; never raises."""
        if asyncio.current_task() is None:
            # the HTTP edge starts handlers eagerly, outside a Task; redis-py's timeouts need one
            return await asyncio.ensure_future(self._respond(req, client))
        return await self._respond(req, client)

    def _probe(self, path: str) -> Response:
        draining = self.draining()
        body = {"status": "draining" if draining else "ok", "node": self.node, "apps": len(self.deployments.apps)}
        if path == "/healthz":
            return _json(200, body)  # alive: the loop answers, whatever the state
        return _json(503 if draining else 200, body)

    async def _respond(self, req: Request, client: str) -> Response:
        path, _, query = req.target.decode("latin-1").partition("?")
        if path in ("/healthz", "/readyz") and req.method in (b"GET", b"HEAD"):
            return self._probe(path)
        if path == "/openapi.json" and req.method in (b"GET", b"HEAD"):
            return Response(200, (JSON,), OPENAPI.read_bytes())
        refused = self._auth(req)
        if refused is not None:
            log.warning("admin API: %s from %s (%s %s)", refused, client, req.method.decode("latin-1"), path)
            return Response(401, (JSON, (b"www-authenticate", b'Bearer realm="wasm-server admin"')),
                            (json.dumps({"error": refused}) + "\n").encode())
        try:
            return await self._route(req, path, query)
        except DeployError as exc:
            return _json(exc.status, {"error": str(exc)})
        except Exception:  # the admin API must answer, whatever happened
            log.exception("admin API: internal error on %s", path)
            return _json(500, {"error": "internal error (see the server log)"})

    def _auth(self, req: Request) -> str | None:
        header = next((v for k, v in req.headers if k == b"authorization"), None)
        if header is None:
            return "missing Authorization: Bearer <token> header"
        scheme, _, given = header.partition(b" ")
        if scheme.lower() != b"bearer" or not given:
            return "the Authorization header must be 'Bearer <token>'"
        if not hmac.compare_digest(given.strip(), self.token):
            return "wrong admin token"
        return None

    async def _route(self, req: Request, path: str, query: str) -> Response:
        method = req.method
        if path == "/metrics" and method == b"GET":
            from ..capabilities.kv import OPS

            text = render(((d.name, d.app.stats, d.app.running_requests()) for d in self.deployments.apps.values()),
                          OPS)
            return Response(200, ((b"content-type", b"text/plain; version=0.0.4"),), text.encode())
        if path == "/v1/apps" and method == b"GET":
            return _json(200, {"apps": [d.describe() for d in self.deployments.apps.values()]})
        m = _APP_PATH.match(path)
        if m is None:
            return _json(404, {"error": f"no admin route {path}"})
        name, logs = m.group(1), m.group(2)
        if logs:
            if method != b"GET":
                return _json(405, {"error": "use GET"})
            try:
                limit = int((parse_qs(query).get("limit") or ["100"])[0])
            except ValueError:
                return _json(400, {"error": "limit must be a number"})
            deployed = self.deployments.apps.get(name)
            if deployed is None:
                return _json(404, {"error": f"app '{name}' is not deployed"})
            comps = [c.name for c in deployed.app.spec.components]
            return _json(200, {"app": name, "lines": self.logs.recent(comps, limit)})
        if method == b"GET":
            deployed = self.deployments.apps.get(name)
            if deployed is None:
                return _json(404, {"error": f"app '{name}' is not deployed"})
            return _json(200, deployed.describe())
        if method == b"PUT":
            manifest, files = self._upload(req.body)
            result = await self.publish(name, manifest, files)
            return _json(201, result)
        if method == b"DELETE":
            existed = await self.remove(name)
            if not existed:
                return _json(404, {"error": f"app '{name}' is not deployed"})
            return _json(200, {"undeployed": name})
        return _json(405, {"error": "use GET, PUT or DELETE"})

    @staticmethod
    def _upload(body: bytes) -> tuple[str, dict[str, bytes]]:
        try:
            doc = json.loads(body)
            manifest = doc["manifest"]
            files = {str(k): base64.b64decode(v, validate=True) for k, v in doc.get("files", {}).items()}
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise DeployError(400, 'expected JSON {"manifest": "<wasm-server.toml text>", '
                                   f'"files": {{"name.wasm": "<base64>"}}}}: {exc}') from None
        if not isinstance(manifest, str):
            raise DeployError(400, "manifest must be the text of a wasm-server.toml")
        return manifest, files

    async def _deploy_here(self, name: str, manifest: str, files: dict[str, bytes]) -> dict[str, Any]:
        deployed = await self.deployments.deploy(name, manifest, files)
        return deployed.describe()
