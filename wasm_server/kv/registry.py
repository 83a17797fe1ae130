"""``StoreManager``: labelled stores opened lazily, backends chosen by ``type``; load-time checks."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ErrorCode
from .base import DEFAULT_KEYSPACE, DEFAULT_MAX_VALUE, DEFAULT_TIMEOUT, KVError, Store, StoreConfig
from .memory import MemoryStore
from .sqlite import SqliteFile, SqliteStore

DEFAULT_LABEL = "default"
DEFAULT_FILE = "kv.sqlite3"


def default_configs() -> dict[str, StoreConfig]:
    """What a runtime config that says nothing about stores means: ``default`` in ``<data_dir>/kv.sqlite3``."""
    return {DEFAULT_LABEL: StoreConfig(DEFAULT_LABEL, "sqlite")}


_STORE_KEYS = {"type", "path", "max_value_size", "synchronous", "url", "prefix", "timeout",
               "hosts", "local_dc", "keyspace", "replication", "consistency"}
#: keys that only make sense for some backends: writing them for another is a mistake
#: (``url`` without ``type = "redis"`` would otherwise quietly give a local SQLite store)
_ONLY_FOR: dict[str, tuple[str, ...]] = {
    "path": ("sqlite",), "synchronous": ("sqlite",), "url": ("redis",), "prefix": ("redis", "cassandra"),
    "timeout": ("redis", "cassandra"), "hosts": ("cassandra",), "local_dc": ("cassandra",),
    "keyspace": ("cassandra",), "replication": ("cassandra",), "consistency": ("cassandra",),
}
_TYPES: dict[str, tuple[type, ...]] = {
    "type": (str,), "path": (str,), "max_value_size": (int,), "synchronous": (str,),
    "url": (str,), "prefix": (str,), "timeout": (int, float), "hosts": (list,), "local_dc": (str,),
    "keyspace": (str,), "replication": (dict,), "consistency": (str,),
}
_WANTED = {"timeout": "a number", "max_value_size": "an integer", "hosts": 'a list of "HOST:PORT" strings',
           "replication": "a table of datacenter = replicas (e.g. { dc1 = 3, dc2 = 3 })"}


def store_config(label: str, table: Mapping[str, Any]) -> StoreConfig:
    """A StoreConfig from one ``[key_value_store.<label>]`` table; ConfigError names the bad key."""
    where = f"key_value_store.{label}"
    unknown = sorted(set(table) - _STORE_KEYS)
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_STORE_KEYS))})",
                          field=where)
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, _TYPES[key]):
            raise ConfigError(f"must be {_WANTED.get(key, 'a string')}, got {type(value).__name__}",
                              field=f"{where}.{key}")
    kind = table.get("type", "sqlite")
    for key in sorted(table):
        backends = _ONLY_FOR.get(key)
        if backends is not None and kind not in backends:
            names = " or ".join(f'type = "{b}"' for b in backends)
            raise ConfigError(f"applies only to {names} stores (this one is {kind})", field=f"{where}.{key}")
    if kind == "cassandra" and importlib.util.find_spec("cassandra") is None:
        raise ConfigError("a cassandra store needs the cassandra-driver package: pip install 'wasm-server[cassandra]'",
                          field=f"{where}.type")
    hosts = table.get("hosts", [])
    if not all(isinstance(h, str) for h in hosts):
        raise ConfigError(f"must be {_WANTED['hosts']}", field=f"{where}.hosts")
    replication = table.get("replication", {})
    path = table.get("path")
    return StoreConfig(
        label,
        kind,
        Path(path) if path else None,
        table.get("max_value_size", DEFAULT_MAX_VALUE),
        table.get("synchronous", "normal"),
        table.get("url"),
        table.get("prefix"),
        float(table.get("timeout", DEFAULT_TIMEOUT)),
        hosts=tuple(hosts),
        local_dc=table.get("local_dc"),
        keyspace=table.get("keyspace", DEFAULT_KEYSPACE),
        replication=tuple(sorted(replication.items())),
        consistency=table.get("consistency", "LOCAL_QUORUM"),
    )


class StoreManager:
    """Maps store labels to open stores; SQLite stores sharing a file share one connection."""

    def __init__(self, configs: Mapping[str, StoreConfig] | None, data_dir: Path) -> None:
        """``configs`` maps label → config (None: :func:`default_configs`); ``data_dir`` holds relative files."""
        configs = default_configs() if configs is None else configs
        for label, cfg in configs.items():
            if cfg.label != label:
                raise ConfigError(f"store '{label}' is configured with label '{cfg.label}'", field="key_value_stores")
        self.configs = dict(configs)
        self.data_dir = data_dir
        self._open: dict[str, Store] = {}
        self._files: dict[Path, SqliteFile] = {}

    @classmethod
    def from_runtime(cls, tables: Mapping[str, Mapping[str, Any]], data_dir: Path) -> StoreManager:
        """The manager for ``[key_value_store.<label>]`` tables of the runtime config
        (none: the default store). ``default`` stays configured unless a table replaces it."""
        if not tables:
            return cls.default(data_dir)
        configs = default_configs()
        for label, table in tables.items():
            configs[label] = store_config(label, table)
        return cls(configs, data_dir)

    @classmethod
    def default(cls, data_dir: Path) -> StoreManager:
        """The manager for a runtime config that configures no stores."""
        return cls(None, data_dir)

    def has(self, label: str) -> bool:
        """Whether a store with this label is configured."""
        return label in self.configs

    def labels(self) -> list[str]:
        """Configured labels, sorted."""
        return sorted(self.configs)

    def get(self, label: str) -> Store:
        """The store ``label``, opened on first use; DENIED if not configured, IO if it cannot open."""
        store = self._open.get(label)
        if store is None:
            cfg = self.configs.get(label)
            if cfg is None:
                raise KVError(ErrorCode.DENIED, f"store '{label}' is not configured")
            store = self._open[label] = self._create(cfg)
        return store

    def path_of(self, cfg: StoreConfig) -> Path:
        """The SQLite file of a store: its ``path`` under the data dir, or ``<data_dir>/kv.sqlite3``."""
        return self.data_dir / (cfg.path or DEFAULT_FILE)

    def _create(self, cfg: StoreConfig) -> Store:
        if cfg.type == "memory":
            return MemoryStore(cfg)
        if cfg.type == "redis":
            from .redis import RedisStore

            return RedisStore(cfg)
        if cfg.type == "cassandra":
            from .cassandra import CassandraStore  # imports cassandra-driver: only servers using it need it

            return CassandraStore(cfg)
        path = self.path_of(cfg)
        file = self._files.get(path)
        if file is None:
            file = self._files[path] = SqliteFile.open(path, self._synchronous(path))
        return SqliteStore(cfg, file)

    def _synchronous(self, path: Path) -> str:
        # one connection per file, so the strictest setting among the file's stores wins
        stores = [c for c in self.configs.values() if c.type == "sqlite" and self.path_of(c) == path]
        return "full" if any(c.synchronous == "full" for c in stores) else "normal"

    async def close(self) -> None:
        """Close every open store and file; a later :meth:`get` opens them again."""
        for store in self._open.values():
            await store.close()
        for file in self._files.values():
            file.close()
        self._open.clear()
        self._files.clear()


def validate_declared(
    component_name: str, declared_labels: Iterable[str], manager: StoreManager, *, file: str | None = None
) -> None:
    """At load time: ConfigError naming the component and the first declared store that is not configured."""
    for label in declared_labels:
        if not manager.has(label):
            raise ConfigError(
                f"component '{component_name}' declares key-value store '{label}', which is not configured "
                f"(configured: {', '.join(manager.labels()) or 'none'})",
                file=file,
                field=f"component '{component_name}'.key_value_stores",
            )
