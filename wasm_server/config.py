"""Typed runtime configuration: CLI flags over ``WASM_SERVER_*`` env over a TOML file.

The runtime config is the operator's (where to listen, where data lives);
the manifest is the app author's (what runs and what it may touch).
"""

from __future__ import annotations

import importlib.util
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .cachedir import wasm_server_cache
from .engine.runtime import DEFAULT_CACHE_MAX_SIZE, PoolLimits
from .errors import ConfigError
from .units import parse_size

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
class CassandraRegistryConfig:
    """``[cluster]`` keys of a registry in Cassandra (appregistry/cassandra.py)."""

    #: this location's contact points, ``host`` or ``host:port`` (one port for all)
    hosts: tuple[str, ...]
    #: this location's datacenter: the only one its nodes talk to
    local_dc: str
    keyspace: str = "wasm_server_cluster"
    #: datacenter -> replicas; when given, the keyspace is created if missing
    replication: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """Where and how the server runs."""

    listen: tuple[ListenAddress, ...] = (parse_listen(DEFAULT_LISTEN),)
    data_dir: Path | None = None  # default: .wasm-server/ next to the manifest
    cache_dir: Path = field(default_factory=wasm_server_cache)
    #: the compiled-module cache is pruned (least recently used first) to this many bytes
    cache_max_size: int = DEFAULT_CACHE_MAX_SIZE
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
    #: the pooling allocator's slots and per-module limits (engine/runtime.py)
    pool: PoolLimits = field(default_factory=PoolLimits)
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
    #: cluster mode: the Redis that holds the registry of deployed apps and carries pub/sub
    cluster_redis: str | None = None
    #: cluster mode with the registry in Cassandra instead (exactly one of the two)
    cluster_cassandra: CassandraRegistryConfig | None = None
    #: with a Cassandra registry: the Redis that carries pub/sub between this location's
    #: nodes (None: pub/sub reaches the connections of one process only)
    cluster_pubsub_redis: str | None = None
    #: OpenTelemetry: export request traces over OTLP/HTTP here (None: tracing is off; tracing.py)
    otlp_endpoint: str | None = None
    #: the ``service.name`` of those traces
    trace_service_name: str = "wasm-server"
    #: ``[key_value_store.<label>]`` tables as written (see kv/registry.py StoreManager.from_runtime)
    key_value_stores: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def module_cache_dir(self) -> Path:
        """Where compiled modules are cached (``cache_dir``/modules)."""
        return self.cache_dir / "modules"

    @property
    def clustered(self) -> bool:
        """Cluster mode: a registry of deployed apps shared with other nodes."""
        return self.cluster_redis is not None or self.cluster_cassandra is not None

    @property
    def pubsub_redis(self) -> str | None:
        """The Redis that carries pub/sub between nodes, if any."""
        return self.cluster_redis or self.cluster_pubsub_redis

    def data_dir_for(self, manifest: Path) -> Path:
        """The data directory, defaulting to ``.wasm-server/`` beside the manifest."""
        return self.data_dir or manifest.parent / ".wasm-server"


# -- converters: a raw value (from TOML, an env string or a flag) -> the field's value ---------
# Each raises ValueError with what was expected; the loader adds the file and the field.

Convert = Callable[[object, Path], object]


def _listen_list(value: object, base: Path) -> tuple[ListenAddress, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(x, str) for x in items):
        raise ValueError(f"expected \"HOST:PORT\" or a list of them, got {value!r}")
    return tuple(parse_listen(x) for x in items)


def _listen_one(value: object, base: Path) -> ListenAddress:
    if not isinstance(value, str):
        raise ValueError(f"expected \"HOST:PORT\", got {value!r}")
    return parse_listen(value)


def _path(value: object, base: Path) -> Path:
    if not isinstance(value, str | Path) or not str(value):
        raise ValueError(f"expected a path, got {value!r}")
    return Path(value).expanduser().resolve()


def _text(value: object, base: Path) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value


