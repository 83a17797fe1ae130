"""What only the SQLite backend promises: the file layout, pragmas, crash survival and IO errors."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from wasm_server.kv import KVError, StoreConfig, StoreManager

WRITER = """
import asyncio, sys, time
from pathlib import Path
from wasm_server.kv import StoreManager

async def main():
    store = StoreManager.default(Path(sys.argv[1])).get("default")
    for i in range(200):
        await store.set(b"k%d" % i, b"v%d" % i)
        await store.incr(b"count", 1)
    print("written", flush=True)
    time.sleep(60)

asyncio.run(main())
"""


def test_answered_writes_survive_kill_9(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "written\n"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
        proc.stdout.close()  # type: ignore[union-attr]
    assert proc.returncode == -signal.SIGKILL
    wal = tmp_path / "kv.sqlite3-wal"
    assert wal.stat().st_size > 0  # the writes are in the WAL only, not checkpointed into the file
    db = sqlite3.connect(tmp_path / "kv.sqlite3")
    try:
        rows = dict(db.execute("SELECT key, value FROM kv WHERE store = 'default'").fetchall())
    finally:
        db.close()
    assert rows[b"count"] == b"200"
    assert all(rows[b"k%d" % i] == b"v%d" % i for i in range(200))


async def test_file_layout_is_one_table_shared_by_labels(tmp_path: Path) -> None:
    m = StoreManager({s: StoreConfig(s) for s in ("default", "cache")}, tmp_path)
    await m.get("default").set(b"k", b"1")
    await m.get("cache").set(b"k", b"2")
    await m.close()
    db = sqlite3.connect(tmp_path / "kv.sqlite3")
    try:
        rows = db.execute("SELECT store, key, value FROM kv ORDER BY store").fetchall()
        ddl = db.execute("SELECT sql FROM sqlite_master WHERE name = 'kv'").fetchone()[0]
    finally:
        db.close()
    assert rows == [("cache", b"k", b"2"), ("default", b"k", b"1")]
    assert "WITHOUT ROWID" in ddl and "PRIMARY KEY (store, key)" in ddl


def _pragmas(store: object) -> tuple[str, int, int]:
    db: sqlite3.Connection = store.db  # type: ignore[attr-defined]
    return (
        db.execute("PRAGMA journal_mode").fetchone()[0],
        db.execute("PRAGMA synchronous").fetchone()[0],
        db.execute("PRAGMA busy_timeout").fetchone()[0],
    )


async def test_wal_normal_by_default_full_on_request(tmp_path: Path) -> None:
    m = StoreManager(
        {
            "a": StoreConfig("a"),
            "b": StoreConfig("b", path=Path("safe.sqlite3"), synchronous="full"),
            "c": StoreConfig("c", path=Path("safe.sqlite3")),  # shares b's file, so b's stricter setting
        },
        tmp_path,
    )
    assert _pragmas(m.get("a")) == ("wal", 1, 5000)
    assert _pragmas(m.get("b")) == ("wal", 2, 5000)
    assert m.get("c").db is m.get("b").db  # type: ignore[attr-defined]
    assert (tmp_path / "safe.sqlite3").exists()
    await m.close()


async def test_a_file_that_is_not_a_database_is_an_io_error(tmp_path: Path) -> None:
    (tmp_path / "kv.sqlite3").write_bytes(b"this is not SQLite" * 100)
    m = StoreManager.default(tmp_path)
    with pytest.raises(KVError) as info:
        m.get("default")
    assert info.value.code == -5 and str(tmp_path / "kv.sqlite3") in str(info.value)
    await m.close()


async def test_an_unwritable_data_dir_is_an_io_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    m = StoreManager.default(tmp_path / "file" / "sub")  # a data dir under a regular file
    with pytest.raises(KVError) as info:
        m.get("default")
    assert info.value.code == -5
    await m.close()


async def test_a_store_used_after_close_fails_with_io(tmp_path: Path) -> None:
    m = StoreManager.default(tmp_path)
    s = m.get("default")
    await m.close()
    for call in (s.get(b"k"), s.set(b"k", b"v"), s.incr(b"k", 1), s.keys(b""), s.exists(b"k"), s.delete(b"k")):
        with pytest.raises(KVError) as info:
            await call
        assert info.value.code == -5 and "'default'" in str(info.value)


async def test_incr_reads_counters_other_tools_wrote_as_text_or_integer(tmp_path: Path) -> None:
    m = StoreManager.default(tmp_path)
    s = m.get("default")
    db: sqlite3.Connection = s.db  # type: ignore[attr-defined]
    db.execute("INSERT INTO kv VALUES ('default', ?, '41'), ('default', ?, 9)", (b"text", b"int"))
    assert await s.incr(b"text", 1) == 42
    assert await s.incr(b"int", 1) == 10
    assert await s.get(b"text") == b"42"
    await m.close()
