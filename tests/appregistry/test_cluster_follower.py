"""The follower (cluster.py) over any registry: a record whose files have not arrived yet waits
and is applied at a later poll; a registry that is down at start is retried, not fatal."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import cast

import pytest

from wasm_server.appregistry import Record, RegistryUnavailable
from wasm_server.cluster import Cluster
from wasm_server.deployments import Deployments


class MemoryRegistry:
    """A registry in a dict; ``down`` makes every call fail as an unreachable database would."""

    kind = "memory"

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.apps: dict[str, Record] = {}
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise RegistryUnavailable("the cluster registry (memory) is unavailable: down")

    def describe(self) -> str:
        return "memory"

    async def open(self) -> None:
        self._check()

    async def new_version(self, name: str) -> int:
        self._check()
        return max([r.version for r in self.apps.values()], default=0) + 1

    async def put_blob(self, digest: str, data: bytes) -> None:
        self._check()
        self.blobs[digest] = data

    async def get_blob(self, digest: str) -> bytes | None:
        self._check()
        return self.blobs.get(digest)

    async def put_record(self, record: Record) -> None:
        self._check()
        if record.name not in self.apps or self.apps[record.name].version < record.version:
            self.apps[record.name] = record

    async def records(self) -> list[Record]:
        self._check()
        return list(self.apps.values())

    async def follow(self, wake: Callable[[], None]) -> None:
        """Polling only."""

    async def close(self) -> None:
        """Nothing to close."""


class FakeDeployments:
    """What the follower calls on Deployments, recorded."""

    def __init__(self) -> None:
        self.apps: dict[str, int] = {}
        self.files: dict[str, dict[str, bytes]] = {}

    async def deploy(self, name: str, manifest: str, files: dict[str, bytes], *, version: int,
                     source: str) -> None:
        self.apps[name] = version
        self.files[name] = files

    async def undeploy(self, name: str, *, version: int) -> bool:
        return self.apps.pop(name, None) is not None


def follower() -> tuple[Cluster, MemoryRegistry, FakeDeployments]:
    registry, deployments = MemoryRegistry(), FakeDeployments()
    return Cluster(registry, cast(Deployments, deployments), "test"), registry, deployments


async def test_a_record_that_arrives_before_its_files_waits_for_them(caplog: pytest.LogCaptureFixture) -> None:
    cluster, registry, deployments = follower()
    data = b"\0asm module"
    digest = hashlib.sha256(data).hexdigest()
    await registry.put_record(Record("svc", 7, "[[component]]", {"svc.wasm": digest}))  # the blob is not here yet
    with caplog.at_level(logging.WARNING, "wasm_server"):
        assert await cluster.sync() == 0
        assert await cluster.sync() == 0
    assert deployments.apps == {}
    assert [r.getMessage() for r in caplog.records].count(
        f"cluster: svc version 7 waits: file {digest[:12]} is missing or incomplete in the registry; "
        "retrying every 1s") == 1  # logged once, although retried at every poll
    registry.blobs[digest] = b"damaged"
    assert await cluster.sync() == 0  # bytes that do not match the digest are not deployed either
    registry.blobs[digest] = data
    assert await cluster.sync() == 1
    assert deployments.apps == {"svc": 7} and deployments.files["svc"] == {"svc.wasm": data}
    assert await cluster.sync() == 0  # applied once


async def test_a_registry_down_at_start_is_retried_and_publishing_meanwhile_is_a_503() -> None:
    cluster, registry, deployments = follower()
    registry.down = True
    await cluster.start()  # not fatal: the node starts and polls
    try:
        with pytest.raises(Exception, match="unavailable") as raised:
            await cluster.publish("svc", "[[component]]", {"svc.wasm": b"x"})
        assert getattr(raised.value, "status", None) == 503
        registry.down = False
        await registry.put_blob(hashlib.sha256(b"x").hexdigest(), b"x")
        await registry.put_record(Record("svc", 3, "m", {"svc.wasm": hashlib.sha256(b"x").hexdigest()}))
        assert await cluster.sync() == 1 and deployments.apps == {"svc": 3}
    finally:
        await cluster.close()


async def test_a_newer_tombstone_undeploys_and_an_older_record_changes_nothing() -> None:
    cluster, registry, deployments = follower()
    digest = hashlib.sha256(b"x").hexdigest()
    await registry.put_blob(digest, b"x")
    await registry.put_record(Record("svc", 1, "m", {"svc.wasm": digest}))
    assert await cluster.sync() == 1 and deployments.apps == {"svc": 1}
    await registry.put_record(Record("svc", 2, deleted=True))
    assert await cluster.sync() == 1 and deployments.apps == {}
    registry.apps["svc"] = Record("svc", 1, "m", {"svc.wasm": digest})  # an older record seen again
    assert await cluster.sync() == 0 and deployments.apps == {}
