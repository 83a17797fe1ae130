"""Typed runtime configuration: CLI flags over ``WASM_SERVER_*`` env over a TOML file.

The runtime config is the operator's (where to listen, where data lives);
the manifest is the app author's (what runs and what it may touch).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_LISTEN = "127.0.0.1:8080"


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """A host and port to bind (IPv6 hosts without brackets)."""

    host: str
    port: int

    def url(self, scheme: str = "http") -> str:
        """``http://127.0.0.1:8080`` / ``http://[::1]:8080``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"


def parse_listen(text: str) -> ListenAddress:
    """Parse ``127.0.0.1:8080``, ``[::1]:8080``, ``localhost:80`` or ``:8080``."""
    text = text.strip()
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
    else:
        host, sep, port = text.rpartition(":")
        if ":" in host:
            raise ConfigError(f"'{text}': write IPv6 addresses in brackets, e.g. [::1]:8080")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"'{text}' is not HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)")
    return ListenAddress(host or "127.0.0.1", int(port))


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """Where and how the server runs."""

    listen: tuple[ListenAddress, ...] = (parse_listen(DEFAULT_LISTEN),)
    data_dir: Path | None = None  # default: .wasm-server/ next to the manifest
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "wasm-server")
    max_body: int = 10 * 1024 * 1024
    #: seconds a client has to send a whole request once it started (slow clients get 408)
    request_timeout: float = 30.0
    log_level: str = "info"
    #: "text" or "json" (one object per line)
    log_format: str = "text"
    #: one line per request on stderr (``--no-access-log``, ``[server] access_log = false`` turn it off)
    access_log: bool = True
    #: open HTTP connections per worker; past it new ones get 503 and are closed
    max_connections: int = 10000
    #: worker processes sharing the listeners (SO_REUSEPORT)
    workers: int = 1
    #: operator port remaps for raw listeners: "53=5353", "7=127.0.0.1:7007"
    map_ports: tuple[str, ...] = ()
    #: HTTPS listeners, the default certificate and key, per-host certificates (SNI)
    listen_tls: tuple[ListenAddress, ...] = ()
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_certificates: tuple[tuple[tuple[str, ...], Path, Path], ...] = ()
    #: plain-HTTP listeners answer 308 to the HTTPS listener
    redirect_https: bool = False
    #: the admin API's listener (None: no admin API)
    admin: ListenAddress | None = None
    #: serve the admin API over TLS with the default certificate (--cert/--key, [tls] cert/key)
    admin_tls: bool = False
    #: the admin token (else $WASM_SERVER_ADMIN_TOKEN, else generated into the data dir)
    admin_token: str | None = None
    #: cluster mode: the Redis that holds the registry of deployed apps
    cluster_redis: str | None = None
    #: ``[key_value_store.<label>]`` tables as written (see kv/registry.py StoreManager.from_runtime)
    key_value_stores: dict[str, dict[str, Any]] = field(default_factory=dict)

    def data_dir_for(self, manifest: Path) -> Path:
        """The data directory, defaulting to ``.wasm-server/`` beside the manifest."""
        return self.data_dir or manifest.parent / ".wasm-server"


