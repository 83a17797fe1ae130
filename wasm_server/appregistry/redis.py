"""The registry in one Redis (``[cluster] redis_url``): every node of one location.

A hash holds, per app name, the newest record; every file is stored once,
content-addressed (``blob:<sha256>``). Versions come from one Redis counter, so a later
deploy always has a higher version, and a Lua script only replaces a record with a
higher version: two conflicting deploys end with the newer one on every node. A
publish also sends the app's name on a pub/sub channel, so followers apply it at once
rather than at their next poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .base import Record, RegistryUnavailable

log = logging.getLogger("wasm_server")

PREFIX = "wasm-server:cluster:"
APPS = PREFIX + "apps"
VERSION = PREFIX + "version"
CHANNEL = PREFIX + "changes"
#: seconds between resubscribe attempts while Redis is away
RETRY_SECONDS = 1.0

# replace the record only if the new version is higher
_PUT_IF_NEWER = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local v = cjson.decode(old)['version']
  if v >= tonumber(ARGV[3]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', KEYS[2], ARGV[1])
return 1
"""

# the counter's next value, lifted above the app's stored version if that is higher (only
# records written by something other than this counter can be: the counter alone never is)
_NEXT_VERSION = """
local v = redis.call('INCR', KEYS[1])
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then
  local stored = cjson.decode(old)['version']
  if stored >= v then
    v = stored + 1
    redis.call('SET', KEYS[1], v)
  end
end
return v
"""

T = TypeVar("T")


class RedisRegistry:
    """A :class:`~wasm_server.appregistry.base.Registry` in Redis (redis-py's asyncio client)."""

    kind = "Redis"

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis  # imported here: single-node servers never need it

        self.url = url
        self.redis = redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=10)

    def describe(self) -> str:
        """The URL (its password, if any, is the operator's own config)."""
        return self.url

    async def open(self) -> None:
        """Nothing to create: keys appear on first write."""

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except OSError as exc:
            raise RegistryUnavailable(f"the cluster registry (Redis) is unavailable: {exc}") from None
        except Exception as exc:  # redis-py's ConnectionError/TimeoutError are not OSErrors
            if type(exc).__module__.startswith("redis"):
                raise RegistryUnavailable(f"the cluster registry (Redis) is unavailable: {exc}") from None
            raise

    async def new_version(self, name: str) -> int:
        """The next value of the one counter (every app shares it), above the app's stored version."""
        return int(await self._call(self.redis.eval(_NEXT_VERSION, 2, VERSION, APPS, name)))

    async def put_blob(self, digest: str, data: bytes) -> None:
        """SET NX: a file already there is not written again."""
        await self._call(self.redis.set(PREFIX + "blob:" + digest, data, nx=True))

    async def get_blob(self, digest: str) -> bytes | None:
        """GET; None when missing."""
        data = await self._call(self.redis.get(PREFIX + "blob:" + digest))
        if isinstance(data, str):
            data = data.encode("latin-1")
        return None if data is None else bytes(data)

    async def put_record(self, record: Record) -> None:
        """The Lua script: HSET only over a lower version, then PUBLISH the name."""
        await self._call(self.redis.eval(_PUT_IF_NEWER, 2, APPS, CHANNEL, record.name, record.to_json(),
                                         record.version))

    async def records(self) -> list[Record]:
        """HGETALL of the apps hash."""
        raw = await self._call(self.redis.hgetall(APPS))
        return [Record.from_json(value) for value in raw.values()]

    async def follow(self, wake: Callable[[], None]) -> None:
        """Subscribe to the changes channel; resubscribe every second while Redis is away."""
        interrupted = False
        while True:
            try:
                pubsub = self.redis.pubsub()
                await pubsub.subscribe(CHANNEL)
                if interrupted:
                    log.warning("cluster: change notifications resumed")
                    interrupted = False
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        wake()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # once per outage: the retry every second must not flood the log
                (log.debug if interrupted else log.warning)(
                    "cluster: change notifications interrupted (%s); polling meanwhile", exc)
                interrupted = True
                await asyncio.sleep(RETRY_SECONDS)

    async def close(self) -> None:
        """Close the connection pool."""
        await self.redis.aclose()
