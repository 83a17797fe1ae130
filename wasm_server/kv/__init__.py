"""Key-value stores: the async Store protocol, backends, and the StoreManager."""

from __future__ import annotations

from .base import KVError, Store, StoreConfig
from .memory import MemoryStore
from .registry import StoreManager
from .sqlite import SqliteStore

__all__ = ["KVError", "MemoryStore", "SqliteStore", "Store", "StoreConfig", "StoreManager"]
