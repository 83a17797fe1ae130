"""One conformance suite, run against every KV backend.

``sqlite-pre-3.35`` is the SQLite backend with its fallback increment (an
explicit transaction instead of ``RETURNING``), the path taken on old SQLite.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Coroutine
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.cassandra_node import cassandra_contact
from tests.kv.redis_server import redis_url
from wasm_server.kv import KVError, SqliteStore, Store, StoreConfig, StoreManager

VARIANTS = ["memory", "sqlite", "sqlite-pre-3.35", "redis",
            # may wait for the run's Cassandra node to start (tests/cassandra_node.py waits up to 240 s)
            pytest.param("cassandra", marks=pytest.mark.timeout(300))]
I64_MAX = 2**63 - 1
I64_MIN = -(2**63)
SMALL_LIMIT = 1000
T = TypeVar("T")


class Stores:
    """A StoreManager with stores ``a`` (value limit 1000) and ``b`` (default limit) of one variant."""

    def __init__(self, variant: str, data_dir: Path) -> None:
        self.variant = variant
        self.kind: Literal["memory", "sqlite", "redis", "cassandra"] = (
            variant if variant in ("memory", "redis", "cassandra") else "sqlite")  # type: ignore[assignment]
        self.data_dir = data_dir
        # every Stores gets its own key prefix, so tests sharing one Redis (or Cassandra) never meet
        prefix = f"test:{uuid.uuid4().hex}:"
        self.remote: dict[str, Any] = (
            {"url": redis_url(), "prefix": prefix} if self.kind == "redis"
            else {"hosts": (cassandra_contact(),), "prefix": prefix, "keyspace": "kv_conformance", "timeout": 10.0}
            if self.kind == "cassandra" else {})
        self.manager = self._manager()

    def _manager(self) -> StoreManager:
        a = StoreConfig("a", self.kind, max_value_size=SMALL_LIMIT, **self.remote)
        b = StoreConfig("b", self.kind, **self.remote)
        return StoreManager({"a": a, "b": b}, self.data_dir)

    def __call__(self, label: str) -> Store:
        store = self.manager.get(label)
        if self.variant == "sqlite-pre-3.35":
            cast(SqliteStore, store).use_returning = False
        return store

    async def reopen(self) -> None:
        """Close everything and start a fresh manager on the same data directory."""
        await self.manager.close()
        self.manager = self._manager()

    async def close(self) -> None:
        await self.manager.close()


@pytest.fixture(params=VARIANTS)
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    s = Stores(request.param, tmp_path)
    yield s
    await s.close()


async def expect_error(code: int, call: Awaitable[object]) -> KVError:
    with pytest.raises(KVError) as info:
        await call
    assert info.value.code == code, str(info.value)
    return info.value


# --- get / set / delete / exists ---------------------------------------------------------------


async def test_get_set_overwrite_delete_exists(stores: Stores) -> None:
    s = stores("a")
    assert await s.get(b"k") is None
    assert await s.exists(b"k") is False
    await s.set(b"k", b"v1")
    await s.set(b"k", b"v2")
    assert await s.get(b"k") == b"v2"
    assert await s.exists(b"k") is True
    await s.delete(b"k")
    assert await s.get(b"k") is None
    assert await s.exists(b"k") is False
    await s.delete(b"k")  # deleting an absent key is not an error
    await s.delete(b"never-there")


async def test_empty_value_is_present_not_absent(stores: Stores) -> None:
    s = stores("a")
    await s.set(b"k", b"")
    assert await s.get(b"k") == b""
    assert await s.exists(b"k") is True
    assert await s.keys(b"") == [b"k"]


async def test_keys_and_values_are_binary_safe(stores: Stores) -> None:
    s = stores("a")
    every_byte = bytes(range(256))
    cases = {
        every_byte: every_byte,
        b"\x00": b"\x00\x00",
        b"a": b"plain",
        b"a\x00": b"nul after a",  # distinct from b"a": no C-string truncation
        b"\xff\xfe\x80": "é".encode("latin-1"),  # not UTF-8
        b"": b"the empty key",
    }
    for k, v in cases.items():
        await s.set(k, v)
    for k, v in cases.items():
        assert await s.get(k) == v, k
    assert await s.keys(b"") == sorted(cases)


async def test_set_accepts_bytes_like_values_without_aliasing(stores: Stores) -> None:
    s = stores("a")
    buf = bytearray(b"abc")
    await s.set(b"k", buf)  # type: ignore[arg-type]  # guests' memory reads may hand over bytearrays
    buf[0] = ord("X")
    assert await s.get(b"k") == b"abc"


# --- keys(prefix) -------------------------------------------------------------------------------


KEYS = [b"", b"A", b"a", b"a%", b"a%b", b"a_b", b"ab", b"a\x00", b"a\xff", b"a\xff\xff", b"b", b"\x80",
        b"\xff", b"\xff\xff", b"\xff\xff\x01", b"%", b"_"]


async def fill(s: Store) -> None:
    for k in KEYS:
        await s.set(k, b"1")


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        (b"", sorted(KEYS)),
        (b"a", [b"a", b"a\x00", b"a%", b"a%b", b"a_b", b"ab", b"a\xff", b"a\xff\xff"]),
        (b"a%", [b"a%", b"a%b"]),  # % is a literal, not LIKE's "anything"
        (b"a_", [b"a_b"]),  # _ is a literal, not LIKE's "one character"
        (b"%", [b"%"]),
        (b"_", [b"_"]),
        (b"a\xff", [b"a\xff", b"a\xff\xff"]),  # upper bound carries into b"b"
        (b"\xff", [b"\xff", b"\xff\xff", b"\xff\xff\x01"]),  # no upper bound at all
        (b"\xff\xff", [b"\xff\xff", b"\xff\xff\x01"]),
        (b"A", [b"A"]),  # case-sensitive
        (b"ab", [b"ab"]),
        (b"abc", []),
        (b"c", []),
    ],
)
async def test_keys_by_prefix(stores: Stores, prefix: bytes, expected: list[bytes]) -> None:
    s = stores("a")
    await fill(s)
    assert await s.keys(prefix) == expected


async def test_keys_sort_bytewise(stores: Stores) -> None:
    s = stores("a")
    await fill(s)
    got = await s.keys(b"")
    assert got == sorted(KEYS)
    assert got.index(b"A") < got.index(b"a") < got.index(b"\x80") < got.index(b"\xff")


async def test_keys_of_an_empty_store(stores: Stores) -> None:
    assert await stores("a").keys(b"") == []
    assert await stores("a").keys(b"x") == []


# --- incr -----------------------------------------------------------------------------------


async def test_incr_absent_existing_negative(stores: Stores) -> None:
    s = stores("a")
    assert await s.incr(b"c", 1) == 1
    assert await s.incr(b"c", 41) == 42
    assert await s.get(b"c") == b"42"  # decimal ASCII, readable with get
    assert await s.incr(b"c", -50) == -8
    assert await s.get(b"c") == b"-8"
    assert await s.incr(b"c", 0) == -8
    assert await s.incr(b"fresh", -3) == -3


async def test_incr_continues_a_counter_written_with_set(stores: Stores) -> None:
    s = stores("a")
    await s.set(b"c", b"100")
    assert await s.incr(b"c", 5) == 105
    await s.set(b"neg", b"-7")
    assert await s.incr(b"neg", 10) == 3


@pytest.mark.parametrize(
    "bad",
    [b"hello", b"", b" 42", b"42 ", b"4_2", b"1.5", b"1e3", b"0x10", b"12abc", b"--1", b"\xd9\xa3", b"\x00"],
)
async def test_incr_of_a_non_integer_is_invalid_and_changes_nothing(stores: Stores, bad: bytes) -> None:
    s = stores("a")
    await s.set(b"c", bad)
    err = await expect_error(-4, s.incr(b"c", 1))
    assert "'a'" in str(err) and "not a decimal integer" in str(err)
    assert await s.get(b"c") == bad


async def test_incr_at_the_signed_64_bit_limits(stores: Stores) -> None:
    s = stores("b")
    assert await s.incr(b"max", I64_MAX) == I64_MAX
    await expect_error(-4, s.incr(b"max", 1))
    assert await s.get(b"max") == str(I64_MAX).encode()
    assert await s.incr(b"min", I64_MIN) == I64_MIN
    await expect_error(-4, s.incr(b"min", -1))
    assert await s.incr(b"min", I64_MAX) == -1
    await expect_error(-4, s.incr(b"x", I64_MAX + 1))  # delta outside i64
    await expect_error(-4, s.incr(b"x", I64_MIN - 1))
    assert await s.exists(b"x") is False


async def test_incr_of_huge_numbers_is_invalid_not_a_crash(stores: Stores) -> None:
    s = stores("b")
    await s.set(b"c", b"9" * 25)
    await expect_error(-4, s.incr(b"c", 0))
    await s.set(b"c", b"-" + b"9" * 25)
    await expect_error(-4, s.incr(b"c", I64_MAX))  # a naive "clamp then add" would land in range
    await s.set(b"c", b"1" * 5000)  # more digits than int() parses by default
    await expect_error(-4, s.incr(b"c", 1))
    assert await s.get(b"c") == b"1" * 5000


async def test_concurrent_increments_in_one_process(stores: Stores) -> None:
    s = stores("a")
    results = await asyncio.gather(*(s.incr(b"c", 1) for _ in range(200)))
    assert sorted(results) == list(range(1, 201))
    assert await s.get(b"c") == b"200"


# --- limits and isolation --------------------------------------------------------------------


async def test_value_size_limit(stores: Stores) -> None:
    s = stores("a")
    await s.set(b"k", b"x" * SMALL_LIMIT)  # exactly the limit is fine
    err = await expect_error(-3, s.set(b"k", b"y" * (SMALL_LIMIT + 1)))
    assert str(err) == "value is 1001 bytes; the limit of store 'a' is 1000"
    assert await s.get(b"k") == b"x" * SMALL_LIMIT  # the old value is untouched


async def test_default_value_limit_is_one_mebibyte(stores: Stores) -> None:
    s = stores("b")
    await s.set(b"k", b"x" * 1048576)
    assert await s.get(b"k") == b"x" * 1048576
    err = await expect_error(-3, s.set(b"big", b"x" * 2_000_000))
    assert str(err) == "value is 2000000 bytes; the limit of store 'b' is 1048576"
    assert await s.exists(b"big") is False


async def test_stores_are_isolated(stores: Stores) -> None:
    a, b = stores("a"), stores("b")
    await a.set(b"k", b"in a")
    await b.set(b"k", b"in b")
    await a.set(b"only-a", b"1")
    await a.incr(b"n", 5)
    assert await a.get(b"k") == b"in a"
    assert await b.get(b"k") == b"in b"
    assert await b.exists(b"only-a") is False
    assert await b.keys(b"") == [b"k"]
    assert await b.incr(b"n", 1) == 1
    await a.delete(b"k")
    assert await b.get(b"k") == b"in b"


async def test_persistence_across_close_and_reopen(stores: Stores) -> None:
    await stores("a").set(b"k", b"v")
    await stores("b").incr(b"n", 7)
    await stores.reopen()
    if stores.kind == "memory":  # in-process: gone with the process (documented)
        assert await stores("a").get(b"k") is None
        return
    assert await stores("a").get(b"k") == b"v"
    assert await stores("b").incr(b"n", 1) == 8
    assert await stores("a").keys(b"") == [b"k"]


# --- model-based: every backend against a dict ----------------------------------------------------

_K = st.lists(st.sampled_from([b"a", b"b", b"%", b"_", b"\x00", b"\xff"]), max_size=3).map(b"".join)
_V = st.one_of(st.binary(max_size=6), st.integers(-1000, 1000).map(lambda n: b"%d" % n))
_DELTA = st.one_of(st.integers(-5, 5), st.sampled_from([I64_MAX, I64_MIN, I64_MAX // 2]))
_COUNTER = re.compile(rb"[+-]?[0-9]+")


class KVMachine(RuleBasedStateMachine):
    """Random operations on store ``a``, checked against a plain dict after every step."""

    variant = "memory"  # set per test by a subclass

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.loop = asyncio.new_event_loop()
        self.stores = Stores(self.variant, Path(self.tmp.name))
        self.model: dict[bytes, bytes] = {}

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    @rule(key=_K, value=_V)
    def set(self, key: bytes, value: bytes) -> None:
        self.run(self.stores("a").set(key, value))
        self.model[key] = value

    @rule(key=_K)
    def delete(self, key: bytes) -> None:
        self.run(self.stores("a").delete(key))
        self.model.pop(key, None)

    @rule(key=_K, delta=_DELTA)
    def incr(self, key: bytes, delta: int) -> None:
        old = self.model.get(key, b"0")
        expected = int(old) + delta if _COUNTER.fullmatch(old) else None
        if expected is None or not I64_MIN <= expected <= I64_MAX:
            with pytest.raises(KVError) as info:
                self.run(self.stores("a").incr(key, delta))
            assert info.value.code == -4
            return
        assert self.run(self.stores("a").incr(key, delta)) == expected
        self.model[key] = b"%d" % expected

    @rule(key=_K)
    def get(self, key: bytes) -> None:
        assert self.run(self.stores("a").get(key)) == self.model.get(key)
        assert self.run(self.stores("a").exists(key)) == (key in self.model)

    @rule(prefix=_K)
    def keys(self, prefix: bytes) -> None:
        assert self.run(self.stores("a").keys(prefix)) == sorted(k for k in self.model if k.startswith(prefix))

    @rule()
    def reopen(self) -> None:
        self.run(self.stores.reopen())
        if self.stores.kind == "memory":
            self.model.clear()

    @invariant()
    def other_store_untouched(self) -> None:
        assert self.run(self.stores("b").keys(b"")) == []

    def teardown(self) -> None:
        self.run(self.stores.close())
        self.loop.close()
        self.tmp.cleanup()


@pytest.mark.parametrize("variant", VARIANTS)
def test_model_based_against_a_dict(variant: str) -> None:
    machine = type(f"KVMachine[{variant}]", (KVMachine,), {"variant": variant})
    run_state_machine_as_test(machine, settings=settings(max_examples=60, stateful_step_count=30, deadline=None))