def _flag(value: object, base: Path) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        return value.lower() in ("1", "true", "yes", "on")
    raise ValueError(f"expected true or false, got {value!r}")


def _number(kind: type[int] | type[float], low: float, high: float | None = None) -> Convert:
    """An int or float in ``low..high``; env and flag strings are parsed."""
    def convert(value: object, base: Path) -> int | float:
        try:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValueError
            number = kind(value)
        except ValueError:
            raise ValueError(f"expected {'an integer' if kind is int else 'a number'}, got {value!r}") from None
        if number < low or (high is not None and number > high):
            raise ValueError(f"must be {low:g}..{high:g}, got {number:g}" if high is not None
                             else f"must be at least {low:g}, got {number:g}")
        return number
    return convert


def _size(low: int) -> Convert:
    """A byte count or a size like ``"512MiB"``, at least ``low``."""
    def convert(value: object, base: Path) -> int:
        text = value.strip() if isinstance(value, str) else value
        number = int(text) if isinstance(text, str) and text.isdigit() else text
        try:
            size = parse_size(number, file="", field="")
        except ConfigError:
            raise ValueError(f"expected a size like \"512MiB\" or a byte count, got {value!r}") from None
        if size < low:
            raise ValueError(f"must be at least {low} bytes, got {size}")
        return size
    return convert


def _choice(*allowed: str) -> Convert:
    def convert(value: object, base: Path) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}, got {value!r}")
        return str(value)
    return convert


def _port_map(value: object, base: Path) -> tuple[str, ...]:
    if isinstance(value, dict):  # the file's { "53" = 5353 }
        return tuple(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list | tuple) and all(isinstance(x, str) for x in value):  # --map-port 53=5353
        return tuple(value)
    raise ValueError('expected a table like { "53" = 5353 }')


def _redis_url(value: object, base: Path) -> str:
    if not isinstance(value, str) or not value.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"must be redis://HOST:PORT[/DB], got {value!r}")
    return value


def _hosts(value: object, base: Path) -> tuple[str, ...]:
    from .kv.base import split_host

    items = [x.strip() for x in value.split(",")] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items or not all(isinstance(x, str) and x for x in items):
        raise ValueError(f"expected a list of \"HOST\" or \"HOST:PORT\" (this location's Cassandra nodes), "
                         f"got {value!r}")
    for host in items:
        split_host(host, "cassandra_hosts")  # a ConfigError naming the expected form
    return tuple(items)


def _identifier(value: object, base: Path) -> str:
    text = _text(value, base)
    if not text.replace("_", "a").isalnum() or not text[0].isalpha() or len(text) > 48:
        raise ValueError(f"expected a Cassandra name (letters, digits, _; at most 48), got {value!r}")
    return text


def _replication(value: object, base: Path) -> tuple[tuple[str, int], ...]:
    if (not isinstance(value, dict) or not value
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in value.values())):
        raise ValueError(f"expected a table of datacenter = replicas, e.g. {{ paris = 3, tokyo = 3 }}, "
                         f"got {value!r}")
    return tuple(sorted((str(dc), int(n)) for dc, n in value.items()))


_CERTIFICATE_KEYS = {"hosts", "cert", "key"}


def _http_url(value: object, base: Path) -> str:
    text = _text(value, base)
    if not text.startswith(("http://", "https://")):
        raise ConfigError(f"expected an http:// or https:// URL (an OTLP/HTTP collector, e.g. "
                          f"http://127.0.0.1:4318), got {text!r}")
    return text


def _certificates(value: object, base: Path) -> tuple[tuple[tuple[str, ...], Path, Path], ...]:
    """``[[tls.certificates]]``: hosts, cert, key; the files are relative to the config file."""
    if not isinstance(value, list) or not all(isinstance(c, dict) and set(c) == _CERTIFICATE_KEYS for c in value):
        raise ValueError("expected [[tls.certificates]] tables with hosts, cert and key (and nothing else)")
    return tuple((tuple(str(h).lower() for h in c["hosts"]), (base / c["cert"]).resolve(),
                  (base / c["key"]).resolve()) for c in value)


