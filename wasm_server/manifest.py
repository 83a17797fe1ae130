"""The app manifest, ``wasm-server.toml``: components, routes, capabilities, limits.

Every field is documented in docs/manifest.md. Errors name the file, the
field and the reason (:class:`~wasm_server.errors.ConfigError`, exit code 2).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .capabilities.outbound_policy import AllowRule, parse_rule
from .engine.limits import (
    DEFAULT_CONCURRENCY,
    DEFAULT_IDLE_INSTANCES,
    DEFAULT_MEMORY,
    DEFAULT_QUEUE,
    DEFAULT_TIMEOUT,
    Limits,
)
from .errors import ConfigError
from .units import parse_duration, parse_size

MANIFEST_NAME = "wasm-server.toml"
ABIS = ("native", "wagi", "wasi-http")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """A route as written in the manifest (mount prefix already applied)."""

    pattern: str
    host: str | None
    methods: frozenset[str] | None
    origin: str
    websocket: bool = False


@dataclass(frozen=True, slots=True)
class ListenSpec:
    """A raw TCP or UDP listener a component asks for (before port mapping)."""

    protocol: str  # "tcp" | "udp"
    host: str
    port: int
    origin: str


DEFAULT_MAX_CONNECTIONS = 1000
DEFAULT_IDLE_TIMEOUT = 300.0
#: pre-initialised instances (``preinit``), until measured as the better default
DEFAULT_PREINIT = False
#: ``limits.websocket_message``: the default and the most a manifest may allow
DEFAULT_WEBSOCKET_MESSAGE = 1024 * 1024
MAX_WEBSOCKET_MESSAGE = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class BuildSpec:
    """How to (re)build a component's module."""

    command: str
    workdir: Path
    watch: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ComponentSpec:
    """One component of an app."""

    name: str
    source: Path
    abi: str
    routes: tuple[RouteEntry, ...]
    key_value_stores: tuple[str, ...]
    allowed_outbound_hosts: tuple[AllowRule, ...]
    variables: dict[str, str]
    limits: Limits
    instance_reuse: int
    build: BuildSpec | None
    manifest: Path
    tcp: tuple[ListenSpec, ...] = ()
    udp: tuple[ListenSpec, ...] = ()
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    #: the largest WebSocket message accepted, in bytes after inflating
    websocket_message: int = DEFAULT_WEBSOCKET_MESSAGE
    #: outbound host names may resolve to loopback/private addresses
    allow_private_networks: bool = False
    #: read-only directories the guest sees: (host directory, guest path)
    files: tuple[tuple[Path, str], ...] = ()
    #: instances start from a snapshot taken after the module's ``_initialize`` (engine/snapshot.py)
    preinit: bool = DEFAULT_PREINIT


@dataclass(frozen=True, slots=True)
class AppSpec:
    """A loaded manifest with its includes resolved."""

    path: Path
    name: str
    components: tuple[ComponentSpec, ...] = field(default_factory=tuple)
    index: str | None = None  # optional text served at "/" when no route matches it


def resolve_manifest_path(path: Path) -> Path:
    """A manifest file, or ``wasm-server.toml`` inside a directory."""
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.exists():
        raise ConfigError(f"no manifest found at {path} (expected a {MANIFEST_NAME} file)")
    return path


