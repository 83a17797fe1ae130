"""The admin API: HTTP/JSON on its own listener (loopback by default).

Every call but ``GET /healthz`` and ``GET /openapi.json`` needs
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
from ..protocol.http1 import Request, encode_response
from .logs import RecentLogs

log = logging.getLogger("wasm_server")

OPENAPI = Path(__file__).with_name("openapi.json")
_APP_PATH = re.compile(r"^/v1/apps/([^/]+)(/logs)?$")
JSON = (b"content-type", b"application/json")

#: ``(name, manifest, files) -> version``: publish a deployment (to the cluster, or locally)
Publisher = Callable[[str, str, dict[str, bytes]], Awaitable[dict[str, Any]]]
#: ``name -> existed``: publish an undeploy
Remover = Callable[[str], Awaitable[bool]]


def _json(status: int, body: object, keep_alive: bool) -> bytes:
    return encode_response(status, [JSON], (json.dumps(body, indent=1) + "\n").encode(), keep_alive=keep_alive)


class AdminApi:
    """The admin responder (pass :meth:`respond` to an HttpServer)."""

    def __init__(self, deployments: Deployments, token: str, logs: RecentLogs, *,
                 publish: Publisher | None = None, remove: Remover | None = None,
                 ready: Callable[[], bool] = lambda: True, node: str = "") -> None:
        self.deployments = deployments
        self.token = token.encode()
        self.logs = logs
        self.publish = publish or self._deploy_here
        self.remove = remove or self.deployments.undeploy
        self.ready = ready
        self.node = node

    async def respond(self, req: Request, client: str, stream: Any = None) -> bytes:
        """Serve one admin request; never raises."""
        if asyncio.current_task() is None:
            # the HTTP edge starts handlers eagerly, outside a Task; redis-py's timeouts need one
            return await asyncio.ensure_future(self._respond(req, client))
        return await self._respond(req, client)

    async def _respond(self, req: Request, client: str) -> bytes:
        keep = req.keep_alive
        path, _, query = req.target.decode("latin-1").partition("?")
        if path == "/healthz" and req.method in (b"GET", b"HEAD"):
            ok = self.ready()
            body = {"status": "ok" if ok else "starting", "node": self.node, "apps": len(self.deployments.apps)}
            return _json(200 if ok else 503, body, keep)
        if path == "/openapi.json" and req.method == b"GET":
            return encode_response(200, [JSON], OPENAPI.read_bytes(), keep_alive=keep)
        refused = self._auth(req)
        if refused is not None:
            log.warning("admin API: %s from %s (%s %s)", refused, client, req.method.decode("latin-1"), path)
            return encode_response(401, [JSON, (b"www-authenticate", b'Bearer realm="wasm-server admin"')],
                                   (json.dumps({"error": refused}) + "\n").encode(), keep_alive=keep)
        try:
            return await self._route(req, path, query, keep)
        except DeployError as exc:
            return _json(exc.status, {"error": str(exc)}, keep)
        except Exception:  # the admin API must answer, whatever happened
            log.exception("admin API: internal error on %s", path)
            return _json(500, {"error": "internal error (see the server log)"}, keep)

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

    async def _route(self, req: Request, path: str, query: str, keep: bool) -> bytes:
        method = req.method
        if path == "/metrics" and method == b"GET":
            from ..capabilities.kv import OPS

            text = render(((d.name, d.app.stats, d.app.live_instances()) for d in self.deployments.apps.values()),
                          OPS)
            return encode_response(200, [(b"content-type", b"text/plain; version=0.0.4")], text.encode(),
                                   keep_alive=keep)
        if path == "/v1/apps" and method == b"GET":
            return _json(200, {"apps": [d.describe() for d in self.deployments.apps.values()]}, keep)
        m = _APP_PATH.match(path)
        if m is None:
            return _json(404, {"error": f"no admin route {path}"}, keep)
        name, logs = m.group(1), m.group(2)
        if logs:
            if method != b"GET":
                return _json(405, {"error": "use GET"}, keep)
            try:
                limit = int((parse_qs(query).get("limit") or ["100"])[0])
            except ValueError:
                return _json(400, {"error": "limit must be a number"}, keep)
            deployed = self.deployments.apps.get(name)
            if deployed is None:
                return _json(404, {"error": f"app '{name}' is not deployed"}, keep)
            comps = [c.name for c in deployed.app.spec.components]
            return _json(200, {"app": name, "lines": self.logs.recent(comps, limit)}, keep)
        if method == b"GET":
            deployed = self.deployments.apps.get(name)
            if deployed is None:
                return _json(404, {"error": f"app '{name}' is not deployed"}, keep)
            return _json(200, deployed.describe(), keep)
        if method == b"PUT":
            manifest, files = self._upload(req.body)
            result = await self.publish(name, manifest, files)
            return _json(201, result, keep)
        if method == b"DELETE":
            existed = await self.remove(name)
            if not existed:
                return _json(404, {"error": f"app '{name}' is not deployed"}, keep)
            return _json(200, {"undeployed": name}, keep)
        return _json(405, {"error": "use GET, PUT or DELETE"}, keep)

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
