"""The default KV backend: one SQLite file in the data directory, shared by every store and worker.

Durability. The file is in WAL mode and every write is its own transaction,
committed before the call returns. With ``synchronous = NORMAL`` a commit
write()s its WAL frames but does not fsync them. That is enough for the
promise in docs/operations.md — a write the guest was told succeeded
survives a crash of the server process (``kill -9``, OOM kill, a segfault):
the frames are in the OS page cache, which the kernel writes out whether or
not the process lives, and the next opener replays the WAL. Only an OS crash
or power loss can drop the last commits (never corrupt the file). ``FULL``
closes that gap with an fsync per commit, and since calls run on the
event-loop thread, every request in the process would wait for that disk
flush (milliseconds on ordinary disks). So NORMAL is the default and
``synchronous = "full"`` is a per-store opt-in.

Threading. Calls run inline on the event-loop thread: a local SQLite call
takes microseconds, less than handing work to a thread pool and back.

Several processes. Workers open the same file; ``busy_timeout`` makes a
writer wait for the lock instead of failing (writers hold it for
microseconds). An increment is one ``INSERT … ON CONFLICT DO UPDATE …
RETURNING`` statement: a write statement takes the write lock before it
reads the old value, so no increment from another process can slip in
between. The parsing and range check run inside that statement as the SQL
function ``kv_add``.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from ..errors import ErrorCode
from .base import KVError, StoreConfig, add_to_counter, check_delta, check_value, prefix_end

BUSY_TIMEOUT_MS = 5000
HAS_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)
_MIN_VERSION = (3, 24, 0)  # UPSERT

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    store TEXT NOT NULL,
    key   BLOB NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (store, key)
) WITHOUT ROWID
"""

_GET = "SELECT value FROM kv WHERE store = ? AND key = ?"
_EXISTS = "SELECT 1 FROM kv WHERE store = ? AND key = ?"
_SET = (
    "INSERT INTO kv (store, key, value) VALUES (?, ?, ?) "
    "ON CONFLICT (store, key) DO UPDATE SET value = excluded.value"
)
_DELETE = "DELETE FROM kv WHERE store = ? AND key = ?"
# a range scan on the primary key: byte-wise, and no LIKE wildcards to escape
_KEYS_FROM = "SELECT key FROM kv WHERE store = ? AND key >= ? ORDER BY key"
_KEYS_RANGE = "SELECT key FROM kv WHERE store = ? AND key >= ? AND key < ? ORDER BY key"
_INCR = (
    "INSERT INTO kv (store, key, value) VALUES (:s, :k, kv_add(:s, :k, NULL, :d)) "
    "ON CONFLICT (store, key) DO UPDATE SET value = kv_add(:s, :k, kv.value, :d)"
)


def _enable_wal(db: sqlite3.Connection) -> None:
    # Turning a new file to WAL takes an exclusive lock without calling the busy
    # handler, so workers opening a fresh file together can see "database is
    # locked" (seen: 7 of 360 openers, 12 at a time). Retry briefly; this runs
    # once per file and process. Once the file is WAL it stays WAL and this is a no-op.
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


class _Adder:
    """The SQL function ``kv_add(store, key, old, delta)``; keeps the KVError SQLite cannot carry."""

    def __init__(self) -> None:
        self.error: KVError | None = None

    def __call__(self, label: str, key: bytes, old: bytes | str | int | None, delta: int) -> bytes:
        raw = old if old is None or isinstance(old, bytes) else str(old).encode()  # written by other tools
        try:
            return b"%d" % add_to_counter(label, key, raw, delta)
        except KVError as exc:
            self.error = exc
            raise