class _Fields:
    """Typed access to one TOML table, naming file and field in every error."""

    def __init__(self, table: dict[str, Any], file: str, where: str, known: set[str]) -> None:
        self.table = table
        self.file = file
        self.where = where
        unknown = sorted(set(table) - known)
        if unknown:
            raise ConfigError(
                f"unknown field '{unknown[0]}' (known fields: {', '.join(sorted(known))})",
                file=file,
                field=f"{where}.{unknown[0]}" if where else unknown[0],
            )

    def name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, file=self.file, field=self.name(key))

    def text(self, key: str, default: str | None = None) -> str:
        value = self.table.get(key, default)
        if value is None:
            raise self.error(key, "is required")
        if not isinstance(value, str) or not value:
            raise self.error(key, f"expected a non-empty string, got {value!r}")
        return value

    def str_list(self, key: str) -> list[str]:
        value = self.table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"expected a list of strings, got {value!r}")
        return value

    def integer(self, key: str, default: int, minimum: int = 0) -> int:
        value = self.table.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            kind = "a non-negative integer" if minimum == 0 else f"an integer >= {minimum}"
            raise self.error(key, f"expected {kind}, got {value!r}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def table_(self, key: str) -> dict[str, Any]:
        value = self.table.get(key, {})
        if not isinstance(value, dict):
            raise self.error(key, f"expected a table, got {value!r}")
        return value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", file=str(path)) from None


def _join_mount(mount: str, pattern: str) -> str:
    if not mount:
        return pattern
    if pattern == "/...":
        return mount + "/..."
    return mount + pattern if pattern != "/" else mount


def _route(raw: Any, f: _Fields, idx: int, mount: str) -> RouteEntry:
    key = f"routes[{idx}]"
    origin = f"{f.file}: {f.name(key)}"
    if isinstance(raw, str):
        return RouteEntry(_join_mount(mount, raw), None, None, origin)
    if not isinstance(raw, dict):
        raise f.error(key, f"expected a path string or a table {{ path = ... }}, got {raw!r}")
    r = _Fields(raw, f.file, f.name(key), {"path", "host", "methods", "websocket"})
    websocket = raw.get("websocket", False)
    if not isinstance(websocket, bool):
        raise r.error("websocket", f"expected true or false, got {websocket!r}")
    methods = r.str_list("methods")
    host = raw.get("host")
    if host is not None and (not isinstance(host, str) or not host):
        raise r.error("host", f"expected a host name, got {host!r}")
    return RouteEntry(
        _join_mount(mount, r.text("path")),
        host.lower() if host else None,
        frozenset(m.upper() for m in methods) if methods else None,
        origin,
        websocket,
    )


_COMPONENT_FIELDS = {
    "name", "source", "abi", "routes", "key_value_stores", "allowed_outbound_hosts", "allow_private_networks",
    "variables", "limits", "instance_reuse", "preinit", "build", "description", "tcp", "udp", "connections", "files",
}


def _listeners(raw: Any, f: _Fields, protocol: str) -> tuple[ListenSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise f.error(protocol, f"use [[component.{protocol}]] tables with a 'listen' address")
    out = []
    for i, entry in enumerate(raw):
        key = f"{protocol}[{i}]"
        t = _Fields(entry if isinstance(entry, dict) else {}, f.file, f.name(key), {"listen"})
        text = t.text("listen")
        from .config import parse_listen  # here to keep manifest → config one-way at import time

        try:
            addr = parse_listen(text)
        except ConfigError as exc:
            raise t.error("listen", str(exc)) from None
        out.append(ListenSpec(protocol, addr.host, addr.port, f"{f.file}: {f.name(key)}"))
    return tuple(out)


def _component(raw: Any, path: Path, idx: int, mount: str) -> ComponentSpec:
    file = str(path)
    if not isinstance(raw, dict):
        raise ConfigError("expected a table", file=file, field=f"component[{idx}]")
    f = _Fields(raw, file, f"component[{idx}]", _COMPONENT_FIELDS)
    name = f.text("name")
    if not _NAME_RE.match(name):
        raise f.error("name", f"'{name}' must be lower-case letters, digits, '-' or '_'")
    f.where = f"component '{name}'"
    abi = f.text("abi", "native")
    if abi not in ABIS:
        raise f.error("abi", f"unknown abi '{abi}' (choose one of: {', '.join(ABIS)})")
    routes_raw = raw.get("routes", [])
    if not isinstance(routes_raw, list):
        raise f.error("routes", "expected a list of routes")
    variables = f.table_("variables")
    for k, v in variables.items():
        if not isinstance(v, str):
            raise f.error(f"variables.{k}", f"expected a string value, got {v!r}")
    limits = _Fields(f.table_("limits"), file, f.name("limits"),
                     {"memory", "timeout", "concurrency", "queue", "idle_instances", "websocket_message"})
    memory = parse_size(limits.table.get("memory", DEFAULT_MEMORY), file=file, field=limits.name("memory"))
    timeout = parse_duration(limits.table.get("timeout", DEFAULT_TIMEOUT), file=file, field=limits.name("timeout"))
    ws_message = parse_size(limits.table.get("websocket_message", DEFAULT_WEBSOCKET_MESSAGE), file=file,
                            field=limits.name("websocket_message"))
    if ws_message > MAX_WEBSOCKET_MESSAGE:
        raise limits.error("websocket_message", f"{ws_message} bytes is over the 64MiB maximum "
                           "(a message is held whole in memory before the guest sees it)")
    rules = tuple(
        parse_rule(e, file=file, field=f.name(f"allowed_outbound_hosts[{i}]"))
        for i, e in enumerate(f.str_list("allowed_outbound_hosts"))
    )
    conns = _Fields(f.table_("connections"), file, f.name("connections"), {"max", "idle_timeout"})
    idle = parse_duration(conns.table.get("idle_timeout", DEFAULT_IDLE_TIMEOUT), file=file,
                          field=conns.name("idle_timeout"))
    routes = tuple(_route(r, f, i, mount) for i, r in enumerate(routes_raw))
    tcp, udp = _listeners(raw.get("tcp"), f, "tcp"), _listeners(raw.get("udp"), f, "udp")
    if abi in ("wagi", "wasi-http"):
        # a WAGI program or a wasi:http handler answers one HTTP request: it cannot hold a connection
        kind = "WAGI" if abi == "wagi" else "a wasi:http component"
        for r in routes:
            if r.websocket:
                raise f.error("routes", f"route '{r.pattern}' has websocket = true, but WebSocket routes need "
                                        f"abi = \"native\" ({kind} serves plain HTTP only)")
        if tcp or udp:
            raise f.error("abi", f"TCP/UDP listeners need abi = \"native\" ({kind} serves HTTP only)")
    return ComponentSpec(
        name=name,
        source=(path.parent / f.text("source")).resolve(),
        abi=abi,
        routes=routes,
        key_value_stores=tuple(f.str_list("key_value_stores")),
        allowed_outbound_hosts=rules,
        allow_private_networks=f.boolean("allow_private_networks", False),
        files=_files(f, path),
        variables=dict(variables),
        limits=Limits(memory=memory, timeout=timeout,
                      concurrency=limits.integer("concurrency", DEFAULT_CONCURRENCY, minimum=1),
                      queue=limits.integer("queue", DEFAULT_QUEUE),
                      idle_instances=limits.integer("idle_instances", DEFAULT_IDLE_INSTANCES)),
        instance_reuse=f.integer("instance_reuse", 0),
        preinit=f.boolean("preinit", DEFAULT_PREINIT),
        build=_build(raw.get("build"), f, path),
        manifest=path,
        tcp=tcp,
        udp=udp,
        max_connections=conns.integer("max", DEFAULT_MAX_CONNECTIONS),
        idle_timeout=idle,
        websocket_message=ws_message,
    )


def _build(raw: Any, f: _Fields, path: Path) -> BuildSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise f.error("build", "expected a table with a 'command'")
    b = _Fields(raw, f.file, f.name("build"), {"command", "workdir", "watch"})
    return BuildSpec(
        command=b.text("command"),
        workdir=(path.parent / b.text("workdir", ".")).resolve(),
        watch=tuple(b.str_list("watch")),
    )


def _files(f: _Fields, manifest: Path) -> tuple[tuple[Path, str], ...]:
    """``files = [{ source = "static", path = "/static" }]``: read-only directory grants."""
    raw = f.table.get("files", [])
    if not isinstance(raw, list):
        raise f.error("files", 'expected a list like [{ source = "static", path = "/static" }]')
    grants = []
    for i, entry in enumerate(raw):
        g = _Fields(entry if isinstance(entry, dict) else {}, f.file, f.name(f"files[{i}]"), {"source", "path"})
        source = (manifest.parent / g.text("source")).resolve()
        guest = g.text("path")
        if not guest.startswith("/"):
            raise g.error("path", f"expected an absolute guest path like \"/static\", got {guest!r}")
        if not source.is_dir():
            raise g.error("source", f"{source} is not a directory")
        grants.append((source, guest))
    return tuple(grants)


def _is_mount(value: object) -> bool:
    """A route prefix (an include's ``mount``, ``[app] base``): empty, or ``/x[/y...]`` without a trailing '/'."""
    return isinstance(value, str) and (not value or (value.startswith("/") and not value.endswith("/")))


def load_manifest(path: Path, *, mount: str = "", _seen: frozenset[Path] = frozenset()) -> AppSpec:
    """Load and validate a manifest file (or directory), resolving ``[[include]]``."""
    path = resolve_manifest_path(path).resolve()
    if path in _seen:
        raise ConfigError("includes itself (directly or through another include)", file=str(path))
    file = str(path)
    data = _read_toml(path)
    top = _Fields(data, file, "", {"component", "include", "app"})
    app = _Fields(top.table_("app"), file, "app", {"name", "index", "base"})
    # ``base`` mounts every route of this manifest (its includes' too) under a prefix, as an
    # include's ``mount`` does: many apps then share one server (the studio's deploy sets it)
    base = app.table.get("base", "")
    if not _is_mount(base):
        raise app.error("base", f"expected a path like \"/my-app\" (a leading '/', no trailing '/'), got {base!r}")
    mount += base
    components: list[ComponentSpec] = []
    raw_components = data.get("component", [])
    if not isinstance(raw_components, list):
        raise ConfigError("use [[component]] (an array of tables)", file=file, field="component")
    for i, raw in enumerate(raw_components):
        components.append(_component(raw, path, i, mount))
    raw_includes = data.get("include", [])
    if not isinstance(raw_includes, list):
        raise ConfigError("use [[include]] (an array of tables)", file=file, field="include")
    for i, raw in enumerate(raw_includes):
        inc = _Fields(raw if isinstance(raw, dict) else {}, file, f"include[{i}]", {"path", "mount", "routes"})
        sub_mount = inc.table.get("mount", "")
        if not _is_mount(sub_mount):
            raise inc.error("mount", f"expected a path like \"/hello/c\", got {sub_mount!r}")
        sub = load_manifest(path.parent / inc.text("path"), mount=mount + sub_mount, _seen=_seen | {path})
        if "routes" in inc.table:
            # the including app decides where the included components live
            override = _Fields({"routes": inc.table["routes"]}, file, inc.where, {"routes"})
            routes = inc.table["routes"]
            if not isinstance(routes, list):
                raise inc.error("routes", "expected a list of routes")
            new = tuple(_route(r, override, j, mount) for j, r in enumerate(routes))
            components.extend(replace(c, routes=new) for c in sub.components)
        else:
            components.extend(sub.components)
    seen: dict[str, ComponentSpec] = {}
    for c in components:
        if c.name in seen:
            raise ConfigError(
                f"component name '{c.name}' is used twice ({seen[c.name].manifest} and {c.manifest})",
                file=file,
            )
        seen[c.name] = c
    if not components:
        raise ConfigError("defines no [[component]]", file=file)
    index = app.table.get("index")
    if index is not None and not isinstance(index, str):
        raise app.error("index", "expected a string")
    return AppSpec(path, app.text("name", path.parent.name or "app"), tuple(components), index)
