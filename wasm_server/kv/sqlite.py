"""The default KV backend: one SQLite file in the data directory, shared by every store and worker.

Durability. The file is in WAL mode and a write returns only once the
transaction holding it is committed. With ``synchronous = NORMAL`` a commit
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

Group commit. Writes do not commit one by one: the first write of an
event-loop turn opens a transaction (``BEGIN IMMEDIATE``), every write of
that turn — from any guest — runs inside it at once (so errors such as
INVALID or TOO_LARGE come back as before, and an increment reads and writes
under the write lock: exact across processes), and a callback queued with
``call_soon`` commits it at the start of the next turn. Each write's
coroutine then waits for that commit and returns only when it succeeded; a
failed commit raises IO in every write of the group. One fsync-free commit
(~10-20 µs) is thus shared by all writes of a turn (with redis-benchmark
-P 16, at least the 16 SETs of one pipelined batch). Guests use the
:meth:`SqliteStore.deferred` view instead, which returns before the commit
(capabilities/kv.py and fence.py hold what they tell others until it).
Reads while a group is open run
inside its transaction, see its writes and wait for the same commit, so no
caller is told about data that is not committed; reads outside a group are
plain autocommit reads. :attr:`GroupCommit.commits` counts commits (the seam
tests use). The write lock is held from a turn's first write to its commit.

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

import asyncio
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


class GroupCommit:
    """The open write transaction of one SQLite connection, committed once per event-loop turn.

    :meth:`join` returns a future for the commit of the current group,
    opening the group (``BEGIN IMMEDIATE`` and a ``call_soon`` of
    :meth:`commit`) if none is open. Every caller gets its own future, so
    a caller that is cancelled (a guest past its deadline) does not cancel
    the others.
    """

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.waiters: list[asyncio.Future[None]] = []
        self._ids: set[int] = set()
        self.open = False
        #: transactions committed (tests count them; one per turn that wrote)
        self.commits = 0

    def begin(self) -> None:
        """Make sure the turn's transaction is open (call before a write statement)."""
        if self.open:
            return
        loop = asyncio.get_running_loop()
        self.db.execute("BEGIN IMMEDIATE")  # waits for other processes' writes (busy_timeout)
        self.open = True
        loop.call_soon(self.commit)

    def join(self) -> asyncio.Future[None]:
        """A future done when the open group is committed (IO error if the commit fails)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(fut)
        self._ids.add(id(fut))
        return fut

    def holds(self, fut: asyncio.Future[None]) -> bool:
        """Whether ``fut`` waits for the open group (it is one of its waiters)."""
        return id(fut) in self._ids  # waiters are alive until the commit, so their ids are unique

    def commit(self) -> None:
        """Commit the group and answer its waiters (the ``call_soon`` callback; also on close)."""
        if not self.open:
            return
        self.open = False
        waiters, self.waiters = self.waiters, []
        self._ids.clear()
        error: KVError | None = None
        try:
            self.db.execute("COMMIT")
            self.commits += 1
        except sqlite3.Error as exc:
            error = KVError(ErrorCode.IO, f"commit failed, the writes of this turn are lost: {exc}")
            self._rollback()
        for fut in waiters:
            if fut.done():
                continue  # its caller was cancelled
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(error)

    def lost(self, exc: sqlite3.Error) -> None:
        """A statement error ended the transaction itself (SQLite does for IO errors, a full disk):
        the group's earlier writes are gone, so its waiters fail now."""
        if self.open and not self.db.in_transaction:
            self.open = False
            error = KVError(ErrorCode.IO, f"the transaction was rolled back, the writes of this turn are lost: {exc}")
            waiters, self.waiters = self.waiters, []
            self._ids.clear()
            for fut in waiters:
                if not fut.done():
                    fut.set_exception(error)

    def _rollback(self) -> None:
        if self.db.in_transaction:  # some errors end the transaction themselves
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # nothing more can be done; the next BEGIN reports a lasting problem


def _blob(data: bytes) -> bytearray:
    """``data`` as the parameter of a BLOB column. The stdlib's sqlite3 runs every parameter
    that is not an int, float, str or bytearray through its adapter registry (a lookup keyed
    by a new tuple, then two attribute lookups), bytes included; a bytearray binds as the same
    BLOB without it: measured 7.8 → 5.6 µs CPU per upsert (issue 13, the RESP example's SET)."""
    return bytearray(data)


def _both(first: asyncio.Future[None], second: asyncio.Future[None]) -> asyncio.Future[None]:
    """A future done when both are: the first error (or cancellation) of either, else success."""
    out: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def done(_: asyncio.Future[None]) -> None:
        if out.done():
            return
        for fut in (first, second):
            if fut.done() and (fut.cancelled() or fut.exception() is not None):
                if fut.cancelled():
                    out.cancel()
                else:
                    out.set_exception(fut.exception())  # type: ignore[arg-type]
                return
        if first.done() and second.done():
            out.set_result(None)

    first.add_done_callback(done)
    second.add_done_callback(done)
    return out


