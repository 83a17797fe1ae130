"""Several worker processes sharing one SQLite KV file: no increment is lost, no write fails on a lock."""

from __future__ import annotations

import asyncio
import multiprocessing
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from wasm_server.kv import SqliteStore, StoreConfig, StoreManager

PROCESSES = 4
INCREMENTS = 300


def _manager(data_dir: Path) -> StoreManager:
    return StoreManager({s: StoreConfig(s) for s in ("default", "other")}, data_dir)


def _worker(data_dir: str, start: Barrier, n: int, use_returning: bool, wid: int) -> None:
    async def go() -> None:
        start.wait()  # every process opens the (possibly not yet created) file at the same moment
        m = _manager(Path(data_dir))
        store = m.get("default")
        assert isinstance(store, SqliteStore)
        store.use_returning = use_returning
        other = m.get("other")
        for i in range(n):
            await store.incr(b"shared", 1)
            await other.set(b"w%d-%d" % (wid, i), b"x")  # plain writes interleaved with the increments
        await m.close()

    asyncio.run(go())


@pytest.mark.parametrize("use_returning", [True, False], ids=["returning", "transaction"])
async def test_concurrent_increments_from_several_processes_are_never_lost(
    tmp_path: Path, use_returning: bool
) -> None:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(PROCESSES)
    procs = [
        ctx.Process(target=_worker, args=(str(tmp_path), start, INCREMENTS, use_returning, w))
        for w in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    m = _manager(tmp_path)
    assert await m.get("default").get(b"shared") == str(PROCESSES * INCREMENTS).encode()
    assert len(await m.get("other").keys(b"w")) == PROCESSES * INCREMENTS
    await m.close()
