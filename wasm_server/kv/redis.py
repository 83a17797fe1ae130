"""Redis KV backend (``type = "redis"``): one store shared by every node of a cluster.

Keys live under ``<prefix><label>:`` so several stores and apps can share one
Redis. ``incr`` is Redis' INCRBY (atomic per key); ``keys`` walks SCAN with a
glob-escaped MATCH, never KEYS, and sorts the result. A write returns once
Redis acknowledged it; how durable it then is depends on Redis' persistence
settings (AOF ``appendfsync always`` for the strongest). Redis being down or
slow is error IO or TIMEOUT for the guest, never a crash; the client
reconnects on the next call. Stores on the same URL (every app in the process)
share one bounded connection pool.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from ..errors import ErrorCode
from .base import KVError, StoreConfig, add_to_counter, check_delta, check_value

log = logging.getLogger("wasm_server")
SCAN_COUNT = 500
POOL_SIZE = 64
DEFAULT_PREFIX = "wasm-server:kv:"
_GLOB = re.compile(rb"([*?\[\]\\])")


def glob_escape(prefix: bytes) -> bytes:
    """``prefix`` with Redis glob metacharacters escaped, for SCAN MATCH."""
    return _GLOB.sub(rb"\\\1", prefix)


class _Pool:
    """A connection pool shared by every store on one (URL, timeout) in one event loop."""

    def __init__(self, pool: Any, loop: asyncio.AbstractEventLoop | None) -> None:
        self.pool = pool
        self.loop = loop
        self.users = 0


#: (url, timeout) -> pool; stores of every app (and of a reloaded app) on one Redis share it
_POOLS: dict[tuple[str, float], _Pool] = {}


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _acquire(config: StoreConfig) -> _Pool:
    import redis.asyncio as redis  # imported here: only servers that use Redis need it

    key = (str(config.url), config.timeout)
    loop = _running_loop()
    shared = _POOLS.get(key)
    if shared is not None and loop is not None and shared.loop is loop:
        shared.users += 1
        return shared
    # a bounded pool where a call waits (up to the timeout) for a free connection instead of
    # failing when many guests use the store at once. No command retries: a retried INCRBY
    # whose first reply was lost would count twice. A pooled connection that Redis closed
    # (a restart) is noticed when it is taken from the pool and reconnected then.
    pool = redis.BlockingConnectionPool.from_url(
        str(config.url), max_connections=POOL_SIZE, timeout=config.timeout, socket_timeout=config.timeout,
        socket_connect_timeout=config.timeout, health_check_interval=30)
    shared = _Pool(pool, loop)
    shared.users = 1
    if loop is not None:
        _POOLS[key] = shared  # replaces a pool of another loop, which is never shared again
    return shared


async def _release(config: StoreConfig, shared: _Pool) -> None:
    shared.users -= 1
    if shared.users > 0:
        return
    key = (str(config.url), config.timeout)
    if _POOLS.get(key) is shared:
        del _POOLS[key]
    import redis.exceptions as rex

    try:
        await shared.pool.disconnect()
    except (rex.RedisError, OSError) as exc:  # closing must not fail a shutdown or a reload
        log.debug("closing the Redis pool of store '%s': %s", config.label, exc)


def _raise_if_cancelled() -> None:
    """Raise CancelledError if the calling task was cancelled while the call ran.

    redis-py sometimes swallows a cancellation and returns the reply anyway
    (seen with redis 8.1: about 1 in 100 cancels landing a few loop turns into
    a call). The host cancels a KV task when the guest waiting on it is gone
    (deadline, client hung up), and the guest's memory may be freed by then:
    a result delivered after that must never reach the import's code.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class RedisStore:
    """A :class:`~wasm_server.kv.base.Store` in Redis (redis-py's asyncio client, pooled per URL)."""

    eager = False

    def __init__(self, config: StoreConfig) -> None:
        import redis.asyncio as redis

        if not config.url:
            raise KVError(ErrorCode.IO, f"store '{config.label}' has type redis but no url")
        self.config = config
        prefix = config.prefix if config.prefix is not None else DEFAULT_PREFIX
        self.namespace = prefix.encode() + config.label.encode() + b":"
        self._pool = _acquire(config)
        self.client: Any = redis.Redis(connection_pool=self._pool.pool)
        self._closed = False

    def _key(self, key: bytes) -> bytes:
        return self.namespace + bytes(key)

    async def _do(self, what: str, call: Any) -> Any:
        try:
            result = await call
        except Exception as exc:
            _raise_if_cancelled()
            raise self._error(what, exc) from None
        _raise_if_cancelled()
        return result

    def _error(self, what: str, exc: Exception) -> Exception:
        import redis.exceptions as rex

        label = self.config.label
        if isinstance(exc, rex.TimeoutError):
            # the command may still run once Redis wakes up: the guest was not told it succeeded
            return KVError(ErrorCode.TIMEOUT,
                           f"store '{label}': Redis did not answer {what} within {self.config.timeout:g} s")
        if isinstance(exc, rex.ResponseError):
            if "not an integer" in str(exc) or "overflow" in str(exc):
                return KVError(ErrorCode.INVALID, f"value in store '{label}' is not a decimal integer "
                                        "(or the counter would overflow)")
            return KVError(ErrorCode.IO, f"store '{label}': Redis refused {what}: {exc}")
        if isinstance(exc, (rex.RedisError, OSError)):  # connection refused/reset, no pooled connection free …
            return KVError(ErrorCode.IO, f"store '{label}' unavailable: {exc}")
        return exc  # ours (KVError from a counter check) or a bug: as it is

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
            if exc.code != ErrorCode.INVALID:
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

    def deferred(self) -> RedisStore:
        """Itself: every write is done when its call returns."""
        return self

    def commit_waiter(self, held: asyncio.Future[None] | None = None) -> asyncio.Future[None] | None:
        """Nothing of its own is ever pending: ``held`` as it is."""
        return held

    async def close(self) -> None:
        """Let go of the shared pool; the last store using it disconnects it."""
        if self._closed:
            return
        self._closed = True
        await self.client.aclose()
        await _release(self.config, self._pool)
