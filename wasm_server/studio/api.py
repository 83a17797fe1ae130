"""The studio's HTTP API and its single-page app, as an :class:`~wasm_server.net.http.HttpService`.

Routes are in docs/studio.md (and the contract's table): query parameters, no ids in
paths, JSON answers, errors as ``{"error": "..."}``.

The guards on every ``/api`` request, and why:

* ``Host`` must name this studio (its listen address, ``localhost``, ``127.0.0.1`` or
  ``[::1]``, with its port). A web page on another site could otherwise make its own
  host name resolve to 127.0.0.1 (DNS rebinding) and talk to the studio as same-origin.
  A studio listening on a wildcard address (0.0.0.0, ::) cannot know the names it is
  reached by; it requires the token instead (see below), which a rebinding page lacks.
* ``POST``/``PUT``/``DELETE`` must carry ``x-wasm-server-studio: 1``: a custom header
  makes a cross-site request need a CORS preflight, which the studio never grants, so
  no other site can write files or start builds with a form or a simple fetch.
* An ``Origin`` header, when present, must be this studio's own origin.
* Off loopback, ``Authorization: Bearer <admin token>`` on every call.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import mimetypes
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote

from .. import __version__
from ..errors import ConfigError
from ..manifest import ComponentSpec, load_manifest
from ..net.upgrades import NoUpgrades
from ..protocol.http1 import Request
from ..protocol.response import Headers, Response, ResponseSink
from .builds import Builder
from .workspace import Service, StudioError, Workspace

if TYPE_CHECKING:
    from .deploy import Deployer

log = logging.getLogger("wasm_server")

STATIC = Path(__file__).resolve().parent / "static"
JSON = (b"content-type", b"application/json")
NO_CACHE = (b"cache-control", b"no-cache")
_MUTATING = frozenset((b"POST", b"PUT", b"DELETE"))
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
_WILDCARDS = frozenset(("0.0.0.0", "::", ""))
_CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
                  ".css": "text/css; charset=utf-8", ".html": "text/html; charset=utf-8",
                  ".map": "application/json", ".json": "application/json", ".wasm": "application/wasm",
                  ".svg": "image/svg+xml", ".png": "image/png", ".woff2": "font/woff2", ".txt": "text/plain"}

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wasm-server studio</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>wasm-server studio</h1>
<p>The studio's web app is not built in this installation.
Build it with <code>scripts/setup</code> (from the wasm-server repository; it needs Node.js and npm),
then reload this page.</p>
<p>The API answers already: <a href="/api/info">/api/info</a>.</p>
</body></html>
"""

Query = dict[str, str]
Handler = Callable[["StudioApi", Request, Query, ResponseSink], Awaitable[Response]]


def json_response(status: int, body: object, *extra: tuple[bytes, bytes]) -> Response:
    """A JSON answer."""
    return Response(status, (JSON, NO_CACHE, *extra), (json.dumps(body) + "\n").encode())


def error_response(status: int, message: str) -> Response:
    """``{"error": message}`` with ``status``."""
    return json_response(status, {"error": message})


def _header(req: Request, name: bytes) -> str | None:
    value = next((v for k, v in req.headers if k == name), None)
    return value.decode("latin-1") if value is not None else None


def _body_json(req: Request) -> dict[str, object]:
    if not req.body.strip():
        return {}
    try:
        doc = json.loads(req.body)
    except ValueError as exc:
        raise StudioError(400, f"the body must be a JSON object: {exc}") from None
    if not isinstance(doc, dict):
        raise StudioError(400, "the body must be a JSON object")
    return doc


def _text_field(doc: dict[str, object], key: str, required: bool = True) -> str | None:
    value = doc.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise StudioError(400, f"'{key}' must be a non-empty string")
    return value


