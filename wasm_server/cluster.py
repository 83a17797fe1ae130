"""Cluster mode: nodes that share a registry of deployed apps serve the same apps.

The registry (appregistry/) holds, per app name, the newest deployment record
``{name, version, manifest, files: {path: sha256}}`` (or a tombstone after an
undeploy), and every file once, content-addressed. It lives in one Redis
(``[cluster] redis_url``: one location) or in Cassandra (``cassandra_hosts`` +
``local_dc``: each location reads and writes its own datacenter, so deploys keep
working in a location cut off from the others). A record only replaces one with a
lower version, so conflicting deploys end with the newest on every node.

Each node applies what it has not got yet: at start, on a notification (Redis
pub/sub), and every second (a node that missed a message, or restarted, or whose
datacenter received a record before the files it names, catches up). Compiled
modules stay cached per node (the module cache is keyed by content), so a node
compiles a module once. Nodes keep no state of their own beyond caches.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import Any

from .appregistry.base import ClusterError, Record, Registry, RegistryUnavailable
from .config import RuntimeConfig
from .deployments import DeployError, Deployments
from .errors import WasmServerError

log = logging.getLogger("wasm_server")

SYNC_SECONDS = 1.0

__all__ = ["Cluster", "ClusterError", "registry_for"]


def registry_for(config: RuntimeConfig) -> Registry:
    """The registry ``[cluster]`` names (config.py has checked that exactly one is named)."""
    if config.cluster_cassandra is not None:
        from .appregistry.cassandra import CassandraRegistry

        return CassandraRegistry(config.cluster_cassandra)
    assert config.cluster_redis is not None
    from .appregistry.redis import RedisRegistry

    return RedisRegistry(config.cluster_redis)


class Cluster:
    """This node's view of the shared registry (see module docstring)."""

    def __init__(self, registry: Registry, deployments: Deployments, node: str = "") -> None:
        self.registry = registry
        self.deployments = deployments
        self.node = node
        self.synced = False
        self.applied: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._registry_down = False
        #: versions whose files were missing here: retried every poll, logged once
        self._waiting: set[tuple[str, int]] = set()

    # -- publishing (any node's admin API) -------------------------------------------

    async def publish(self, name: str, manifest: str, files: dict[str, bytes]) -> dict[str, Any]:
        """Store the files and a new version of ``name``; this node applies it at once."""
        try:
            digests = {}
            for rel, data in files.items():
                digest = hashlib.sha256(data).hexdigest()
                await self.registry.put_blob(digest, data)
                digests[rel] = digest
            version = await self.registry.new_version(name)
            await self.registry.put_record(Record(name, version, manifest, digests, published_at=time.time(),
                                                  by=self.node))
        except RegistryUnavailable as exc:
            raise DeployError(503, str(exc)) from None
        deployed = await self.deployments.deploy(name, manifest, files, version=version, source="cluster")
        self.applied[name] = version
        return deployed.describe()

    async def remove(self, name: str) -> bool:
        """Publish a tombstone for ``name`` (newer than what runs); False if it was not deployed."""
        if name not in self.deployments.apps:
            return False
        try:
            version = await self.registry.new_version(name)
            await self.registry.put_record(Record(name, version, deleted=True, published_at=time.time(),
                                                  by=self.node))
        except RegistryUnavailable as exc:
            raise DeployError(503, str(exc)) from None
        await self.deployments.undeploy(name, version=version)
        self.applied[name] = version
        return True

    # -- following (every node) ---------------------------------------------------------

    async def start(self) -> None:
        """Connect, apply the registry once (start-up catch-up), then follow it in the
        background. A registry that is down now is retried every second; one that is
        misconfigured (e.g. a missing keyspace) stops the start."""
        try:
            await self.registry.open()
        except RegistryUnavailable as exc:
            log.warning("cluster: %s; retrying every %gs", exc, SYNC_SECONDS)
            self._registry_down = True
        await self.sync()
        self._tasks = [asyncio.ensure_future(self._follow()), asyncio.ensure_future(self._poll())]

    async def sync(self) -> int:
        """Apply every record newer than what this node runs; returns how many changed."""
        try:
            records = await self.registry.records()
        except ClusterError as exc:
            # once per outage (this runs every second); back to a warning when it recovers
            (log.debug if self._registry_down else log.warning)("cluster: cannot read the registry: %s", exc)
            self._registry_down = True
            return 0
        if self._registry_down:
            log.warning("cluster: the registry is readable again")
            self._registry_down = False
        changed = 0
        for record in records:
            if self.applied.get(record.name, 0) >= record.version:
                continue
            if await self._apply(record):
                self.applied[record.name] = record.version
                changed += 1
        self.synced = True
        return changed

    async def _apply(self, record: Record) -> bool:
        """Deploy or undeploy ``record``; False when its files are not here yet (retry later)."""
        try:
            if record.deleted:
                await self.deployments.undeploy(record.name, version=record.version)
            else:
                files = {rel: await self._blob(digest) for rel, digest in record.files.items()}
                await self.deployments.deploy(record.name, record.manifest, files, version=record.version,
                                              source="cluster")
        except RegistryUnavailable as exc:
            self._log_waiting(record, str(exc))
            return False
        except _NotYetHere as exc:
            self._log_waiting(record, str(exc))
            return False
        except WasmServerError as exc:  # a record that can never apply here: do not retry it forever
            log.error("cluster: cannot apply %s version %d: %s", record.name, record.version, exc)
        self._waiting.discard((record.name, record.version))
        return True

    def _log_waiting(self, record: Record, why: str) -> None:
        key = (record.name, record.version)
        if key not in self._waiting:
            self._waiting.add(key)
            log.warning("cluster: %s version %d waits: %s; retrying every %gs", record.name, record.version,
                        why, SYNC_SECONDS)

    async def _blob(self, digest: str) -> bytes:
        data = await self.registry.get_blob(digest)
        if data is None or hashlib.sha256(data).hexdigest() != digest:
            # in Cassandra a record can reach this datacenter before its files do
            raise _NotYetHere(f"file {digest[:12]} is missing or incomplete in the registry")
        return data

    async def _follow(self) -> None:
        await self.registry.follow(self._wake.set)

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
        await self.registry.close()


class _NotYetHere(ClusterError):
    """A record names a file this registry does not (yet) hold whole."""
