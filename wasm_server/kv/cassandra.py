"""Cassandra KV backend (``type = "cassandra"``): one store shared by every node of every location.

Layout: one table per keyspace, shared by every store::

    CREATE TABLE <keyspace>.kv (store text, bucket int, key blob, value blob,
                                PRIMARY KEY ((store, bucket), key))

``store`` is ``<prefix><label>``; ``bucket`` is crc32(key) mod 16. A store's keys are spread
over 16 partitions (so a big store is not one huge partition on one set of replicas), and
inside a partition the clustering column ``key`` is kept sorted byte-wise by Cassandra
itself, so ``keys(prefix)`` is one paged read (:data:`PAGE_SIZE` rows a page) of the range
``key >= prefix AND key < prefix_end`` in ``bucket IN (0..15)``, sorted as it comes in (one
query, not 16: half the time on a small node; Cassandra reads the 16 partitions at once).

One shared table rather than one per label: a table costs every node memory and a schema
change agreed cluster-wide, which several wasm-server nodes deploying apps at once must not
race on; the table is created once, with an id fixed by the keyspace's name (``WITH ID``),
so concurrent creators on different nodes agree instead of splitting the schema.

Increments are lightweight transactions: read the value, compute it with the same rules as
every backend (kv/base.py ``add_to_counter``: absent = 0, decimal ASCII, anything else or
leaving the i64 range is INVALID and changes nothing), then ``UPDATE … IF value = <old>``
(``INSERT … IF NOT EXISTS`` for an absent key) and, if another writer came first, again with
the value Cassandra returned. Counter columns cannot do this: they live in tables of their
own, cannot be set to a value (``set`` then ``incr`` must continue from what was set), wrap
silently past i64, and a retried increment whose reply was lost counts twice. The cost is
Paxos: about four round trips to a quorum of the local datacenter's replicas, instead of one
(benchmarks/kv_backends.py measures it; docs/operations.md has the figures). Increments of
one key from one process are combined: those arriving while a compare-and-set is in flight
go together in the next one, so a hot counter costs one Paxos round per batch, and Paxos
only arbitrates between processes.

Reads and writes use the store's consistency level (LOCAL_QUORUM by default: a location
answers from its own replicas, and keeps serving when another location is cut off);
increments use LOCAL_SERIAL (SERIAL when the level is a global one). The driver's own I/O
thread does the network work; each call is an ``execute_async`` whose callbacks resolve an
asyncio future through ``call_soon_threadsafe``, so the event loop never blocks, with at most
:data:`MAX_IN_FLIGHT` calls in flight per session and every call bounded by the store's
``timeout``: Cassandra down is error IO for the guest, slow is TIMEOUT, never a stall, and
the driver reconnects by itself (every second) once a node is back.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ErrorCode
from .base import KVError, StoreConfig, add_to_counter, check_delta, check_value, prefix_end, split_host

log = logging.getLogger("wasm_server")

BUCKETS = 16  # part of the on-disk layout: changing it hides every key already written
PAGE_SIZE = 1000
MAX_IN_FLIGHT = 256
IDLE_CLOSE_SECONDS = 10.0  # a session nobody uses any more is closed after this (a reload takes it back)
TABLE = "kv"
#: table ids are unique in a cluster: each keyspace's table gets its own, fixed id
_TABLE_IDS = uuid.UUID("5a1e7a61-0000-4000-8000-00000000c0de")


def table_id(keyspace: str) -> uuid.UUID:
    """The id of ``<keyspace>.kv``: the same on every node, so concurrent creators agree."""
    return uuid.uuid5(_TABLE_IDS, keyspace)

#: Cassandra's result (``ResultSet``), session and prepared statements come from an untyped
#: library; these aliases name what a value is where the type checker cannot.
ResultSet = Any
Session = Any
Prepared = Any


# --- a driver session, usable by any asyncio code ---------------------------------------------


def open_session(hosts: Sequence[str], local_dc: str | None, timeout: float) -> Session:
    """Connect to a Cassandra cluster; the driver's ``Session`` (blocking: call it in a thread).

    ``hosts`` are contact points ``"HOST[:PORT]"``; requests go to the nodes of ``local_dc``
    only (token-aware: to a replica of the key when it can), none of another datacenter;
    ``timeout`` bounds connecting and, by default, each request. The driver retries a lost
    node every second. Close with ``session.cluster.shutdown()``. Used by the KV backend and
    by anything else that keeps state in Cassandra (the cluster registry).
    """
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.connection import DefaultEndPoint
    from cassandra.policies import ConstantReconnectionPolicy, DCAwareRoundRobinPolicy, TokenAwarePolicy
    from cassandra.query import tuple_factory

    points = [DefaultEndPoint(*split_host(h)) for h in hosts]
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_dc)),
        request_timeout=timeout, row_factory=tuple_factory)
    cluster = Cluster(contact_points=points, protocol_version=5, execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                      reconnection_policy=ConstantReconnectionPolicy(1.0, max_attempts=None),
                      connect_timeout=timeout, control_connection_timeout=timeout, idle_heartbeat_interval=10,
                      max_schema_agreement_wait=max(10, int(timeout)))
    try:
        return cluster.connect()
    except BaseException:
        cluster.shutdown()
        raise


async def run(session: Session, statement: Any, params: Sequence[object] = (), *, timeout: float,
              paging_state: bytes | None = None) -> ResultSet:
    """Execute ``statement`` without blocking the event loop; its ``ResultSet`` (one page).

    The driver's errors come through as they are (``cassandra.OperationTimedOut``,
    ``cassandra.Unavailable``, ``NoHostAvailable`` …). Waits ``timeout`` seconds and a
    little more at most, even if the driver never calls back.
    """
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[ResultSet] = loop.create_future()
    response = session.execute_async(statement, params or None, timeout=timeout, paging_state=paging_state)

    def settle(_: object) -> None:
        # the driver's I/O thread (or this one, if it was already done)
        try:
            loop.call_soon_threadsafe(_resolve, waiter, response)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass

    response.add_callbacks(settle, settle)
    async with asyncio.timeout(timeout + 1.0):
        return await waiter


def _resolve(waiter: asyncio.Future[ResultSet], response: Any) -> None:
    if waiter.done():  # the caller was cancelled or timed out
        return
    try:
        result = response.result()  # done: returns at once
    except Exception as exc:
        waiter.set_exception(exc)
    else:
        waiter.set_result(result)


# --- sessions shared by the stores of one cluster and keyspace ---------------------------------


class _Shared:
    """One session, its keyspace's schema and prepared statements, shared by every store using them.

    Connecting happens in a thread on first use (``statements``); a failed attempt is
    retried by the next call, so a store opened while Cassandra was down works once it is up.
    """

    def __init__(self, key: tuple[object, ...], config: StoreConfig) -> None:
        self.key = key
        self.config = config
        self.ready: concurrent.futures.Future[_Statements] | None = None
        self.users = 0
        self.idle_timer: threading.Timer | None = None
        self.limits: dict[int, asyncio.Semaphore] = {}  # per event loop (tests run several)

    def statements(self) -> concurrent.futures.Future[_Statements]:
        with _LOCK:
            if self.ready is None or _failed(self.ready):
                self.ready = _connect_in_thread(self.config)
            return self.ready

    def limit(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        sem = self.limits.get(id(loop))
        if sem is None:
            sem = self.limits[id(loop)] = asyncio.Semaphore(MAX_IN_FLIGHT)
        return sem


@dataclass(frozen=True)
class _Statements:
    session: Session
    get: Prepared
    exists: Prepared
    put: Prepared
    put_if_absent: Prepared
    swap: Prepared
    delete: Prepared
    keys_from: Prepared
    keys_between: Prepared


_SHARED: dict[tuple[object, ...], _Shared] = {}
_LOCK = threading.Lock()


def _session_key(config: StoreConfig) -> tuple[object, ...]:
    return (config.hosts, config.local_dc, config.timeout, config.keyspace, config.replication)


def _acquire(config: StoreConfig) -> _Shared:
    key = _session_key(config)
    with _LOCK:
        shared = _SHARED.get(key)
        if shared is None:
            shared = _SHARED[key] = _Shared(key, config)
        if shared.idle_timer is not None:
            shared.idle_timer.cancel()
            shared.idle_timer = None
        shared.users += 1
        return shared


def _failed(ready: concurrent.futures.Future[_Statements]) -> bool:
    return ready.done() and (ready.cancelled() or ready.exception() is not None)


def _release(shared: _Shared) -> None:
    with _LOCK:
        shared.users -= 1
        if shared.users > 0 or _SHARED.get(shared.key) is not shared:
            return
        # not at once: a reload (or the next test) takes the session back, and connecting costs
        # a few hundred ms of schema reads
        shared.idle_timer = threading.Timer(IDLE_CLOSE_SECONDS, _close_idle, (shared,))
        shared.idle_timer.daemon = True
        shared.idle_timer.start()


def _close_idle(shared: _Shared) -> None:
    with _LOCK:
        if shared.users > 0 or _SHARED.get(shared.key) is not shared:
            return
        del _SHARED[shared.key]
    _shutdown(shared.ready)


def _shutdown(ready: concurrent.futures.Future[_Statements] | None) -> None:
    if ready is None:
        return
    if not ready.done():  # still connecting: close once it has
        ready.add_done_callback(_shutdown)
    elif ready.exception() is None:
        ready.result().session.cluster.shutdown()


def close_all() -> None:
    """Close every shared session now (blocking), used or idle: for tests and process exit."""
    with _LOCK:
        shared = list(_SHARED.values())
        _SHARED.clear()
    for s in shared:
        if s.idle_timer is not None:
            s.idle_timer.cancel()
        try:
            _shutdown(s.ready)
        except Exception as exc:  # closing must not fail a shutdown
            log.debug("closing a Cassandra session: %s", exc)


# Sessions still open when the interpreter exits are closed before the thread pools go: the
# driver's scheduler thread submits to its executor until its cluster is shut down, and
# concurrent.futures refuses new work once interpreter shutdown began ("cannot schedule new
# futures after shutdown", printed from that thread). threading's exit hooks run before
# concurrent.futures' own; plain atexit runs after, too late.
getattr(threading, "_register_atexit", atexit.register)(close_all)


def _connect_in_thread(config: StoreConfig) -> concurrent.futures.Future[_Statements]:
    ready: concurrent.futures.Future[_Statements] = concurrent.futures.Future()
    # running, so it cannot be cancelled: asyncio.wrap_future cancels the future it wraps when
    # its waiter is cancelled (a guest whose client hung up while the session was connecting),
    # and every other store call waiting for the same connection would get CancelledError
    ready.set_running_or_notify_cancel()

    def work() -> None:
        try:
            ready.set_result(_prepare(config))
        except BaseException as exc:
            ready.set_exception(exc)

    threading.Thread(target=work, name=f"cassandra-connect-{config.label}", daemon=True).start()
    return ready


def _prepare(config: StoreConfig) -> _Statements:
    """Connect, create the keyspace and table if absent, prepare the statements (blocking)."""
    session = open_session(config.hosts, config.local_dc, config.timeout)
    try:
        ks = config.keyspace
        session.execute(f"CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = {_replication(config)}")
        session.execute(f"CREATE TABLE IF NOT EXISTS {ks}.{TABLE} (store text, bucket int, key blob, value blob, "
                        f"PRIMARY KEY ((store, bucket), key)) WITH ID = {table_id(ks)}")
        where = "WHERE store = ? AND bucket = ? AND key = ?"
        table = f"{ks}.{TABLE}"
        prepare: Callable[[str], Prepared] = session.prepare
        return _Statements(
            session=session,
            get=prepare(f"SELECT value FROM {table} {where}"),
            exists=prepare(f"SELECT key FROM {table} {where}"),
            put=prepare(f"INSERT INTO {table} (store, bucket, key, value) VALUES (?, ?, ?, ?)"),
            put_if_absent=prepare(f"INSERT INTO {table} (store, bucket, key, value) VALUES (?, ?, ?, ?) IF NOT EXISTS"),
            swap=prepare(f"UPDATE {table} SET value = ? {where} IF value = ?"),
            delete=prepare(f"DELETE FROM {table} {where}"),
            keys_from=prepare(f"SELECT key FROM {table} WHERE store = ? AND bucket IN ? AND key >= ?"),
            keys_between=prepare(f"SELECT key FROM {table} WHERE store = ? AND bucket IN ? AND key >= ? AND key < ?"),
        )
    except BaseException:
        session.cluster.shutdown()
        raise


def _replication(config: StoreConfig) -> str:
    if not config.replication:
        return "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    dcs = ", ".join(f"'{dc}': {n}" for dc, n in config.replication)  # names checked in kv/base.py
    return "{'class': 'NetworkTopologyStrategy', " + dcs + "}"


_ALL_BUCKETS = list(range(BUCKETS))


def bucket_of(key: bytes) -> int:
    """The partition bucket of ``key`` (stable across processes and versions)."""
    return zlib.crc32(key) % BUCKETS


# --- the store ------------------------------------------------------------------------------


class CassandraStore:
    """A :class:`~wasm_server.kv.base.Store` in Cassandra (the DataStax/Apache driver's async API)."""

    eager = False

    def __init__(self, config: StoreConfig) -> None:
        """Start connecting (in a thread); calls wait for it, up to the store's timeout."""
        from cassandra import ConsistencyLevel

        if not config.hosts:
            raise KVError(ErrorCode.IO, f"store '{config.label}' has type cassandra but no hosts")
        self.config = config
        self.name = (config.prefix or "") + config.label
        self.page_size = PAGE_SIZE
        self.consistency = ConsistencyLevel.name_to_value[config.consistency]
        serial = "LOCAL_SERIAL" if config.consistency.startswith("LOCAL_") else "SERIAL"
        self.serial = ConsistencyLevel.name_to_value[serial]
        self._shared = _acquire(config)
        self._queues: dict[bytes, list[tuple[int, asyncio.Future[int]]]] = {}  # increments waiting, per key
        self._drainers: set[asyncio.Task[None]] = set()
        self._closed = False

    async def _statements(self) -> _Statements:
        if self._closed:
            raise KVError(ErrorCode.IO, f"store '{self.config.label}' is closed")
        ready = self._shared.statements()
        try:
            async with asyncio.timeout(self.config.timeout):
                return await asyncio.wrap_future(ready)
        except TimeoutError:
            raise KVError(ErrorCode.TIMEOUT, f"store '{self.config.label}': no answer from Cassandra "
                          f"({', '.join(self.config.hosts)}) within {self.config.timeout:g} s") from None
        except Exception as exc:
            raise self._error("connect", exc) from None

    async def _run(self, what: str, pick: Callable[[_Statements], Prepared], params: Sequence[object], *,
                   serial: bool = False, paging_state: bytes | None = None) -> ResultSet:
        statements = await self._statements()
        bound = pick(statements).bind(params)
        bound.consistency_level = self.consistency
        if serial:
            bound.serial_consistency_level = self.serial
        else:
            bound.fetch_size = self.page_size
        try:
            async with self._shared.limit():
                return await run(statements.session, bound, timeout=self.config.timeout, paging_state=paging_state)
        except Exception as exc:
            raise self._error(what, exc) from None

    def _error(self, what: str, exc: Exception) -> Exception:
        import cassandra
        from cassandra.cluster import NoHostAvailable

        label = self.config.label
        if isinstance(exc, (TimeoutError, cassandra.OperationTimedOut, cassandra.Timeout)):
            # a write may still land (a lightweight transaction too): the guest was not told it did
            return KVError(ErrorCode.TIMEOUT, f"store '{label}': Cassandra did not answer {what} "
                                              f"within {self.config.timeout:g} s")
        if isinstance(exc, cassandra.Unavailable):
            return KVError(ErrorCode.IO, f"store '{label}': too few replicas alive for {what} "
                                         f"at {self.config.consistency}: {exc}")
        if isinstance(exc, NoHostAvailable):
            # one error per node tried: connection refused, or the server's own error
            why = "; ".join(f"{host}: {err}" for host, err in list(exc.errors.items())[:3]) or "no node is up"
            return KVError(ErrorCode.IO, f"store '{label}': no Cassandra node of {', '.join(self.config.hosts)} "
                                         f"could {what}: {why}")
        if isinstance(exc, (cassandra.DriverException, OSError)) or type(exc).__module__.startswith("cassandra"):
            return KVError(ErrorCode.IO, f"store '{label}': Cassandra failed {what}: {exc}")
        return exc  # ours (a KVError) or a bug: as it is

    def _where(self, key: bytes) -> list[object]:
        key = bytes(key)
        return [self.name, bucket_of(key), key]

    async def get(self, key: bytes) -> bytes | None:
        """The value, or None."""
        rows = (await self._run("get", lambda s: s.get, self._where(key))).current_rows
        return bytes(rows[0][0]) if rows else None

    async def set(self, key: bytes, value: bytes) -> None:
        """Store a value once the consistency level's replicas acknowledged it (TOO_LARGE over the limit)."""
        check_value(self.config, value)
        key = bytes(key)
        await self._run("set", lambda s: s.put, [self.name, bucket_of(key), key, bytes(value)])

    async def delete(self, key: bytes) -> None:
        """Remove a key if present."""
        await self._run("delete", lambda s: s.delete, self._where(key))

    async def exists(self, key: bytes) -> bool:
        """Whether the key is present."""
        return bool((await self._run("exists", lambda s: s.exists, self._where(key))).current_rows)

    async def keys(self, prefix: bytes) -> list[bytes]:
        """Keys starting with ``prefix``, ascending: one paged range read over every bucket, merged."""
        prefix = bytes(prefix)
        end = prefix_end(prefix)
        if end is None:
            pick: Callable[[_Statements], Prepared] = lambda s: s.keys_from  # noqa: E731
            params: list[object] = [self.name, _ALL_BUCKETS, prefix]
        else:
            pick = lambda s: s.keys_between  # noqa: E731
            params = [self.name, _ALL_BUCKETS, prefix, end]
        found: list[bytes] = []
        paging_state: bytes | None = None
        while True:
            page = await self._run("keys", pick, params, paging_state=paging_state)
            found.extend(bytes(row[0]) for row in page.current_rows)
            paging_state = page.paging_state
            if paging_state is None:
                # each bucket comes sorted, the buckets one after another: merge them
                return sorted(found)

    async def incr(self, key: bytes, delta: int) -> int:
        """Add ``delta`` with a lightweight transaction (compare-and-set, retried on a lost race).

        Increments of one key in this process are combined: while one compare-and-set is in
        flight, the next ones queue, and the following compare-and-set applies all of them,
        each caller getting the value it would have had if they had run one after another
        (one that would leave the i64 range fails alone, as it would have). A hot counter then
        costs one Paxos round per batch instead of one per increment. A caller cancelled
        before its batch is sent is left out.
        """
        check_delta(self.config.label, delta)
        key = bytes(key)
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = []
            task = asyncio.create_task(self._drain(key, queue))
            self._drainers.add(task)  # a reference, until it is done
            task.add_done_callback(self._drainers.discard)
        queue.append((delta, waiter))
        return await waiter

    async def _drain(self, key: bytes, queue: list[tuple[int, asyncio.Future[int]]]) -> None:
        try:
            while queue:
                batch = [(d, w) for d, w in queue if not w.done()]
                queue.clear()
                if not batch:
                    continue
                results: list[int | Exception]
                try:
                    results = list(await self._incr_all(key, [d for d, _ in batch]))
                except Exception as exc:
                    results = [_copy(exc) for _ in batch]
                for (_, waiter), result in zip(batch, results, strict=True):
                    if waiter.done():
                        continue
                    if isinstance(result, Exception):
                        waiter.set_exception(result)
                    else:
                        waiter.set_result(result)
        finally:
            # no await since the last look at the queue: nothing was added after it
            del self._queues[key]
            for _, waiter in queue:
                waiter.cancel()

    async def _incr_all(self, key: bytes, deltas: list[int]) -> list[int | KVError]:
        where = self._where(key)
        rows = (await self._run("incr", lambda s: s.get, where)).current_rows
        raw: bytes | None = bytes(rows[0][0]) if rows else None
        deadline = time.monotonic() + self.config.timeout
        while True:
            results, new = self._apply(key, raw, deltas)
            if new is None:  # every one refused: nothing to write
                return results
            if raw is None:
                result = await self._run("incr", lambda s: s.put_if_absent, [*where, new], serial=True)
            else:
                result = await self._run("incr", lambda s: s.swap, [new, *where, raw], serial=True)
            row = result.current_rows[0]
            if row[0]:  # [applied]
                return results
            # someone else wrote first: Cassandra sent the value it holds now; go again from there
            current = row[list(result.column_names).index("value")] if len(row) > 1 else None
            raw = None if current is None else bytes(current)
            if time.monotonic() > deadline:
                raise KVError(ErrorCode.TIMEOUT, f"store '{self.config.label}': increment of {key[:64]!r} "
                                                 f"kept losing to other writers for {self.config.timeout:g} s")

    def _apply(self, key: bytes, raw: bytes | None, deltas: list[int]) -> tuple[list[int | KVError], bytes | None]:
        """Each delta in turn on ``raw``: its result or error, and the value to write (None: nothing)."""
        results: list[int | KVError] = []
        current, changed = raw, False
        for delta in deltas:
            try:
                value = add_to_counter(self.config.label, key, current, delta)
            except KVError as exc:
                results.append(exc)
                continue
            results.append(value)
            current, changed = b"%d" % value, True
        return results, current if changed else None

    def deferred(self) -> CassandraStore:
        """Itself: every write is acknowledged when its call returns."""
        return self

    def commit_waiter(self, held: asyncio.Future[None] | None = None) -> asyncio.Future[None] | None:
        """Nothing of its own is ever pending: ``held`` as it is."""
        return held

    async def close(self) -> None:
        """Let go of the shared session; the last store using it closes it a little later."""
        if self._closed:
            return
        self._closed = True
        _release(self._shared)


def _copy(exc: Exception) -> Exception:
    """A KVError of its own for each waiter (one exception raised in many tasks collects their tracebacks)."""
    return KVError(exc.code, str(exc)) if isinstance(exc, KVError) else exc
