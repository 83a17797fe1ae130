"""``StoreManager``: labelled stores, opened lazily, backends chosen by ``type``."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path

from .base import DENIED, KVError, Store, StoreConfig
from .memory import MemoryStore
from .sqlite import SqliteStore, connect

BACKENDS = ("sqlite", "memory")


class StoreManager:
    """Maps store labels to open stores."""

    def __init__(self, configs: Mapping[str, StoreConfig], data_dir: Path) -> None:
        for cfg in configs.values():
            if cfg.type not in BACKENDS:
                raise ValueError(f"store '{cfg.label}': unknown type '{cfg.type}' (choose {', '.join(BACKENDS)})")
        self.configs = dict(configs)
        self.data_dir = data_dir
        self._open: dict[str, Store] = {}
        self._dbs: dict[Path, sqlite3.Connection] = {}

    @classmethod
    def default(cls, data_dir: Path) -> StoreManager:
        """The embedded default: store ``default`` in ``<data_dir>/kv.sqlite3``."""
        return cls({"default": StoreConfig("default", "sqlite")}, data_dir)

    def has(self, label: str) -> bool:
        """Whether a store with this label is configured."""
        return label in self.configs

    def labels(self) -> list[str]:
        """Configured labels, sorted."""
        return sorted(self.configs)

    def get(self, label: str) -> Store:
        """The store ``label`` (opened on first use)."""
        store = self._open.get(label)
        if store is None:
            cfg = self.configs.get(label)
            if cfg is None:
                raise KVError(DENIED, f"store '{label}' is not configured")
            store = self._create(cfg)
            self._open[label] = store
        return store

    def _create(self, cfg: StoreConfig) -> Store:
        if cfg.type == "memory":
            return MemoryStore(cfg)
        path = cfg.path or self.data_dir / "kv.sqlite3"
        db = self._dbs.get(path)
        if db is None:
            db = self._dbs[path] = connect(path)
        return SqliteStore(cfg, db)

    async def close(self) -> None:
        """Close every store and database connection."""
        for store in self._open.values():
            await store.close()
        for db in self._dbs.values():
            db.close()
        self._open.clear()
        self._dbs.clear()