class Guard:
    """The checks every ``/api`` request passes (see the module docstring)."""

    def __init__(self, host: str, port: int, token: str | None) -> None:
        self.port = port
        self.token = token.encode() if token else None
        listen = f"[{host}]" if ":" in host else host
        self.any_host = host in _WILDCARDS
        self.hosts = frozenset(f"{h}:{port}" for h in (*_LOOPBACK_NAMES, listen))

    def check(self, req: Request) -> Response | None:
        """None if ``req`` may go on, else the refusal."""
        host = (_header(req, b"host") or "").lower()
        if not self.any_host and host not in self.hosts:
            return error_response(403, f"Host {host!r} is not this studio's address (expected one of "
                                       f"{', '.join(sorted(self.hosts))}): refused against DNS rebinding")
        if self.token is not None:
            refused = self._auth(req)
            if refused is not None:
                return json_response(401, {"error": refused},
                                     (b"www-authenticate", b'Bearer realm="wasm-server studio"'))
        if req.method in _MUTATING and _header(req, b"x-wasm-server-studio") != "1":
            return error_response(403, "a POST, PUT or DELETE needs the header x-wasm-server-studio: 1 "
                                       "(it keeps other web sites from calling the studio)")
        origin = _header(req, b"origin")
        if origin is not None and origin.lower() != f"http://{host}":
            return error_response(403, f"Origin {origin!r} is not this studio (http://{host}): "
                                       "cross-site requests are refused")
        return None

    def _auth(self, req: Request) -> str | None:
        assert self.token is not None
        header = next((v for k, v in req.headers if k == b"authorization"), None)
        if header is None and req.method == b"GET" and req.target.startswith(b"/api/build/events?"):
            # a browser's EventSource cannot send headers: the build log's stream (a read-only
            # GET) may name the token in its query instead
            in_query = parse_qs(req.target.partition(b"?")[2].decode("latin-1")).get("token")
            if in_query:
                return None if hmac.compare_digest(in_query[0].encode(), self.token) else "wrong token"
        if header is None:
            return "missing Authorization: Bearer <token> header (this studio listens off loopback)"
        scheme, _, given = header.partition(b" ")
        if scheme.lower() != b"bearer" or not given:
            return "the Authorization header must be 'Bearer <token>'"
        if not hmac.compare_digest(given.strip(), self.token):
            return "wrong token"
        return None


