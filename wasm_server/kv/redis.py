"""Redis KV backend (``type = "redis"``): one store shared by every node of a cluster.

Keys live under ``<prefix><label>:`` so several stores and apps can share one
Redis. ``incr`` is Redis' INCRBY (atomic per key); ``keys`` walks SCAN with a
glob-escaped MATCH, never KEYS, and sorts the result. A write returns once
Redis acknowledged it; how durable it then is depends on Redis' persistence
settings (AOF ``appendfsync always`` for the strongest). Redis being down or
slow is error IO or TIMEOUT for the guest, never a crash; the client
reconnects on the next call.
"""

from __future__ import annotations

import re
from typing import Any

from .base import INVALID, IO, KVError, StoreConfig, add_to_counter, check_delta, check_value

TIMEOUT = -6
SCAN_COUNT = 500
POOL_SIZE = 64
_GLOB = re.compile(rb"([*?\[\]\\])")


def glob_escape(prefix: bytes) -> bytes:
    """``prefix`` with Redis glob metacharacters escaped, for SCAN MATCH."""
    return _GLOB.sub(rb"\\\1", prefix)


class RedisStore:
    """A :class:`~wasm_server.kv.base.Store` in Redis (redis-py's asyncio client, pooled)."""

    eager = False

    def __init__(self, config: StoreConfig) -> None:
        import redis.asyncio as redis  # imported here: only servers that use Redis need it

        if not config.url:
            raise KVError(IO, f"store '{config.label}' has type redis but no url")
        self.config = config
        self.namespace = (config.prefix if config.prefix is not None else "wasm-server:kv:").encode() + \
            config.label.encode() + b":"
        # a bounded pool where a call waits (up to the timeout) for a free connection, instead
        # of failing when many guests use the store at once
        pool = redis.BlockingConnectionPool.from_url(
            config.url, max_connections=POOL_SIZE, timeout=config.timeout, socket_timeout=config.timeout,
            socket_connect_timeout=config.timeout, health_check_interval=30)
        self.client: Any = redis.Redis(connection_pool=pool)

    def _key(self, key: bytes) -> bytes:
        return self.namespace + bytes(key)

    async def _do(self, what: str, call: Any) -> Any:
        import redis.exceptions as rex

        try:
            return await call
        except rex.TimeoutError:
            raise KVError(TIMEOUT, f"store '{self.config.label}': Redis did not answer {what} in time") from None
        except rex.ResponseError as exc:
            if "not an integer" in str(exc) or "overflow" in str(exc):
                raise KVError(INVALID, f"value in store '{self.config.label}' is not a decimal integer "
                                       "(or the counter would overflow)") from None
            raise KVError(IO, f"store '{self.config.label}': Redis refused {what}: {exc}") from None
        except (rex.ConnectionError, OSError) as exc:
            raise KVError(IO, f"store '{self.config.label}' is unavailable: {exc}") from None

    async def get(self, key: bytes) -> bytes | None:
        """The value, or None."""
        value = await self._do("GET", self.client.get(self._key(key)))
        return None if value is None else bytes(value)

    async def set(self, key: bytes, value: bytes) -> None:
        """Store a value once Redis acknowledged it (TOO_LARGE over the limit)."""
        check_value(self.config, value)
        await self._do("SET", self.client.set(self._key(key), bytes(value)))

    async def delete(self, key: bytes) -> None:
        """Remove a key if present."""
        await self._do("DEL", self.client.delete(self._key(key)))

    async def exists(self, key: bytes) -> bool:
        """Whether the key is present."""
        return bool(await self._do("EXISTS", self.client.exists(self._key(key))))

    async def keys(self, prefix: bytes) -> list[bytes]:
        """Keys starting with ``prefix``, ascending, found with SCAN (never KEYS)."""
        pattern = glob_escape(self.namespace + bytes(prefix)) + b"*"
        found: set[bytes] = set()  # SCAN may return a key twice
        cursor: Any = 0
        while True:
            cursor, batch = await self._do("SCAN", self.client.scan(cursor, match=pattern, count=SCAN_COUNT))
            found.update(bytes(k)[len(self.namespace):] for k in batch)
            if int(cursor) == 0:
                break
        return sorted(found)

    async def incr(self, key: bytes, delta: int) -> int:
        """INCRBY: atomic on the Redis server, shared by every node. Counters Redis does not
        parse but the other backends do ("+5", "007") go through an optimistic transaction,
        so every backend accepts and refuses the same values."""
        check_delta(self.config.label, delta)
        try:
            return int(await self._do("INCRBY", self.client.incrby(self._key(key), delta)))
        except KVError as exc:
            if exc.code != INVALID:
                raise
        return int(await self._do("INCRBY", self._incr_checked(key, delta)))

    async def _incr_checked(self, key: bytes, delta: int) -> int:
        import redis.exceptions as rex

        full = self._key(key)
        while True:
            async with self.client.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(full)
                    raw = await pipe.get(full)
                    value = add_to_counter(self.config.label, key, None if raw is None else bytes(raw), delta)
                    pipe.multi()
                    pipe.set(full, b"%d" % value)
                    await pipe.execute()
                    return value
                except rex.WatchError:
                    continue  # someone changed it meanwhile: read again

    async def close(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()
        await self.client.connection_pool.disconnect()
