"""Cluster mode: nodes that share one Redis share the registry of deployed apps.

Redis holds, per app name, the newest deployment record ``{name, version,
manifest, files: {path: sha256}}`` (or a tombstone after an undeploy), and
every file once, content-addressed (``blob:<sha256>``). Versions come from
one Redis counter, so a later deploy always has a higher version, and a Lua
script only replaces a record with a higher version: two conflicting deploys
end with the newer one on every node. Each node applies what it has not got
yet: at start, on a pub/sub notification, and every second (a node that
missed a message, or restarted, catches up). Compiled modules stay cached per
node (the module cache is keyed by content), so a node compiles a module once.
Nodes keep no state of their own beyond caches.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from typing import Any

from .deployments import DeployError, Deployments
from .errors import WasmServerError

log = logging.getLogger("wasm_server")

PREFIX = "wasm-server:cluster:"
APPS = PREFIX + "apps"
VERSION = PREFIX + "version"
CHANNEL = PREFIX + "changes"
SYNC_SECONDS = 1.0

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


class ClusterError(WasmServerError):
    """Redis could not be reached or answered something unusable."""


class Cluster:
    """This node's view of the shared registry (see module docstring)."""

    def __init__(self, url: str, deployments: Deployments, node: str = "") -> None:
        import redis.asyncio as redis  # imported here: single-node servers never need it

        self.url = url
        self.redis = redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=10)
        self.deployments = deployments
        self.node = node
        self.synced = False
        self.applied: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._registry_down = False

    # -- publishing (any node's admin API) -------------------------------------------

    async def publish(self, name: str, manifest: str, files: dict[str, bytes]) -> dict[str, Any]:
        """Store the files and a new version of ``name``; this node applies it at once."""
        try:
            digests = {}
            for rel, data in files.items():
                digest = hashlib.sha256(data).hexdigest()
                await self.redis.set(PREFIX + "blob:" + digest, data, nx=True)
                digests[rel] = digest
            version = int(await self.redis.incr(VERSION))
            record = {"name": name, "version": version, "manifest": manifest, "files": digests,
                      "published_at": time.time(), "by": self.node}
            await self.redis.eval(_PUT_IF_NEWER, 2, APPS, CHANNEL, name, json.dumps(record), version)
        except OSError as exc:
            raise DeployError(503, f"the cluster registry (Redis) is unavailable: {exc}") from None
        except Exception as exc:  # redis-py's ConnectionError/TimeoutError are not OSErrors
            if type(exc).__module__.startswith("redis"):
                raise DeployError(503, f"the cluster registry (Redis) is unavailable: {exc}") from None
            raise
        deployed = await self.deployments.deploy(name, manifest, files, version=version, source="cluster")
        self.applied[name] = version
        return deployed.describe()

    async def remove(self, name: str) -> bool:
        """Publish a tombstone for ``name`` (newer than what runs); False if it was not deployed."""
        if name not in self.deployments.apps:
            return False
        version = int(await self.redis.incr(VERSION))
        record = {"name": name, "version": version, "deleted": True, "published_at": time.time(), "by": self.node}
        await self.redis.eval(_PUT_IF_NEWER, 2, APPS, CHANNEL, name, json.dumps(record), version)
        await self.deployments.undeploy(name, version=version)
        self.applied[name] = version
        return True

    # -- following (every node) ---------------------------------------------------------

    async def start(self) -> None:
        """Apply the registry once (start-up catch-up), then follow it in the background."""
        await self.sync()
        self._tasks = [asyncio.ensure_future(self._listen()), asyncio.ensure_future(self._poll())]

    async def sync(self) -> int:
        """Apply every record newer than what this node runs; returns how many changed."""
        try:
            records = await self.redis.hgetall(APPS)
        except Exception as exc:
            # once per outage (this runs every second); back to a warning when it recovers
            (log.debug if self._registry_down else log.warning)("cluster: cannot read the registry: %s", exc)
            self._registry_down = True
            return 0
        if self._registry_down:
            log.warning("cluster: the registry is readable again")
            self._registry_down = False
        changed = 0
        for raw in records.values():
            record = json.loads(raw)
            name, version = record["name"], int(record["version"])
            if self.applied.get(name, 0) >= version:
                continue
            try:
                if record.get("deleted"):
                    await self.deployments.undeploy(name, version=version)
                else:
                    files = {rel: await self._blob(digest) for rel, digest in record["files"].items()}
                    await self.deployments.deploy(name, record["manifest"], files, version=version,
                                                  source="cluster")
            except WasmServerError as exc:
                log.error("cluster: cannot apply %s version %d: %s", name, version, exc)
            self.applied[name] = version
            changed += 1
        self.synced = True
        return changed

    async def _blob(self, digest: str) -> bytes:
        data = await self.redis.get(PREFIX + "blob:" + digest)
        if isinstance(data, str):
            data = data.encode("latin-1")
        if data is None or hashlib.sha256(data).hexdigest() != digest:
            raise ClusterError(f"file {digest[:12]} is missing or damaged in the registry")
        return bytes(data)

    async def _listen(self) -> None:
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
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # once per outage: the retry every second must not flood the log
                (log.debug if interrupted else log.warning)(
                    "cluster: change notifications interrupted (%s); polling meanwhile", exc)
                interrupted = True
                await asyncio.sleep(SYNC_SECONDS)

    async def _poll(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), SYNC_SECONDS)
            except TimeoutError:
                pass
            self._wake.clear()
            await self.sync()

    async def close(self) -> None:
        """Stop following and close the connections."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.redis.aclose()