class StudioApi(NoUpgrades):
    """The studio service: ``/api/*`` (guarded), ``/`` and ``/assets/*`` (the SPA)."""

    def __init__(self, workspace: Workspace, builder: Builder, deployer: Deployer, guard: Guard, *,
                 static: Path = STATIC) -> None:
        self.workspace = workspace
        self.builder = builder
        self.deployer = deployer
        self.guard = guard
        self.static = static

    async def respond(self, req: Request, client: str, sink: ResponseSink) -> Response:
        """Serve one request; never raises."""
        if asyncio.current_task() is None:
            # the HTTP edge starts handlers eagerly, outside a Task; timeouts and subprocesses need one
            return await asyncio.ensure_future(self._respond(req, sink))
        return await self._respond(req, sink)

    async def _respond(self, req: Request, sink: ResponseSink) -> Response:
        path, _, query = req.target.decode("latin-1").partition("?")
        method = b"GET" if req.method == b"HEAD" else req.method
        if not path.startswith("/api/"):
            return self._static(method, unquote(path))
        refused = self.guard.check(req)
        if refused is not None:
            log.info("studio: refused %s %s: %s", req.method.decode("latin-1"), path, refused.body.decode().strip())
            return refused
        handler = ROUTES.get((method.decode("latin-1"), path))
        if handler is None:
            known = sorted({p for _, p in ROUTES})
            if any(p == path for p in known):
                return error_response(405, f"{path} does not take {req.method.decode('latin-1')}")
            return error_response(404, f"no studio API {path} (see GET /api/info and docs/studio.md)")
        q = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        try:
            return await handler(self, req, q, sink)
        except StudioError as exc:
            return error_response(exc.status, str(exc))
        except Exception:  # the studio must answer, whatever happened
            log.exception("studio: internal error on %s", path)
            return error_response(500, "internal error (see the studio's log)")

    # -- the single-page app -----------------------------------------------------------

    def _static(self, method: bytes, path: str) -> Response:
        if method != b"GET":
            return error_response(405, "use GET")
        index = self.static / "index.html"
        if path in ("/", "/index.html"):
            if not index.is_file():
                return Response(200, ((b"content-type", b"text/html; charset=utf-8"), NO_CACHE), NOT_BUILT.encode())
            return Response(200, ((b"content-type", b"text/html; charset=utf-8"), NO_CACHE), index.read_bytes())
        name = path.removeprefix("/assets/")
        if name == path or not name or "/" in name or name.startswith(".") or "\\" in name:
            return error_response(404, f"no file {path}")
        file = self.static / "assets" / name
        if not file.is_file():
            return error_response(404, f"no file {path}")
        suffix = file.suffix.lower()
        ctype = _CONTENT_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
        return Response(200, ((b"content-type", ctype.encode()),), file.read_bytes())

    # -- /api ---------------------------------------------------------------------------

    def _service(self, q: Query) -> Service:
        return self.workspace.service(q.get("service"))

    async def info(self, req: Request, q: Query, sink: ResponseSink) -> Response:
        from ..cli.new import languages

        d = self.deployer
        return json_response(200, {
            "version": __version__, "workspace": str(self.workspace.root), "languages": languages(),
            "admin": {"url": d.admin_url, "token": bool(d.token)}, "server_url": d.server_url,
            "auth": self.guard.token is not None,
        })

    async def services(self, req: Request, q: Query, sink: ResponseSink) -> Response:
        if req.method == b"POST":
            doc = _body_json(req)
            lang, name = _text_field(doc, "language"), _text_field(doc, "name")
            assert lang is not None and name is not None
            service = await asyncio.to_thread(self.workspace.create, lang, name)
            return json_response(201, {"service": service.describe()})
        return json_response(200, {"services": [s.describe() for s in self.workspace.services()]})

    async def service(self, req: Request, q: Query, sink: ResponseSink) -> Response:
        service = self._service(q)
        doc: dict[str, object] = {**service.describe()}
        try:
            spec = load_manifest(service.manifest)
        except ConfigError as exc:
            doc.update(manifest_error=str(exc), components=[])
        else:
            doc.update(manifest_error=None, components=[_component(c, service.path) for c in spec.components])
        return json_response(200, doc)

    async def files(self, req: Request, q: Query, sink: ResponseSink) -> Response:
        return json_response(200, {"files": self.workspace.files(self._service(q))})

    async def file(self, req: Request, q: Query, sink: ResponseSink) -> Response:
        service = self._service(q)
        if req.method == b"PUT":
            self.workspace.write(service, q.get("path"), req.body)
            return Response(204)
        if req.method == b"DELETE":
            self.workspace.delete(service, q.get("path"))
            return Response(204)
        text = self.workspace.read(service, q.get("path"))
        return Response(200, ((b"content-type", b"text/plain; charset=utf-8"), NO_CACHE), text.encode())

    async def build(self, req: Request, q: Query, sink: ResponseSink) -> Response:
        build, position = self.builder.submit(self._service(q))
        return json_response(202, {"build": build.id, "position": position})

    async def build_events(self, req: Request, q: Query, sink: ResponseSink) -> Response:
        build = self.builder.get(q.get("build"))
        headers: Headers = ((b"content-type", b"text/event-stream; charset=utf-8"), NO_CACHE,
                            (b"x-accel-buffering", b"no"))
        if not sink.start(200, headers):
            return Response(200, streamed=True)
        async for event in build.subscribe():
            if event is None:
                data = b": keep-alive\n\n"  # a comment: proxies and browsers see the stream is alive
            else:
                data = f"event: {event.kind}\ndata: {json.dumps(event.data)}\n\n".encode()
            if not await sink.write(data):
                break  # the browser went away; the build goes on
        return Response(200, streamed=True)

    async def module(self, req: Request, q: Query, sink: ResponseSink) -> Response:
        service = self._service(q)
        name = q.get("component")
        try:
            spec = load_manifest(service.manifest)
        except ConfigError as exc:
            raise StudioError(409, f"the manifest does not load: {exc}") from None
        comp = next((c for c in spec.components if c.name == name), None)
        if comp is None:
            raise StudioError(404, f"no component {name!r} in service {service.id!r}")
        if not comp.source.resolve().is_relative_to(service.path.resolve()):
            raise StudioError(403, f"component {name!r}: its module is outside the service")
        if not comp.source.is_file():
            raise StudioError(404, f"component {name!r} is not built yet (POST /api/build)")
        return Response(200, ((b"content-type", b"application/wasm"), NO_CACHE), comp.source.read_bytes())

    async def export(self, req: Request, q: Query, sink: ResponseSink) -> Response:
        from .archive import export

        service = self._service(q)
        data = await asyncio.to_thread(export, self.workspace, service)
        filename = (service.name if service.id == "." else service.id).replace('"', "")
        return Response(200, ((b"content-type", b"application/zip"),
                              (b"content-disposition", f'attachment; filename="{filename}.zip"'.encode()),
                              NO_CACHE), data)

    async def import_(self, req: Request, q: Query, sink: ResponseSink) -> Response:
        from .archive import import_zip

        name = q.get("name")
        if not name:
            raise StudioError(400, "missing ?name=NAME (the new service's directory)")
        service = await asyncio.to_thread(import_zip, self.workspace, name, req.body)
        return json_response(201, {"service": service.describe()})

    async def deploy(self, req: Request, q: Query, sink: ResponseSink) -> Response:
        service = self._service(q)
        app = _text_field(_body_json(req), "app", required=False)
        return json_response(200, await self.deployer.deploy(service, app))

    async def logs(self, req: Request, q: Query, sink: ResponseSink) -> Response:
        app = q.get("app")
        if not app:
            raise StudioError(400, "missing ?app=NAME")
        try:
            limit = int(q.get("limit") or "100")
        except ValueError:
            raise StudioError(400, "limit must be a number") from None
        return json_response(200, {"lines": await self.deployer.logs(app, limit)})


