"""In-process KV backend: one dict per store, lost on restart. For tests and scratch data."""

from __future__ import annotations

import asyncio

from .base import StoreConfig, add_to_counter, check_delta, check_value


class MemoryStore:
    """A dict-backed :class:`~wasm_server.kv.base.Store`; single process only."""

    eager = True

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self.data: dict[bytes, bytes] = {}

    async def get(self, key: bytes) -> bytes | None:
        """The value, or None."""
        return self.data.get(key)

    async def set(self, key: bytes, value: bytes) -> None:
        """Store a value (TOO_LARGE over the limit)."""
        check_value(self.config, value)
        # bytes() so a caller's bytearray or memoryview cannot change the stored value later
        self.data[bytes(key)] = bytes(value)

    async def delete(self, key: bytes) -> None:
        """Remove a key if present."""
        self.data.pop(key, None)

    async def exists(self, key: bytes) -> bool:
        """Whether the key is present."""
        return key in self.data

    async def keys(self, prefix: bytes) -> list[bytes]:
        """Keys starting with ``prefix``, ascending (a full scan: fine for scratch data)."""
        return sorted(k for k in self.data if k.startswith(prefix))

    async def incr(self, key: bytes, delta: int) -> int:
        """Add ``delta`` to a counter; atomic because nothing here awaits."""
        check_delta(self.config.label, delta)
        value = add_to_counter(self.config.label, key, self.data.get(key), delta)
        self.data[bytes(key)] = b"%d" % value
        return value

    def deferred(self) -> MemoryStore:
        """Itself: every write is done when its call returns."""
        return self

    def commit_waiter(self, held: asyncio.Future[None] | None = None) -> asyncio.Future[None] | None:
        """Nothing of its own is ever pending: ``held`` as it is."""
        return held

    async def close(self) -> None:
        """Drop the data."""
        self.data.clear()