@dataclass(frozen=True, slots=True)
class Key:
    """One key of a runtime-config table: where it lands, how it is read, its env override."""

    name: str
    #: the RuntimeConfig field (``pool.<name>`` for a PoolLimits field)
    dest: str
    convert: Convert
    #: the ``WASM_SERVER_*`` variable that overrides the file ("" for none)
    env: str = ""


def _server(name: str, convert: Convert, dest: str = "") -> Key:
    return Key(name, dest or name, convert, f"WASM_SERVER_{name.upper()}")


_COUNT = _number(int, 1)

#: every table of the runtime config and its keys (the order is the docs' order)
TABLES: dict[str, tuple[Key, ...]] = {
    "server": (
        _server("listen", _listen_list),
        _server("data_dir", _path),
        _server("cache_dir", _path),
        _server("cache_max_size", _size(1024 * 1024)),
        _server("max_body", _size(1)),
        _server("request_timeout", _number(float, 0.001)),
        _server("log_level", _choice("debug", "info", "warning", "error", "critical")),
        _server("log_format", _choice("text", "json")),
        _server("access_log", _flag),
        _server("max_connections", _COUNT),
        _server("workers", _number(int, 1, 256)),
        _server("map_ports", _port_map),
        _server("listen_tls", _listen_list),
        _server("redirect_https", _flag),
        _server("pool_instances", _number(int, 1, 1_000_000), "pool.instances"),
        _server("pool_table_elements", _number(int, 1, 100_000_000), "pool.table_elements"),
        _server("pool_tables_per_module", _number(int, 1, 100), "pool.tables_per_module"),
        _server("pool_memories_per_module", _number(int, 1, 100), "pool.memories_per_module"),
        _server("pool_core_instance_size", _size(4096), "pool.core_instance_size"),
    ),
    "tls": (
        Key("cert", "tls_cert", _path),
        Key("key", "tls_key", _path),
        Key("certificates", "tls_certificates", _certificates),
    ),
    "admin": (
        Key("listen", "admin", _listen_one, "WASM_SERVER_ADMIN"),
        Key("token", "admin_token", _text),
        Key("tls", "admin_tls", _flag),
    ),
    "cluster": (
        Key("redis_url", "cluster_redis", _redis_url, "WASM_SERVER_CLUSTER_REDIS"),
        Key("cassandra_hosts", "cassandra.hosts", _hosts, "WASM_SERVER_CLUSTER_CASSANDRA_HOSTS"),
        Key("local_dc", "cassandra.local_dc", _text, "WASM_SERVER_CLUSTER_LOCAL_DC"),
        Key("keyspace", "cassandra.keyspace", _identifier),
        Key("replication", "cassandra.replication", _replication),
        Key("pubsub_redis_url", "cluster_pubsub_redis", _redis_url, "WASM_SERVER_CLUSTER_PUBSUB_REDIS"),
    ),
    "tracing": (
        Key("otlp_endpoint", "otlp_endpoint", _http_url, "WASM_SERVER_OTLP_ENDPOINT"),
        Key("service_name", "trace_service_name", _text),
    ),
}
#: tables checked elsewhere: [key_value_store.<label>] by kv/registry.py
PASSED_THROUGH = ("key_value_store",)
_BY_DEST = {k.dest: k for keys in TABLES.values() for k in keys}


def _read_file(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot load runtime config: {exc}", file=str(path)) from None


def _refuse_unknown(name: str, table: Mapping[str, object], known: list[str], file: str) -> None:
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                          f"(known: {', '.join(known)})", file=file, field=f"[{name}]")


def _set(values: dict[str, object], key: Key, raw: object, base: Path, *, where: str,
         file: str | None = None) -> None:
    """Convert ``raw`` into ``values[key.dest]``; a bad value names where it came from."""
    try:
        values[key.dest] = key.convert(raw, base)
    except (ValueError, ConfigError) as exc:
        raise ConfigError(str(exc), file=file, field=where) from None