def _component(comp: ComponentSpec, service: Path) -> dict[str, object]:
    """A component as ``GET /api/service`` shows it."""
    kind = ("tcp" if comp.tcp else "udp" if comp.udp
            else "websocket" if any(r.websocket for r in comp.routes) else "http")
    try:
        source = comp.source.resolve().relative_to(service.resolve()).as_posix()
    except ValueError:
        source = str(comp.source)
    return {
        "name": comp.name, "abi": comp.abi, "kind": kind, "source": source, "built": comp.source.is_file(),
        "routes": [r.pattern for r in comp.routes],
        "websocket_routes": [r.pattern for r in comp.routes if r.websocket], "stores": list(comp.key_value_stores),
        "variables": dict(comp.variables),
        "allowed_outbound_hosts": [f"{r.scheme}://{r.host}:{r.port}" for r in comp.allowed_outbound_hosts],
        "timeout_ms": round(comp.limits.timeout * 1000),
    }


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/api/info"): StudioApi.info,
    ("GET", "/api/services"): StudioApi.services,
    ("POST", "/api/services"): StudioApi.services,
    ("GET", "/api/service"): StudioApi.service,
    ("GET", "/api/files"): StudioApi.files,
    ("GET", "/api/file"): StudioApi.file,
    ("PUT", "/api/file"): StudioApi.file,
    ("DELETE", "/api/file"): StudioApi.file,
    ("POST", "/api/build"): StudioApi.build,
    ("GET", "/api/build/events"): StudioApi.build_events,
    ("GET", "/api/module"): StudioApi.module,
    ("GET", "/api/export"): StudioApi.export,
    ("POST", "/api/import"): StudioApi.import_,
    ("POST", "/api/deploy"): StudioApi.deploy,
    ("GET", "/api/logs"): StudioApi.logs,
}