class SqliteFile:
    """One open SQLite file and its connection; every store in the file uses it."""

    def __init__(self, db: sqlite3.Connection, adder: _Adder) -> None:
        self.db = db
        self.adder = adder
        self.group = GroupCommit(db)

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
        """Commit an open group, then close the connection (stores using it stop working)."""
        self.group.commit()
        self.db.close()


class SqliteStore:
    """One labelled store inside a shared :class:`SqliteFile`, told apart by the ``store`` column."""

    eager = True

    def __init__(self, config: StoreConfig, file: SqliteFile, *, use_returning: bool = HAS_RETURNING,
                 wait: bool = True) -> None:
        self.config = config
        self.label = config.label
        self.file = file
        self.db = file.db
        self.use_returning = use_returning
        #: False for the :meth:`deferred` view: calls return before the group's commit
        self.wait = wait
        self._deferred = self if not wait else None

    def deferred(self) -> SqliteStore:
        """This store, but calls return as soon as their statement ran, before the group's commit;
        the caller waits for :meth:`commit_waiter` before it tells anyone (capabilities/kv.py)."""
        if self._deferred is None:
            self._deferred = SqliteStore(self.config, self.file, use_returning=self.use_returning, wait=False)
        return self._deferred

    def commit_waiter(self, held: asyncio.Future[None] | None = None) -> asyncio.Future[None] | None:
        """What a caller holding ``held`` must now wait for: ``held`` and, if a group is open,
        its commit (IO error if it fails). One future per caller and group: ``held`` is kept
        when it already waits for this group; two files' groups make a future waiting for both."""
        group = self.file.group
        if not group.open or (held is not None and group.holds(held)):
            return held
        fut = group.join()
        return fut if held is None or held.done() else _both(held, fut)

    def _fail(self, exc: sqlite3.Error) -> KVError:
        return KVError(ErrorCode.IO, f"store '{self.label}': {exc}")

    async def _committed(self) -> None:
        # a statement that ran inside an open group is answered only once the group is committed
        if self.wait and self.file.group.open:
            await self.file.group.join()

    def _write(self, sql: str, params: tuple[object, ...] | dict[str, object]) -> list[tuple[bytes]]:
        """Run a write statement inside the turn's group; its rows (RETURNING)."""
        group = self.file.group
        try:
            group.begin()
            return self.db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            group.lost(exc)
            raise

    async def get(self, key: bytes) -> bytes | None:
        """The value, or None."""
        try:
            row = self.db.execute(_GET, (self.label, _blob(key))).fetchone()
        except sqlite3.Error as exc:
            raise self._fail(exc) from None
        await self._committed()
        return None if row is None else bytes(row[0])

    async def set(self, key: bytes, value: bytes) -> None:
        """Store a value; committed (see the module docstring) when this returns."""
        check_value(self.config, value)
        try:
            self._write(_SET, (self.label, _blob(key), _blob(value)))
        except sqlite3.Error as exc:
            raise self._fail(exc) from None
        await self._committed()

    async def delete(self, key: bytes) -> None:
        """Remove a key if present; committed when this returns."""
        try:
            self._write(_DELETE, (self.label, _blob(key)))
        except sqlite3.Error as exc:
            raise self._fail(exc) from None
        await self._committed()

    async def exists(self, key: bytes) -> bool:
        """Whether the key is present (without reading its value)."""
        try:
            found = self.db.execute(_EXISTS, (self.label, _blob(key))).fetchone() is not None
        except sqlite3.Error as exc:
            raise self._fail(exc) from None
        await self._committed()
        return found

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
        await self._committed()
        return [bytes(r[0]) for r in rows]

    async def incr(self, key: bytes, delta: int) -> int:
        """Add ``delta`` to a counter atomically, across processes too (the group holds the write lock)."""
        check_delta(self.label, delta)
        params = {"s": self.label, "k": key, "d": delta}
        self.file.adder.error = None
        try:
            if self.use_returning:
                rows = self._write(_INCR + " RETURNING value", params)
            else:
                # SQLite < 3.35 has no RETURNING: read the new value back inside the same transaction
                self._write(_INCR, params)
                rows = self.db.execute(_GET, (self.label, key)).fetchall()
        except sqlite3.Error as exc:
            raise (self.file.adder.error or self._fail(exc)) from None
        await self._committed()
        return int(rows[0][0])

    async def close(self) -> None:
        """Nothing of its own: the file is shared, and the StoreManager closes it."""
