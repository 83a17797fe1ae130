"""In-process KV backend: a dict per store. Lost on restart; for tests and scratch data."""

from __future__ import annotations

from .base import StoreConfig, check_i64, check_value, parse_counter


class MemoryStore:
    """A dict-backed :class:`~wasm_server.kv.base.Store`."""

    eager = True

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self.data: dict[bytes, bytes] = {}

    async def get(self, key: bytes) -> bytes | None:
        """The value, or None."""
        return self.data.get(key)

    async def set(self, key: bytes, value: bytes) -> None:
        """Store a value."""
        check_value(self.config, value)
        self.data[key] = value

    async def delete(self, key: bytes) -> None:
        """Remove a key."""
        self.data.pop(key, None)

    async def exists(self, key: bytes) -> bool:
        """Whether the key is present."""
        return key in self.data

    async def keys(self, prefix: bytes) -> list[bytes]:
        """Keys with ``prefix``, ascending."""
        return sorted(k for k in self.data if k.startswith(prefix))

    async def incr(self, key: bytes, delta: int) -> int:
        """Add ``delta`` to a counter."""
        value = check_i64(self.config.label, parse_counter(self.config.label, key, self.data.get(key)) + delta)
        self.data[key] = str(value).encode()
        return value

    async def close(self) -> None:
        """Nothing to release."""
