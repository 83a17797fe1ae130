"""One conformance suite for every KV backend."""

from __future__ import annotations

import multiprocessing
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wasm_server.kv import KVError, Store, StoreConfig, StoreManager

BACKENDS = ["sqlite", "memory"]


@pytest.fixture(params=BACKENDS)
async def manager(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreManager]:
    kind = request.param
    m = StoreManager({"a": StoreConfig("a", kind, max_value_size=1000), "b": StoreConfig("b", kind)}, tmp_path)
    yield m
    await m.close()


async def test_get_set_delete_exists(manager: StoreManager) -> None:
    s = manager.get("a")
    assert await s.get(b"k") is None and not await s.exists(b"k")
    await s.set(b"k", b"v1")
    await s.set(b"k", b"v2")
    assert await s.get(b"k") == b"v2" and await s.exists(b"k")
    await s.delete(b"k")
    await s.delete(b"k")  # absent is fine
    assert await s.get(b"k") is None


async def test_binary_safe_keys_and_values(manager: StoreManager) -> None:
    s = manager.get("a")
    key, value = bytes(range(256)), b"\x00\xff" * 100
    await s.set(key, value)
    assert await s.get(key) == value


async def test_keys_by_prefix_edge_cases(manager: StoreManager) -> None:
    s = manager.get("a")
    for k in (b"a", b"a%", b"a_b", b"ab", b"b", b"\xff", b"\xff\xff\x01", b""):
        await s.set(k, b"1")
    assert await s.keys(b"a") == [b"a", b"a%", b"a_b", b"ab"]
    assert await s.keys(b"a%") == [b"a%"]
    assert await s.keys(b"a_") == [b"a_b"]
    assert await s.keys(b"\xff") == [b"\xff", b"\xff\xff\x01"]
    assert await s.keys(b"") == sorted([b"a", b"a%", b"a_b", b"ab", b"b", b"\xff", b"\xff\xff\x01", b""])


async def test_incr(manager: StoreManager) -> None:
    s = manager.get("a")
    assert await s.incr(b"c", 1) == 1
    assert await s.incr(b"c", 41) == 42
    assert await s.incr(b"c", -50) == -8
    assert await s.get(b"c") == b"-8"
    await s.set(b"text", b"hello")
    with pytest.raises(KVError) as info:
        await s.incr(b"text", 1)
    assert info.value.code == -4 and await s.get(b"text") == b"hello"
    await s.set(b"big", str(2**63 - 1).encode())
    with pytest.raises(KVError, match="overflow"):
        await s.incr(b"big", 1)


async def test_value_size_limit(manager: StoreManager) -> None:
    s = manager.get("a")
    with pytest.raises(KVError) as info:
        await s.set(b"k", b"x" * 1001)
    assert info.value.code == -3 and "1001 bytes" in str(info.value) and "'a'" in str(info.value)
    assert await s.get(b"k") is None


async def test_stores_are_isolated(manager: StoreManager) -> None:
    await manager.get("a").set(b"k", b"in a")
    assert await manager.get("b").get(b"k") is None
    assert await manager.get("b").keys(b"") == []


async def test_unknown_store_is_denied(manager: StoreManager) -> None:
    with pytest.raises(KVError) as info:
        manager.get("nope")
    assert info.value.code == -2


async def test_sqlite_persists_across_reopen(tmp_path: Path) -> None:
    m = StoreManager.default(tmp_path)
    await m.get("default").set(b"k", b"v")
    await m.close()
    m2 = StoreManager.default(tmp_path)
    assert await m2.get("default").get(b"k") == b"v"
    await m2.close()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["set", "delete", "incr"]), st.sampled_from([b"a", b"b", b"ab"]),
                          st.integers(-5, 5)), max_size=30))
def test_model_based_against_a_dict(ops: list[tuple[str, bytes, int]]) -> None:
    import asyncio
    import tempfile

    async def run(store: Store) -> dict[bytes, bytes]:
        model: dict[bytes, bytes] = {}
        for op, key, n in ops:
            if op == "set":
                await store.set(key, str(n).encode())
                model[key] = str(n).encode()
            elif op == "delete":
                await store.delete(key)
                model.pop(key, None)
            else:
                got = await store.incr(key, n)
                expected = int(model.get(key, b"0")) + n
                model[key] = str(expected).encode()
                assert got == expected
        assert await store.keys(b"") == sorted(model)
        for k, v in model.items():
            assert await store.get(k) == v
        return model

    with tempfile.TemporaryDirectory() as d:
        m = StoreManager.default(Path(d))
        asyncio.run(run(m.get("default")))
        asyncio.run(m.close())


def _hammer(path: str, n: int) -> None:
    import asyncio

    async def go() -> None:
        m = StoreManager.default(Path(path))
        for _ in range(n):
            await m.get("default").incr(b"shared", 1)
        await m.close()

    asyncio.run(go())


async def test_sqlite_increments_from_several_processes_are_never_lost(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(str(tmp_path), 200)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    m = StoreManager.default(tmp_path)
    assert await m.get("default").get(b"shared") == b"800"
    await m.close()