class SqliteFile:
    """One open SQLite file and its connection; every store in the file uses it."""

    def __init__(self, db: sqlite3.Connection, adder: _Adder) -> None:
        self.db = db
        self.adder = adder

    @classmethod
    def open(cls, path: Path, synchronous: str = "normal") -> SqliteFile:
        """Open (creating) the file with the pragmas explained in the module docstring."""
        if sqlite3.sqlite_version_info < _MIN_VERSION:
            raise KVError(ErrorCode.IO,
                          f"the KV store needs SQLite 3.24 or newer; Python uses {sqlite3.sqlite_version}")
        adder = _Adder()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: autocommit, one statement = one transaction.
            # check_same_thread=False: shutdown may close from another thread; use stays on the loop thread.
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            try:
                db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")  # first: the next lines may wait
                _enable_wal(db)
                db.execute(f"PRAGMA synchronous = {'FULL' if synchronous == 'full' else 'NORMAL'}")
                db.execute(SCHEMA)
                db.create_function("kv_add", 4, adder, deterministic=True)
            except BaseException:
                db.close()
                raise
        except (OSError, sqlite3.Error) as exc:
            raise KVError(ErrorCode.IO, f"cannot open the KV file {path}: {exc}") from None
        return cls(db, adder)

    def close(self) -> None:
        """Close the connection (stores using it stop working)."""
        self.db.close()


class SqliteStore:
    """One labelled store inside a shared :class:`SqliteFile`, told apart by the ``store`` column."""

    eager = True

    def __init__(self, config: StoreConfig, file: SqliteFile, *, use_returning: bool = HAS_RETURNING) -> None:
        self.config = config
        self.label = config.label
        self.file = file
        self.db = file.db
        self.use_returning = use_returning

    def _fail(self, exc: sqlite3.Error) -> KVError:
        return KVError(ErrorCode.IO, f"store '{self.label}': {exc}")

    async def get(self, key: bytes) -> bytes | None:
        """The value, or None."""
        try:
            row = self.db.execute(_GET, (self.label, key)).fetchone()
        except sqlite3.Error as exc:
            raise self._fail(exc) from None
        return None if row is None else bytes(row[0])

    async def set(self, key: bytes, value: bytes) -> None:
        """Store a value; committed (see the module docstring) when this returns."""
        check_value(self.config, value)
        try:
            self.db.execute(_SET, (self.label, key, value))
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    async def delete(self, key: bytes) -> None:
        """Remove a key if present."""
        try:
            self.db.execute(_DELETE, (self.label, key))
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    async def exists(self, key: bytes) -> bool:
        """Whether the key is present (without reading its value)."""
        try:
            return self.db.execute(_EXISTS, (self.label, key)).fetchone() is not None
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    async def keys(self, prefix: bytes) -> list[bytes]:
        """Keys starting with ``prefix``, ascending."""
        end = prefix_end(prefix)
        try:
            if end is None:
                rows = self.db.execute(_KEYS_FROM, (self.label, prefix)).fetchall()
            else:
                rows = self.db.execute(_KEYS_RANGE, (self.label, prefix, end)).fetchall()
        except sqlite3.Error as exc:
            raise self._fail(exc) from None
        return [bytes(r[0]) for r in rows]

    async def incr(self, key: bytes, delta: int) -> int:
        """Add ``delta`` to a counter atomically, across processes too."""
        check_delta(self.label, delta)
        params = {"s": self.label, "k": key, "d": delta}
        self.file.adder.error = None
        try:
            if self.use_returning:
                # fetchall() steps the statement to its end, which commits it and releases the lock
                rows = self.db.execute(_INCR + " RETURNING value", params).fetchall()
            else:
                rows = self._incr_in_transaction(params)
        except sqlite3.Error as exc:
            raise (self.file.adder.error or self._fail(exc)) from None
        return int(rows[0][0])

    def _incr_in_transaction(self, params: dict[str, object]) -> list[tuple[bytes]]:
        # SQLite < 3.35 has no RETURNING: read the new value back inside the same write transaction
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute(_INCR, params)
            rows: list[tuple[bytes]] = self.db.execute(_GET, (params["s"], params["k"])).fetchall()
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:  # some errors end the transaction themselves
                self.db.execute("ROLLBACK")
            raise
        return rows

    async def close(self) -> None:
        """Nothing of its own: the file is shared, and the StoreManager closes it."""