def load_runtime_config(path: Path | None, overrides: Mapping[str, object]) -> RuntimeConfig:
    """Merge the TOML file, ``WASM_SERVER_*`` environment and CLI ``overrides`` (later wins).

    ``overrides`` are keyed by RuntimeConfig field (``listen``, ``cluster_redis`` …); a
    false-y value means "not given". Every table and key of the file is checked: an unknown
    one is refused, naming the file and the keys that exist."""
    values: dict[str, object] = {}
    if path is not None:
        raw = _read_file(path)
        file = str(path)
        _refuse_unknown("runtime config", raw, [*TABLES, *PASSED_THROUGH], file)
        for table, keys in TABLES.items():
            section = raw.get(table, {})
            if not isinstance(section, dict):
                raise ConfigError(f"expected a table [{table}]", file=file, field=table)
            _refuse_unknown(table, section, [k.name for k in keys], file)
            for key in keys:
                if key.name in section:
                    _set(values, key, section[key.name], path.parent, where=f"{table}.{key.name}", file=file)
        stores = raw.get("key_value_store", {})
        if not isinstance(stores, dict) or not all(isinstance(t, dict) for t in stores.values()):
            raise ConfigError("expected tables like [key_value_store.default]", file=file, field="key_value_store")
        values["key_value_stores"] = dict(stores)
    for keys in TABLES.values():
        for key in keys:
            if key.env and os.environ.get(key.env):
                _set(values, key, os.environ[key.env], Path.cwd(), where=f"${key.env}")
    for dest, raw_value in overrides.items():
        if raw_value:
            _set(values, _BY_DEST[dest], raw_value, Path.cwd(), where=dest)
    return _build(values)


def _cassandra(values: dict[str, object], top: dict[str, object]) -> CassandraRegistryConfig | None:
    """The ``[cluster]`` Cassandra keys as one value; exactly one registry, each key in its place."""
    given = {dest.removeprefix("cassandra."): v for dest, v in values.items() if dest.startswith("cassandra.")}
    if not given:
        if top.get("cluster_pubsub_redis"):
            raise ConfigError("pubsub_redis_url goes with a Cassandra registry (cassandra_hosts); with "
                              "redis_url, that Redis carries pub/sub", field="[cluster]")
        return None
    if "hosts" not in given:
        raise ConfigError(f"{', '.join(sorted(given))} need cassandra_hosts (this location's Cassandra nodes)",
                          field="[cluster]")
    if "local_dc" not in given:
        raise ConfigError("cassandra_hosts needs local_dc: this location's datacenter, the only one its "
                          "nodes read and write", field="[cluster]")
    if top.get("cluster_redis"):
        raise ConfigError("give either redis_url or cassandra_hosts, not both: the registry lives in one "
                          "of them (pubsub_redis_url names a Redis for pub/sub next to Cassandra)",
                          field="[cluster]")
    if importlib.util.find_spec("cassandra") is None:
        raise ConfigError("a Cassandra registry needs the cassandra-driver package: "
                          "pip install 'wasm-server[cassandra]'", field="[cluster]")
    return CassandraRegistryConfig(**given)  # type: ignore[arg-type]


def _build(values: dict[str, object]) -> RuntimeConfig:
    """RuntimeConfig from converted values (``pool.*`` gathered into PoolLimits,
    ``cassandra.*`` into CassandraRegistryConfig)."""
    pool = {dest.removeprefix("pool."): v for dest, v in values.items() if dest.startswith("pool.")}
    top = {dest: v for dest, v in values.items() if not dest.startswith(("pool.", "cassandra."))}
    if pool:
        top["pool"] = PoolLimits(**pool)  # type: ignore[arg-type]
    cassandra = _cassandra(values, top)
    if cassandra is not None:
        top["cluster_cassandra"] = cassandra
    assert set(top) <= {f.name for f in fields(RuntimeConfig)}
    return RuntimeConfig(**top)  # type: ignore[arg-type]
