"""What only the Redis backend has to prove: SCAN-based keys, namespaces, and Redis going away."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.kv.redis_server import redis_url
from wasm_server.kv import KVError, StoreConfig
from wasm_server.kv.redis import RedisStore, glob_escape


def store(label: str = "s", url: str | None = None, prefix: str | None = None) -> RedisStore:
    return RedisStore(StoreConfig(label, "redis", url=url or redis_url(), prefix=prefix or f"t:{uuid.uuid4().hex}:",
                                  timeout=1.0))


def test_glob_metacharacters_are_escaped() -> None:
    assert glob_escape(b"a*b?[c]\\") == b"a\\*b\\?\\[c\\]\\\\"


async def test_keys_walks_scan_past_one_batch_and_matches_literally() -> None:
    s = store()
    try:
        for i in range(1200):
            await s.set(b"k%04d" % i, b"")
        for k in (b"a*", b"a*b", b"[x]", b"[x]y", b"ab", b"?"):
            await s.set(k, b"v")
        found = await s.keys(b"k")
        assert len(found) == 1200 and found == sorted(found)
        assert await s.keys(b"a*") == [b"a*", b"a*b"]  # not "ab": * is literal
        assert await s.keys(b"[x]") == [b"[x]", b"[x]y"]
        assert await s.keys(b"?") == [b"?"]
    finally:
        await s.close()


async def test_two_stores_on_one_redis_do_not_see_each_other() -> None:
    prefix = f"t:{uuid.uuid4().hex}:"
    a, b = store("a", prefix=prefix), store("b", prefix=prefix)
    try:
        await a.set(b"k", b"in a")
        assert await b.get(b"k") is None and await b.keys(b"") == []
        assert await a.incr(b"n", 2) == 2 and await b.incr(b"n", 5) == 5
    finally:
        await a.close()
        await b.close()


async def test_counters_redis_itself_would_refuse_behave_as_on_sqlite() -> None:
    s = store()
    try:
        for raw, expected in ((b"+5", 6), (b"007", 8), (b"-0", 1)):
            await s.set(b"c", raw)
            assert await s.incr(b"c", 1) == expected
        await s.set(b"c", b"x1")
        with pytest.raises(KVError) as info:
            await s.incr(b"c", 1)
        assert info.value.code == -4
    finally:
        await s.close()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
async def test_redis_going_away_is_an_io_error_and_it_recovers(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path),
            "--save", "", "--appendonly", "yes", "--appendfsync", "always"]

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                return proc
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    proc = start()
    s = store(url=f"redis://127.0.0.1:{port}/0")
    try:
        assert await s.incr(b"n", 1) == 1
        proc.terminate()  # a clean shutdown: the AOF keeps every acknowledged write
        proc.wait()
        started = time.monotonic()
        with pytest.raises(KVError) as info:
            await s.incr(b"n", 1)
        assert info.value.code in (-5, -6) and time.monotonic() - started < 10
        proc = start()
        assert await s.incr(b"n", 1) == 2  # reconnected; nothing acknowledged was lost
    finally:
        await s.close()
        proc.kill()
        proc.wait()
