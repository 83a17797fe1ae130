"""The registry in Cassandra (``[cluster] cassandra_hosts``, ``local_dc``): several locations.

Each location's nodes talk only to their own datacenter (the driver's DC-aware policy
with ``local_dc``, LOCAL_QUORUM reads and writes), so a deploy and the once-a-second poll
never wait on the other location, and a location cut off from the others keeps deploying.
Cassandra replicates each write to the other datacenters in the background.

Two tables in one keyspace:

- ``apps (name PRIMARY KEY, version, record)``: each write carries ``USING TIMESTAMP
  <version>``, so on every replica the cell with the highest version wins, whatever order
  the writes arrive in. A version is ``max(now in µs, stored version + 1)`` (read locally
  first), so a redeploy after another always wins. Two locations that deploy the same
  app while cut off from each other each run their own version until the cut heals; then
  the higher version (the later deploy by the clock, within the clocks' skew) is what
  every node of every location runs. An undeploy is a record too (``deleted``), not a
  Cassandra delete, so it is ordered the same way.
- ``blobs (digest, chunk, chunks, data)``: every file once, by sha256, in 1 MiB chunks
  (Cassandra refuses very large cells). A record can reach a datacenter before the
  chunks of its files do; the follower then finds a blob missing or not matching its
  digest and tries again at the next poll (cluster.py).

Tables are created with a fixed ``id`` derived from their name, so two locations that
create the schema at once create the same table instead of two that disagree.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..config import CassandraRegistryConfig
from .base import ClusterError, Record, RegistryUnavailable

if TYPE_CHECKING:
    from cassandra.cluster import Session

CHUNK = 1024 * 1024
#: rows a page (records() reads every page)
PAGE_ROWS = 1000
#: seconds a statement may take before the registry counts as unavailable
TIMEOUT = 5.0
#: a row as the driver gives it (kv/cassandra.open_session makes rows plain tuples)
Row = tuple[object, ...]


def _table_id(keyspace: str, table: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"wasm-server:{keyspace}.{table}"))


class CassandraRegistry:
    """A :class:`~wasm_server.appregistry.base.Registry` in Cassandra (the Python driver,
    through the session helpers the Cassandra KV backend uses: kv/cassandra.py)."""

    kind = "Cassandra"

    def __init__(self, config: CassandraRegistryConfig) -> None:
        self.config = config
        self._session: Session | None = None
        self._opening = asyncio.Lock()

    def describe(self) -> str:
        """Contact points, datacenter and keyspace."""
        return f"cassandra {','.join(self.config.hosts)} (dc {self.config.local_dc}, keyspace {self.config.keyspace})"

    async def open(self) -> None:
        """Connect to the local datacenter and create the keyspace (if replication is given)
        and the tables; the driver call blocks, so it runs in a thread."""
        async with self._opening:
            if self._session is None:
                self._session = await asyncio.to_thread(self._connect)

    def _connect(self) -> Session:
        from ..kv.cassandra import open_session

        try:
            session = open_session(self.config.hosts, self.config.local_dc, TIMEOUT)
        except Exception as exc:
            raise _unavailable(exc) from None
        try:
            self._schema(session)
        except Exception as exc:
            session.cluster.shutdown()
            raise _unavailable(exc) from None
        return session

    def _schema(self, session: Session) -> None:
        ks = self.config.keyspace
        if self.config.replication:
            dcs = ", ".join(f"'{dc}': {n}" for dc, n in self.config.replication)
            session.execute(f"CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = "
                            f"{{'class': 'NetworkTopologyStrategy', {dcs}}}")
        elif ks not in session.cluster.metadata.keyspaces:
            raise ClusterError(f"the Cassandra keyspace {ks!r} does not exist: create it, or set "
                               f"[cluster] replication = {{ {self.config.local_dc} = 3, ... }} to have it created")
        session.execute(f"CREATE TABLE IF NOT EXISTS {ks}.apps (name text PRIMARY KEY, version bigint, "
                        f"record text) WITH id = {_table_id(ks, 'apps')}")
        session.execute(f"CREATE TABLE IF NOT EXISTS {ks}.blobs (digest text, chunk int, chunks int static, "
                        f"data blob, PRIMARY KEY (digest, chunk)) WITH id = {_table_id(ks, 'blobs')}")

    async def _run(self, query: str, params: Sequence[object] = (), *, every_page: bool = False) -> list[Row]:
        """One statement through the driver's async API, awaited on this loop: its first page
        of rows, or with ``every_page`` all of them (a page at a time, never blocking)."""
        from cassandra.query import SimpleStatement

        from ..kv.cassandra import run

        if self._session is None:
            await self.open()
        assert self._session is not None
        statement = SimpleStatement(query, fetch_size=PAGE_ROWS)
        rows: list[Row] = []
        paging_state: bytes | None = None
        while True:
            try:
                result = await run(self._session, statement, params, timeout=TIMEOUT, paging_state=paging_state)
            except Exception as exc:
                raise _unavailable(exc) from None
            rows += [tuple(row) for row in result.current_rows]
            paging_state = result.paging_state
            if not every_page or not paging_state:
                return rows

    async def new_version(self, name: str) -> int:
        """``max(now in µs, stored + 1)``: later by the clock, and always above what is stored."""
        rows = await self._run(f"SELECT version FROM {self.config.keyspace}.apps WHERE name = %s", (name,))
        stored = _int(rows[0][0]) if rows and rows[0][0] is not None else 0
        return max(int(time.time() * 1_000_000), stored + 1)

    async def put_blob(self, digest: str, data: bytes) -> None:
        """Every chunk, each with the chunk count (the reader knows when it has them all).
        One at a time: megabyte statements in parallel overload a driver connection."""
        chunks = max(1, -(-len(data) // CHUNK))
        for i in range(chunks):
            await self._run(f"INSERT INTO {self.config.keyspace}.blobs (digest, chunk, chunks, data) "
                            "VALUES (%s, %s, %s, %s)", (digest, i, chunks, data[i * CHUNK:(i + 1) * CHUNK]))

    async def get_blob(self, digest: str) -> bytes | None:
        """The chunks in order; None when any is missing here (not replicated yet)."""
        ks = self.config.keyspace
        first = await self._run(f"SELECT chunks, data FROM {ks}.blobs WHERE digest = %s AND chunk = 0", (digest,))
        if not first or first[0][0] is None:
            return None
        parts = [_bytes(first[0][1])]
        for i in range(1, _int(first[0][0])):
            rows = await self._run(f"SELECT data FROM {ks}.blobs WHERE digest = %s AND chunk = %s", (digest, i))
            if not rows:
                return None
            parts.append(_bytes(rows[0][0]))
        return b"".join(parts)

    async def put_record(self, record: Record) -> None:
        """``USING TIMESTAMP version``: a lower version never overwrites a higher one."""
        await self._run(f"INSERT INTO {self.config.keyspace}.apps (name, version, record) VALUES (%s, %s, %s) "
                        f"USING TIMESTAMP {int(record.version)}", (record.name, record.version, record.to_json()))

    async def records(self) -> list[Record]:
        """Every app's record (one row per app, read page by page)."""
        rows = await self._run(f"SELECT record FROM {self.config.keyspace}.apps", every_page=True)
        return [Record.from_json(str(row[0])) for row in rows if row[0] is not None]

    async def follow(self, wake: Callable[[], None]) -> None:
        """No notifications: followers poll every second."""

    async def close(self) -> None:
        """Shut the driver down (its threads too)."""
        session, self._session = self._session, None
        if session is not None:
            await asyncio.to_thread(session.cluster.shutdown)


def _int(value: object) -> int:
    if not isinstance(value, int):
        raise ClusterError(f"the registry holds {value!r} where a number belongs")
    return value


def _bytes(value: object) -> bytes:
    if value is None:  # an empty blob may come back as null
        return b""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise ClusterError(f"the registry holds a {type(value).__name__} where file bytes belong")
    return bytes(value)


def _unavailable(exc: BaseException) -> ClusterError:
    if isinstance(exc, ClusterError):
        return exc
    return RegistryUnavailable(f"the cluster registry (Cassandra) is unavailable: {type(exc).__name__}: {exc}")
