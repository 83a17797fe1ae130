"""What only the Cassandra backend has to prove: its config, paging, the schema it creates, Paxos
races between processes, and Cassandra going away or going slow (through a proxy that can cut
or stall the connection to the test run's node, so no second node has to start)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cassandra_node import cassandra_contact
from wasm_server.errors import ConfigError
from wasm_server.kv import KVError, StoreConfig, StoreManager
from wasm_server.kv import cassandra as backend
from wasm_server.kv.base import split_host
from wasm_server.kv.cassandra import BUCKETS, CassandraStore, bucket_of, open_session

# the first test may wait for the run's Cassandra node to start (10-40 s here, longer on a cold,
# loaded CI machine; tests/cassandra_node.py waits up to 240 s): more than pytest's 120 s default
pytestmark = pytest.mark.timeout(300)

KEYSPACE = "kv_backend_tests"
X = "key_value_store.x."


@pytest.fixture(autouse=True, scope="module")
def _close_sessions() -> Iterator[None]:
    # sessions left reconnecting to a proxy that is gone: closed while the interpreter is whole
    yield
    backend.close_all()


def config(label: str = "s", **kw: Any) -> StoreConfig:
    kw.setdefault("hosts", (cassandra_contact(),))
    kw.setdefault("prefix", f"t{uuid.uuid4().hex}:")
    kw.setdefault("keyspace", KEYSPACE)
    kw.setdefault("timeout", 10.0)
    return StoreConfig(label, "cassandra", **kw)


@contextlib.asynccontextmanager
async def opened(cfg: StoreConfig) -> AsyncIterator[CassandraStore]:
    s = CassandraStore(cfg)
    try:
        yield s
    finally:
        await s.close()


# --- config ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"type": "cassandra"}, f'{X}hosts: a cassandra store needs hosts = ["HOST:PORT", ...] (its contact points); '
                                "none given"),
        ({"type": "cassandra", "hosts": "127.0.0.1"}, f'{X}hosts: must be a list of "HOST:PORT" strings, got str'),
        ({"type": "cassandra", "hosts": [9042]}, f'{X}hosts: must be a list of "HOST:PORT" strings'),
        ({"type": "cassandra", "hosts": ["h:port"]},
         f'{X}hosts: a contact point is "HOST" or "HOST:PORT" (IPv6: "[ADDR]:PORT"), got \'h:port\''),
        ({"type": "cassandra", "hosts": ["h:70000"]},
         f'{X}hosts: a contact point is "HOST" or "HOST:PORT" (IPv6: "[ADDR]:PORT"), got \'h:70000\''),
        ({"type": "cassandra", "hosts": ["h"], "keyspace": "my-app"},
         f"{X}keyspace: 'my-app' is not a keyspace name (a letter, then letters, digits or _; 48 at most)"),
        ({"type": "cassandra", "hosts": ["h"], "consistency": "local_quorum"},
         f"{X}consistency: unknown level 'local_quorum' (choose ONE, TWO, THREE, QUORUM, ALL, LOCAL_ONE, "
         "LOCAL_QUORUM, EACH_QUORUM)"),
        ({"type": "cassandra", "hosts": ["h"], "replication": 3},
         f"{X}replication: must be a table of datacenter = replicas (e.g. {{ dc1 = 3, dc2 = 3 }}), got int"),
        ({"type": "cassandra", "hosts": ["h"], "replication": {"dc1": 0}},
         f"{X}replication: datacenter 'dc1' needs a positive number of replicas, got 0"),
        ({"type": "cassandra", "hosts": ["h"], "replication": {"dc1": "3"}},
         f"{X}replication: datacenter 'dc1' needs a positive number of replicas, got '3'"),
        ({"type": "cassandra", "hosts": ["h"], "replication": {"dc'1": 1}},
         f"{X}replication: 'dc'1' is not a datacenter name (letters, digits, _ . -)"),
        ({"type": "cassandra", "hosts": ["h"], "local_dc": "a b"},
         f"{X}local_dc: 'a b' is not a datacenter name (letters, digits, _ . -)"),
        ({"type": "cassandra", "hosts": ["h"], "max_value_size": 64 * 1024 * 1024},
         f"{X}max_value_size: 67108864 is over what Cassandra takes in one write by default "
         "(16777216: half its commitlog_segment_size)"),
        ({"type": "cassandra", "hosts": ["h"], "url": "redis://h"},
         f'{X}url: applies only to type = "redis" stores (this one is cassandra)'),
        ({"hosts": ["h"]}, f'{X}hosts: applies only to type = "cassandra" stores (this one is sqlite)'),
        ({"type": "redis", "url": "redis://h", "consistency": "ONE"},
         f'{X}consistency: applies only to type = "cassandra" stores (this one is redis)'),
    ],
)
def test_config_errors_name_the_field(tmp_path: Path, table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        StoreManager.from_runtime({"x": table}, tmp_path)
    assert str(info.value) == message


def test_a_missing_driver_is_a_config_error_saying_what_to_install(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "cassandra" else real(name, *a))
    with pytest.raises(ConfigError, match=r"pip install 'wasm-server\[cassandra\]'"):
        StoreManager.from_runtime({"x": {"type": "cassandra", "hosts": ["h"]}}, tmp_path)


def test_tables_become_cassandra_configs(tmp_path: Path) -> None:
    mgr = StoreManager.from_runtime({"shared": {
        "type": "cassandra", "hosts": ["10.0.0.1", "10.0.1.1:9142", "[::1]:9043"], "local_dc": "eu-west",
        "keyspace": "app_kv", "replication": {"us_east": 3, "eu-west": 3}, "consistency": "LOCAL_ONE",
        "timeout": 1, "prefix": "app1:"}}, tmp_path)
    cfg = mgr.configs["shared"]
    assert (cfg.type, cfg.hosts, cfg.local_dc, cfg.keyspace, cfg.replication, cfg.consistency, cfg.timeout,
            cfg.prefix) == ("cassandra", ("10.0.0.1", "10.0.1.1:9142", "[::1]:9043"), "eu-west", "app_kv",
                            (("eu-west", 3), ("us_east", 3)), "LOCAL_ONE", 1.0, "app1:")
    assert [split_host(h) for h in cfg.hosts] == [("10.0.0.1", 9042), ("10.0.1.1", 9142), ("::1", 9043)]
    plain = StoreManager.from_runtime({"s": {"type": "cassandra", "hosts": ["h"]}}, tmp_path).configs["s"]
    assert (plain.keyspace, plain.replication, plain.consistency, plain.local_dc, plain.timeout) == \
        ("wasm_server", (), "LOCAL_QUORUM", None, 2.0)


def test_buckets_are_stable_and_spread() -> None:
    assert bucket_of(b"") == 0 and bucket_of(b"counter") == bucket_of(b"counter")
    assert bucket_of(b"a") == 3  # crc32: the same in every process, version and machine
    assert len({bucket_of(b"k%d" % i) for i in range(200)}) == BUCKETS


# --- against the node ---------------------------------------------------------------------------


async def test_keys_pages_across_page_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    pages: list[bytes | None] = []
    real_run = backend.run

    async def counting_run(*args: Any, **kw: Any) -> Any:
        pages.append(kw.get("paging_state"))
        return await real_run(*args, **kw)

    monkeypatch.setattr(backend, "run", counting_run)
    async with opened(config()) as s:
        s.page_size = 7
        keys = [b"k%03d" % i for i in range(60)] + [b"j", b"l"]
        await asyncio.gather(*(s.set(k, b"") for k in keys))
        pages.clear()
        assert await s.keys(b"k") == sorted(keys)[1:-1]
        assert len(pages) >= 60 // 7 and pages[0] is None and all(p is not None for p in pages[1:])
        assert await s.keys(b"k05") == [b"k%03d" % i for i in range(50, 60)]
        assert await s.keys(b"") == sorted(keys)


async def test_a_value_as_big_as_the_limit_allows_round_trips() -> None:
    async with opened(config(max_value_size=3 * 1024 * 1024)) as s:
        big = bytes(range(256)) * (3 * 4096)
        await s.set(b"big", big)
        assert await s.get(b"big") == big
        with pytest.raises(KVError) as info:
            await s.set(b"big", big + b"!")
        assert info.value.code == -3


async def test_keyspace_is_created_with_the_replication_asked_for() -> None:
    keyspace = f"ks_{uuid.uuid4().hex[:12]}"
    async with opened(config(keyspace=keyspace, replication=(("dc1", 1),))) as s:
        await s.set(b"k", b"v")
        session = open_session([cassandra_contact()], "dc1", 10.0)
        try:
            row = session.execute("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = %s",
                                  [keyspace]).one()
            assert row[0] == {"class": "org.apache.cassandra.locator.NetworkTopologyStrategy", "dc1": "1"}
            tables = session.execute("SELECT table_name, id FROM system_schema.tables WHERE keyspace_name = %s",
                                     [keyspace]).all()
            assert tables == [("kv", backend.table_id(keyspace))]  # the fixed id concurrent creators share
            session.execute(f"DROP KEYSPACE {keyspace}")
        finally:
            session.cluster.shutdown()


async def test_increments_racing_from_two_processes_each_count_once() -> None:
    # two stores with one config: each queues its own increments, so they meet only in Paxos,
    # as two wasm-server processes would
    cfg = config()
    async with opened(cfg) as a, opened(cfg) as b:
        await a.set(b"n", b"+7")  # every backend continues a counter written like this
        got = await asyncio.gather(*(s.incr(b"n", 1) for _ in range(40) for s in (a, b)))
        assert sorted(got) == list(range(8, 88))
        assert await b.get(b"n") == b"87"


async def test_stores_of_one_cluster_share_a_session_until_the_last_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend, "IDLE_CLOSE_SECONDS", 0.05)
    cfg = config()
    a, b = CassandraStore(cfg), CassandraStore(cfg)
    assert a._shared is b._shared
    await a.set(b"k", b"1")
    session = a._shared.statements().result().session
    await a.close()
    await a.close()  # a second close does nothing
    assert await b.get(b"k") == b"1"
    await b.close()
    for _ in range(100):
        if session.is_shutdown:
            break
        await asyncio.sleep(0.05)
    assert session.is_shutdown
    async with opened(cfg) as c:
        assert await c.get(b"k") == b"1"  # a fresh session once everyone let go


# --- Cassandra gone or slow ----------------------------------------------------------------------


class Proxy:
    """A TCP proxy to the node that can refuse connections (``cut``) or swallow traffic (``stall``)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = split_host(upstream)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.stalled = False
        self.links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Close the listener and every connection: the node is gone."""
        assert self.server is not None
        self.server.close()
        for w in list(self.links):
            w.transport.abort()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self.links |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if not self.stalled:
                    writer.write(data)
                    await writer.drain()
        finally:
            writer.transport.abort()
            self.links.discard(writer)


@pytest.fixture
async def proxy() -> AsyncIterator[Proxy]:
    p = Proxy(cassandra_contact())
    await p.start()
    yield p
    with contextlib.suppress(Exception):
        await p.cut()


async def eventually_works(s: CassandraStore, key: bytes) -> bytes | None:
    deadline = time.monotonic() + 60
    while True:
        try:
            return await s.get(key)
        except KVError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def test_cassandra_going_away_is_an_io_error_and_it_recovers(proxy: Proxy) -> None:
    async with opened(config(hosts=(f"127.0.0.1:{proxy.port}",), timeout=2.0)) as s:
        assert await s.incr(b"n", 1) == 1
        await proxy.cut()
        started = time.monotonic()
        with pytest.raises(KVError) as info:
            await s.incr(b"n", 1)
        assert info.value.code == -5 and "no Cassandra node of 127.0.0.1" in str(info.value), str(info.value)
        assert time.monotonic() - started < 10  # an error, not a stall
        await proxy.start()  # the node is back, on the same address
        assert await eventually_works(s, b"n") == b"1"  # reconnected; nothing acknowledged was lost
        assert await s.incr(b"n", 1) == 2


async def test_a_store_opened_while_cassandra_is_down_works_once_it_is_up(proxy: Proxy) -> None:
    await proxy.cut()
    async with opened(config(hosts=(f"127.0.0.1:{proxy.port}",), timeout=2.0)) as s:
        with pytest.raises(KVError) as info:
            await s.set(b"k", b"v")
        assert info.value.code == -5 and "could connect" in str(info.value), str(info.value)
        await proxy.start()
        await s.set(b"k", b"v")  # the next call connects again
        assert await s.get(b"k") == b"v"


async def test_a_stalled_cassandra_is_a_timeout_and_the_loop_keeps_running(proxy: Proxy) -> None:
    async with opened(config(hosts=(f"127.0.0.1:{proxy.port}",), timeout=1.0)) as s:
        await s.set(b"k", b"v")
        proxy.stalled = True
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        with pytest.raises(KVError) as info:
            await s.get(b"k")
        ticker.cancel()
        assert info.value.code == -6 and "did not answer get within 1 s" in str(info.value), str(info.value)
        assert ticks > 10  # the event loop served others meanwhile


async def test_a_call_cancelled_while_connecting_leaves_the_others_working() -> None:
    # regression: asyncio.wrap_future cancelled the shared connection future along with the
    # cancelled waiter (a client hanging up during the first request), and every other call
    # waiting for the connection failed with CancelledError (the guest trapped: HTTP 500)
    cfg = config(timeout=9.25)  # a timeout no other test uses: a session of its own, not connected yet
    async with opened(cfg) as s:
        first = asyncio.create_task(s.get(b"k"))
        others = [asyncio.create_task(s.get(b"k")) for _ in range(3)]
        await asyncio.sleep(0)
        first.cancel()
        assert await asyncio.gather(*others) == [None, None, None]
        with pytest.raises(asyncio.CancelledError):
            await first


async def test_concurrent_increments_of_one_key_share_compare_and_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[str] = []
    real = CassandraStore._run

    async def spy(self: CassandraStore, what: str, *args: Any, serial: bool = False, **kw: Any) -> Any:
        if serial:
            writes.append(what)
        return await real(self, what, *args, serial=serial, **kw)

    monkeypatch.setattr(CassandraStore, "_run", spy)
    async with opened(config()) as s:
        got = await asyncio.gather(*(s.incr(b"hot", 1) for _ in range(100)))
        assert sorted(got) == list(range(1, 101))
        assert len(writes) <= 2  # one Paxos round per batch, not per increment
        assert await s.get(b"hot") == b"100"


async def test_a_combined_increment_that_would_overflow_fails_alone() -> None:
    top = 2**63 - 1
    async with opened(config()) as s:
        await s.set(b"n", b"%d" % (top - 2))
        got = await asyncio.gather(s.incr(b"n", 1), s.incr(b"n", 5), s.incr(b"n", 1), return_exceptions=True)
        assert got[0] == top - 1 and got[2] == top  # as if one after another
        assert isinstance(got[1], KVError) and got[1].code == -4
        assert await s.get(b"n") == b"%d" % top
        await s.set(b"bad", b"x")
        refused = await asyncio.gather(s.incr(b"bad", 1), s.incr(b"bad", 2), return_exceptions=True)
        assert all(isinstance(r, KVError) and r.code == -4 for r in refused)
        assert refused[0] is not refused[1]  # each caller its own error
        assert await s.get(b"bad") == b"x"


async def test_an_increment_cancelled_before_it_is_sent_is_left_out() -> None:
    async with opened(config()) as s:
        kept = asyncio.create_task(s.incr(b"n", 1))
        dropped = asyncio.create_task(s.incr(b"n", 10))
        await asyncio.sleep(0)  # both queued, nothing sent yet
        dropped.cancel()
        assert await kept == 1
        assert dropped.cancelled()
        assert await s.get(b"n") == b"1"
