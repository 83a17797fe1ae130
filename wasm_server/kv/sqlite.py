"""The default KV backend: one SQLite file in the data directory.

Durability: WAL mode with ``synchronous=FULL``, each write its own
transaction, committed before the host call returns. ``NORMAL`` would
survive ``kill -9`` of the process (committed WAL frames are in the OS page
cache) but not a power loss; ``FULL`` syncs the WAL on every commit, which
is what "a write answered 200 is never lost" promises. Calls run inline on
the event-loop thread: a local SQLite call takes microseconds, far less
than a thread-pool round trip.

Several worker processes may share the file: ``busy_timeout`` makes a
writer wait for the lock instead of failing, and increments are a single
``INSERT … ON CONFLICT … RETURNING`` statement inside ``BEGIN IMMEDIATE``,
so no update is lost between processes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .base import IO, KVError, StoreConfig, check_i64, check_value, parse_counter, prefix_end

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    store TEXT NOT NULL,
    key   BLOB NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (store, key)
) WITHOUT ROWID
"""


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating) the KV file with the pragmas described above."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout = 10000")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute(SCHEMA)
    return db


class SqliteStore:
    """One labelled store inside the shared SQLite file."""

    eager = True

    def __init__(self, config: StoreConfig, db: sqlite3.Connection) -> None:
        self.config = config
        self.label = config.label
        self.db = db

    def _fail(self, exc: sqlite3.Error) -> KVError:
        return KVError(IO, f"store '{self.label}': {exc}")

    async def get(self, key: bytes) -> bytes | None:
        """The value, or None."""
        try:
            row = self.db.execute("SELECT value FROM kv WHERE store = ? AND key = ?", (self.label, key)).fetchone()
        except sqlite3.Error as exc:
            raise self._fail(exc) from None
        return None if row is None else bytes(row[0])

    async def set(self, key: bytes, value: bytes) -> None:
        """Store a value (committed on return)."""
        check_value(self.config, value)
        try:
            self.db.execute(
                "INSERT INTO kv (store, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                (self.label, key, value),
            )
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    async def delete(self, key: bytes) -> None:
        """Remove a key."""
        try:
            self.db.execute("DELETE FROM kv WHERE store = ? AND key = ?", (self.label, key))
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    async def exists(self, key: bytes) -> bool:
        """Whether the key is present."""
        return await self.get(key) is not None

    async def keys(self, prefix: bytes) -> list[bytes]:
        """Keys with ``prefix``, ascending: a range scan on the primary key, no LIKE."""
        end = prefix_end(prefix)
        try:
            if end is None:
                rows = self.db.execute(
                    "SELECT key FROM kv WHERE store = ? AND key >= ? ORDER BY key", (self.label, prefix)
                ).fetchall()
            else:
                rows = self.db.execute(
                    "SELECT key FROM kv WHERE store = ? AND key >= ? AND key < ? ORDER BY key",
                    (self.label, prefix, end),
                ).fetchall()
        except sqlite3.Error as exc:
            raise self._fail(exc) from None
        return [bytes(r[0]) for r in rows]

    async def incr(self, key: bytes, delta: int) -> int:
        """Add ``delta`` to a counter atomically, across processes too."""
        db = self.db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT value FROM kv WHERE store = ? AND key = ?", (self.label, key)).fetchone()
                old = parse_counter(self.label, key, None if row is None else bytes(row[0]))
                value = check_i64(self.label, old + delta)
                db.execute(
                    "INSERT INTO kv (store, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                    (self.label, key, str(value).encode()),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._fail(exc) from None
        return value

    async def close(self) -> None:
        """The connection is shared; the manager closes it."""
