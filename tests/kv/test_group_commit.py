"""SQLite group commit: the writes of one event-loop turn share one transaction, answered after its commit.

Commits are counted through ``GroupCommit.commits`` (never timed). A commit
is made to fail for real with a deferred foreign-key violation, which SQLite
only checks at COMMIT.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from wasm_server.kv import KVError, StoreManager
from wasm_server.kv.sqlite import SqliteStore


def _open(tmp_path: Path) -> tuple[StoreManager, SqliteStore]:
    manager = StoreManager.default(tmp_path)
    store = manager.get("default")
    assert isinstance(store, SqliteStore)
    return manager, store


def _other_connection(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "kv.sqlite3", isolation_level=None)


def _arm_failing_commit(store: SqliteStore) -> None:
    """Tables whose deferred constraint the test breaks inside a group: its COMMIT then fails."""
    store.db.execute("PRAGMA foreign_keys = ON")
    store.db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    store.db.execute("CREATE TABLE child (pid INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")


async def test_many_writes_in_one_turn_are_one_commit(tmp_path: Path) -> None:
    manager, store = _open(tmp_path)
    try:
        before = store.file.group.commits
        await asyncio.gather(*(store.set(b"k%d" % i, b"v%d" % i) for i in range(50)),
                             store.incr(b"n", 5), store.incr(b"n", 2), store.delete(b"k0"))
        assert store.file.group.commits == before + 1
        # every write is committed when its call returned: another connection sees all of them
        db = _other_connection(tmp_path)
        try:
            rows = dict(db.execute("SELECT key, value FROM kv WHERE store = 'default'").fetchall())
        finally:
            db.close()
        assert rows[b"n"] == b"7" and b"k0" not in rows
        assert all(rows[b"k%d" % i] == b"v%d" % i for i in range(1, 50))
    finally:
        await manager.close()


async def test_writes_in_separate_turns_commit_separately(tmp_path: Path) -> None:
    manager, store = _open(tmp_path)
    try:
        before = store.file.group.commits
        for i in range(3):
            await store.set(b"k", b"%d" % i)
        assert store.file.group.commits == before + 3
    finally:
        await manager.close()


async def test_concurrent_increments_of_one_group_are_exact(tmp_path: Path) -> None:
    manager, store = _open(tmp_path)
    try:
        results = await asyncio.gather(*(store.incr(b"c", 1) for _ in range(100)))
        assert sorted(results) == list(range(1, 101))
        assert await store.get(b"c") == b"100"
    finally:
        await manager.close()


async def test_a_failing_commit_fails_every_grouped_write_and_keeps_nothing(tmp_path: Path) -> None:
    manager, store = _open(tmp_path)
    try:
        await store.set(b"old", b"1")
        _arm_failing_commit(store)
        writes: list[asyncio.Future[object]] = [asyncio.ensure_future(store.set(b"k%d" % i, b"v")) for i in range(10)]
        writes.append(asyncio.ensure_future(store.incr(b"old", 1)))
        await asyncio.sleep(0)  # the writes run and open the group; its commit is queued behind us
        assert store.file.group.open
        store.db.execute("INSERT INTO child VALUES (1)")  # no parent 1: the COMMIT will fail
        outcomes = await asyncio.gather(*writes, return_exceptions=True)
        assert all(isinstance(o, KVError) and o.code == -5 and "commit failed" in str(o) for o in outcomes), outcomes
        assert not store.db.in_transaction
        assert await store.keys(b"k") == [] and await store.get(b"old") == b"1"
        # the store goes on working after the failed group
        await store.set(b"after", b"ok")
        assert await store.get(b"after") == b"ok"
    finally:
        await manager.close()


async def test_a_read_inside_an_open_group_is_answered_after_the_commit(tmp_path: Path) -> None:
    manager, store = _open(tmp_path)
    try:
        before = store.file.group.commits
        write = asyncio.ensure_future(store.set(b"k", b"new"))
        await asyncio.sleep(0)
        assert store.file.group.open
        # the read runs inside the group's transaction (it sees the write) but answers only once committed
        assert await store.get(b"k") == b"new"
        assert store.file.group.commits == before + 1
        await write
    finally:
        await manager.close()


async def test_a_read_of_data_whose_commit_failed_fails_too(tmp_path: Path) -> None:
    manager, store = _open(tmp_path)
    try:
        _arm_failing_commit(store)
        write = asyncio.ensure_future(store.set(b"k", b"never"))
        await asyncio.sleep(0)
        store.db.execute("INSERT INTO child VALUES (1)")
        with pytest.raises(KVError) as info:
            await store.get(b"k")  # it saw b"never", which was never committed
        assert info.value.code == -5
        with pytest.raises(KVError):
            await write
        assert await store.get(b"k") is None
    finally:
        await manager.close()


async def test_reads_outside_a_group_see_only_committed_data_and_do_not_commit(tmp_path: Path) -> None:
    manager, store = _open(tmp_path)
    try:
        db = _other_connection(tmp_path)
        try:
            db.execute("INSERT INTO kv VALUES ('default', ?, ?)", (b"x", b"from another process"))
        finally:
            db.close()
        before = store.file.group.commits
        assert await store.get(b"x") == b"from another process"
        assert await store.exists(b"x") and await store.keys(b"") == [b"x"]
        assert store.file.group.commits == before and not store.file.group.open
    finally:
        await manager.close()


async def test_the_deferred_view_answers_before_the_commit_and_hands_out_its_waiter(tmp_path: Path) -> None:
    manager, store = _open(tmp_path)
    try:
        view = store.deferred()
        assert view is store.deferred() and view.file is store.file
        assert view.commit_waiter() is None  # nothing pending
        await view.set(b"k", b"v")  # returns inside the open group
        assert store.file.group.open and store.file.group.commits == 0
        waiter = view.commit_waiter()
        assert waiter is not None and not waiter.done()
        await waiter
        assert store.file.group.commits == 1 and not store.file.group.open
    finally:
        await manager.close()


async def test_closing_commits_an_open_group(tmp_path: Path) -> None:
    manager, store = _open(tmp_path)
    await store.deferred().set(b"k", b"v")
    await manager.close()
    db = _other_connection(tmp_path)
    try:
        assert db.execute("SELECT value FROM kv WHERE key = ?", (b"k",)).fetchone() == (b"v",)
    finally:
        db.close()


async def test_one_waiter_per_caller_and_group_and_two_files_are_both_waited_for(tmp_path: Path) -> None:
    from wasm_server.kv import StoreConfig

    manager = StoreManager({"a": StoreConfig("a"), "b": StoreConfig("b", path=Path("b.sqlite3"))}, tmp_path)
    try:
        a, b = manager.get("a").deferred(), manager.get("b").deferred()
        assert isinstance(a, SqliteStore) and isinstance(b, SqliteStore) and a.file is not b.file
        await a.set(b"k", b"1")
        held = a.commit_waiter(None)
        assert held is not None
        await a.set(b"k2", b"2")
        assert a.commit_waiter(held) is held  # same group: no second future
        _arm_failing_commit(b)
        await b.set(b"k", b"1")
        both = b.commit_waiter(held)
        assert both is not None and both is not held
        b.db.execute("INSERT INTO child VALUES (1)")  # file b's commit fails, file a's succeeds
        with pytest.raises(KVError):
            await both
        assert held.done() and held.exception() is None
    finally:
        await manager.close()