def load_runtime_config(path: Path | None, overrides: dict[str, Any]) -> RuntimeConfig:
    """Merge file, environment and CLI overrides (later wins)."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot load runtime config: {exc}", file=str(path)) from None
        server = raw.get("server", {})
        for key in ("listen", "data_dir", "cache_dir", "max_body", "log_level", "workers", "request_timeout",
                    "max_connections", "log_format"):
            if key in server:
                values[key] = server[key]
        for key in ("listen_tls", "redirect_https"):
            if key in server:
                values[key] = server[key]
        if "access_log" in server:
            if not isinstance(server["access_log"], bool):
                raise ConfigError("access_log must be true or false", file=str(path), field="server.access_log")
            values["access_log"] = server["access_log"]
        tls = raw.get("tls", {})
        if isinstance(tls, dict):
            if "cert" in tls:
                values["tls_cert"] = tls["cert"]
            if "key" in tls:
                values["tls_key"] = tls["key"]
            certs = tls.get("certificates", [])
            if not isinstance(certs, list) or not all(
                    isinstance(c, dict) and {"hosts", "cert", "key"} <= set(c) for c in certs):
                raise ConfigError('expected [[tls.certificates]] tables with hosts, cert and key', file=str(path),
                                  field="tls.certificates")
            base = path.parent
            values["tls_certificates"] = tuple(
                (tuple(str(h).lower() for h in c["hosts"]), (base / c["cert"]).resolve(), (base / c["key"]).resolve())
                for c in certs)
        admin = raw.get("admin", {})
        if isinstance(admin, dict):
            if "listen" in admin:
                values["admin"] = admin["listen"]
            if "token" in admin:
                values["admin_token"] = admin["token"]
            if "tls" in admin:
                values["admin_tls"] = admin["tls"]
        cluster = raw.get("cluster", {})
        if isinstance(cluster, dict) and "redis_url" in cluster:
            values["cluster_redis"] = cluster["redis_url"]
        stores = raw.get("key_value_store", {})
        if not isinstance(stores, dict) or not all(isinstance(t, dict) for t in stores.values()):
            raise ConfigError('expected tables like [key_value_store.default]', file=str(path),
                              field="key_value_store")
        values["key_value_stores"] = stores
        if "map_ports" in server:
            maps = server["map_ports"]
            if not isinstance(maps, dict):
                raise ConfigError('expected a table like { "53" = 5353 }', file=str(path), field="server.map_ports")
            values["map_ports"] = [f"{k}={v}" for k, v in maps.items()]
    if os.environ.get("WASM_SERVER_CLUSTER_REDIS"):
        values["cluster_redis"] = os.environ["WASM_SERVER_CLUSTER_REDIS"]
    if os.environ.get("WASM_SERVER_ADMIN"):
        values["admin"] = os.environ["WASM_SERVER_ADMIN"]
    for key in ("listen", "data_dir", "cache_dir", "log_level", "workers", "max_connections", "log_format"):
        env = os.environ.get(f"WASM_SERVER_{key.upper()}")
        if env:
            values[key] = env.split(",") if key == "listen" else env
    values.update({k: v for k, v in overrides.items() if v})
    kwargs: dict[str, Any] = {}
    if "access_log" in values:
        kwargs["access_log"] = values["access_log"]
    if "listen" in values:
        listen = values["listen"]
        kwargs["listen"] = tuple(parse_listen(x) for x in ([listen] if isinstance(listen, str) else listen))
    for key in ("data_dir", "cache_dir"):
        if key in values:
            kwargs[key] = Path(values[key]).expanduser().resolve()
    if "max_body" in values:
        kwargs["max_body"] = int(values["max_body"])
    if "request_timeout" in values:
        kwargs["request_timeout"] = float(values["request_timeout"])
    if "max_connections" in values:
        limit = int(values["max_connections"])
        if limit < 1:
            raise ConfigError(f"max_connections must be at least 1, got {limit}")
        kwargs["max_connections"] = limit
    if "log_format" in values:
        if values["log_format"] not in ("text", "json"):
            raise ConfigError(f"log_format must be text or json, got {values['log_format']!r}")
        kwargs["log_format"] = str(values["log_format"])
    if "log_level" in values:
        kwargs["log_level"] = str(values["log_level"])
    if "workers" in values:
        workers = int(values["workers"])
        if not 1 <= workers <= 256:
            raise ConfigError(f"workers must be 1..256, got {workers}")
        kwargs["workers"] = workers
    if "map_ports" in values:
        kwargs["map_ports"] = tuple(values["map_ports"])
    if values.get("listen_tls"):
        tls_listen = values["listen_tls"]
        kwargs["listen_tls"] = tuple(parse_listen(x) for x in ([tls_listen] if isinstance(tls_listen, str)
                                                                else tls_listen))
    for key in ("tls_cert", "tls_key"):
        if values.get(key):
            kwargs[key] = Path(values[key]).expanduser().resolve()
    if values.get("tls_certificates"):
        kwargs["tls_certificates"] = tuple(values["tls_certificates"])
    if values.get("redirect_https"):
        kwargs["redirect_https"] = bool(values["redirect_https"])
    if values.get("admin"):
        kwargs["admin"] = parse_listen(str(values["admin"]))
    if values.get("admin_tls"):
        kwargs["admin_tls"] = bool(values["admin_tls"])
    if values.get("admin_token"):
        kwargs["admin_token"] = str(values["admin_token"])
    if values.get("cluster_redis"):
        url = str(values["cluster_redis"])
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(f"cluster redis_url must be redis://HOST:PORT[/DB], got {url!r}")
        kwargs["cluster_redis"] = url
    if "key_value_stores" in values:
        kwargs["key_value_stores"] = dict(values["key_value_stores"])
    return RuntimeConfig(**kwargs)
