"""Deploying a studio service to a running server through its admin API.

The service is uploaded as ``wasm-server deploy`` uploads it (cli/client.py's
``upload``: the manifest text and its components' modules), under the app name the
browser chose, with ``[app] base = "/<app>"`` added to the manifest so that many
services share one server without their routes colliding. The live URLs are the
server's URL plus each deployed route's literal prefix.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import httpx

from ..build import needs_build
from ..errors import ConfigError
from ..manifest import load_manifest
from .workspace import Service, StudioError

DEFAULT_SERVER_URL = "http://127.0.0.1:8080"
#: the admin API's own rule for app names (deployments.py NAME_RE)
APP_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_TABLE = re.compile(r"^\s*\[")
_APP_HEADER = re.compile(r"^\s*\[\s*app\s*\]\s*(#.*)?$")
_BASE_KEY = re.compile(r"^\s*base\s*=")


def with_base(manifest: str, base: str) -> str:
    """``manifest`` with ``[app] base = "<base>"``: replacing a ``base`` the ``[app]`` table
    has, else added right after its header, else a new ``[app]`` table at the top."""
    line = f"base = {_toml_string(base)}"
    lines = manifest.splitlines()
    for i, text in enumerate(lines):
        if not _APP_HEADER.match(text):
            continue
        j = i + 1
        while j < len(lines) and not _TABLE.match(lines[j]):
            if _BASE_KEY.match(lines[j]):
                lines[j] = line
                return "\n".join(lines) + "\n"
            j += 1
        lines.insert(i + 1, line)
        return "\n".join(lines) + "\n"
    return f"[app]\n{line}\n\n{manifest}"


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def live_urls(server_url: str, routes: list[str]) -> list[str]:
    """Where each route is served: the server's URL and the route's literal prefix
    (``/app/...`` → ``/app/``, ``/app/items/{id}`` → ``/app/items/``)."""
    urls = []
    for pattern in routes:
        literal = []
        parts = pattern.strip("/").split("/") if pattern != "/" else []
        for part in parts:
            if part == "..." or part.startswith("{"):
                break
            literal.append(part)
        prefix = "/" + "/".join(literal)
        if len(literal) < len(parts) and prefix != "/":
            prefix += "/"
        url = server_url.rstrip("/") + prefix
        if url not in urls:
            urls.append(url)
    return urls


class Deployer:
    """The admin API client of the studio."""

    def __init__(self, admin_url: str, token: str | None, server_url: str = DEFAULT_SERVER_URL) -> None:
        self.admin_url = admin_url.rstrip("/")
        self.token = token
        self.server_url = server_url.rstrip("/")

    async def _call(self, method: str, path: str, body: object = None) -> dict[str, object]:
        if not self.token:
            raise StudioError(502, "no admin token: start the studio with --token or $WASM_SERVER_ADMIN_TOKEN "
                                   "(the token of the server you deploy to)")
        try:
            async with httpx.AsyncClient(timeout=120) as client:
                r = await client.request(method, self.admin_url + path, json=body,
                                         headers={"authorization": f"Bearer {self.token}"})
        except httpx.HTTPError as exc:
            why = str(exc) or type(exc).__name__
            raise StudioError(502, f"cannot reach the admin API at {self.admin_url}: {why}") from None
        try:
            doc = r.json()
        except ValueError:
            doc = {"error": r.text.strip()}
        if r.status_code >= 400 or not isinstance(doc, dict):
            message = doc.get("error", doc) if isinstance(doc, dict) else doc
            raise StudioError(502, f"the admin API at {self.admin_url} answered {r.status_code}: {message}")
        return doc

    async def deploy(self, service: Service, app: str | None) -> dict[str, object]:
        """Deploy ``service`` as ``app`` (default: its name): ``{app, version, base, urls, routes}``."""
        from ..cli.client import upload

        name = app or service.name
        if not APP_NAME.match(name):
            raise StudioError(400, f"app name {name!r}: use 1-63 lower-case letters, digits and '-'")
        base = f"/{name}"
        try:
            spec = load_manifest(service.manifest)
            stale = [c.name for c in spec.components if needs_build(c) or not c.source.is_file()]
            if stale:
                raise StudioError(409, f"build first: {', '.join(stale)} "
                                       f"{'is' if len(stale) == 1 else 'are'} not built or older than the sources")
            _, text, files = upload(service.path)
            text = with_base(text, base)
            _validate(service.path, text)
        except ConfigError as exc:
            raise StudioError(400, f"cannot deploy: {exc}") from None
        doc = await self._call("PUT", f"/v1/apps/{name}", {"manifest": text, "files": files})
        components = doc.get("components")
        routes = [str(r) for c in components if isinstance(c, dict) for r in c.get("routes", [])] \
            if isinstance(components, list) else []
        return {"app": name, "version": doc.get("version"), "base": base,
                "urls": live_urls(self.server_url, routes), "routes": routes}

    async def logs(self, app: str, limit: int) -> list[object]:
        """The deployed app's recent log lines ``[{time, level, component, message}]``."""
        if not APP_NAME.match(app):
            raise StudioError(400, f"app name {app!r}: use 1-63 lower-case letters, digits and '-'")
        doc = await self._call("GET", f"/v1/apps/{app}/logs?limit={max(1, min(limit, 1000))}")
        lines = doc.get("lines")
        return lines if isinstance(lines, list) else []


def _validate(service: Path, text: str) -> None:
    """Load the manifest as it will be deployed (beside the original: its relative paths hold)."""
    with tempfile.NamedTemporaryFile("w", dir=service, prefix=".studio-deploy-", suffix=".toml") as f:
        f.write(text)
        f.flush()
        load_manifest(Path(f.name))

