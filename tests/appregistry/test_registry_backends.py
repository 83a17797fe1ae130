"""Every cluster registry backend keeps the same promises: the highest version of a record
wins whatever the order of writes, blobs come back whole (or not at all), and a new
version is above what is stored. Run against a real Redis and a real Cassandra."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator

import pytest

from tests.kv.redis_server import redis_url
from wasm_server.appregistry import Record, Registry, RegistryUnavailable
from wasm_server.config import CassandraRegistryConfig

# the first test may wait for the run's Cassandra node to start (10-40 s here, longer on a cold,
# loaded CI machine; tests/cassandra_node.py waits up to 240 s): more than pytest's 120 s default
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(params=["redis", "cassandra"])
async def registry(request: pytest.FixtureRequest) -> AsyncIterator[Registry]:
    made: Registry
    if request.param == "redis":
        from wasm_server.appregistry.redis import RedisRegistry

        redis = RedisRegistry(redis_url().rsplit("/", 1)[0] + "/7")  # a database of its own, emptied first
        await redis.redis.flushdb()
        made = redis
    else:
        from tests.cassandra_node import cassandra_contact
        from wasm_server.appregistry.cassandra import CassandraRegistry

        # each test its own keyspace on the run's shared node (datacenter dc1)
        made = CassandraRegistry(CassandraRegistryConfig(
            hosts=(cassandra_contact(),), local_dc="dc1", keyspace=f"reg_{secrets.token_hex(4)}",
            replication=(("dc1", 1),)))
    await made.open()
    try:
        yield made
    finally:
        await made.close()


def record(version: int, text: str = "", deleted: bool = False) -> Record:
    return Record("svc", version, manifest=text, files={"a.wasm": "0" * 64}, deleted=deleted, by="test")


async def test_the_highest_version_wins_whatever_the_order(registry: Registry) -> None:
    await registry.put_record(record(5, "five"))
    await registry.put_record(record(3, "three"))  # arrives later, is older: ignored
    assert [(r.version, r.manifest) for r in await registry.records()] == [(5, "five")]
    await registry.put_record(record(8, deleted=True))
    [tombstone] = await registry.records()
    assert tombstone.deleted and tombstone.version == 8 and tombstone.manifest == ""


async def test_a_new_version_is_above_the_stored_one(registry: Registry) -> None:
    first = await registry.new_version("svc")
    await registry.put_record(record(first + 1_000_000_000))  # e.g. from a node whose clock runs ahead
    assert await registry.new_version("svc") > first + 1_000_000_000


@pytest.mark.parametrize("size", [0, 1, 3 * 1024 * 1024 + 17])  # empty, tiny, several Cassandra chunks
async def test_blobs_come_back_whole(registry: Registry, size: int) -> None:
    data = secrets.token_bytes(size)
    digest = hashlib.sha256(data).hexdigest()
    assert await registry.get_blob(digest) is None
    await registry.put_blob(digest, data)
    await registry.put_blob(digest, data)  # a second publish of the same file is harmless
    assert await registry.get_blob(digest) == data


async def test_a_missing_keyspace_without_replication_is_a_clear_error() -> None:
    from tests.cassandra_node import cassandra_contact
    from wasm_server.appregistry.base import ClusterError
    from wasm_server.appregistry.cassandra import CassandraRegistry

    registry = CassandraRegistry(CassandraRegistryConfig(hosts=(cassandra_contact(),), local_dc="dc1",
                                                         keyspace=f"absent_{secrets.token_hex(4)}"))
    with pytest.raises(ClusterError, match=r"keyspace 'absent_\w+' does not exist: create it, or set \[cluster\]"):
        await registry.open()
    await registry.close()


async def test_cassandra_down_is_unavailable_not_a_crash() -> None:
    from tests.e2e.conftest import free_port
    from wasm_server.appregistry.cassandra import CassandraRegistry

    registry = CassandraRegistry(CassandraRegistryConfig(hosts=(f"127.0.0.1:{free_port()}",), local_dc="dc1"))
    with pytest.raises(RegistryUnavailable, match=r"the cluster registry \(Cassandra\) is unavailable"):
        await registry.records()
    await registry.close()


async def test_every_record_is_read_however_many_pages(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    from wasm_server.appregistry import cassandra

    monkeypatch.setattr(cassandra, "PAGE_ROWS", 2)  # 7 records: 4 pages in Cassandra
    for i in range(7):
        await registry.put_record(Record(f"app{i}", i + 1, manifest=f"m{i}"))
    assert sorted((r.name, r.version) for r in await registry.records()) == [(f"app{i}", i + 1) for i in range(7)]
