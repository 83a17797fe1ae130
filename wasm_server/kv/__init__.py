"""Key-value stores: the async ``Store`` protocol, its backends and the ``StoreManager``.

``StoreManager(configs, data_dir).get(label)`` gives a :class:`Store`; backends
are chosen by :attr:`StoreConfig.type` (``"sqlite"``, the default,
``"memory"``, ``"redis"`` or ``"cassandra"``; kv/redis.py and kv/cassandra.py import
their client libraries only when used).
Errors are :class:`KVError` carrying an ABI error code.
"""

from __future__ import annotations

from .base import KVError, Store, StoreConfig
from .memory import MemoryStore
from .registry import StoreManager, default_configs, validate_declared
from .sqlite import SqliteStore

__all__ = [
    "KVError",
    "MemoryStore",
    "SqliteStore",
    "Store",
    "StoreConfig",
    "StoreManager",
    "default_configs",
    "validate_declared",
]
