"""KV ops/s on SQLite, Redis and Cassandra, side by side in one run (issue 17).

    .venv/bin/python benchmarks/kv_backends.py [--count 2000] [--clients 8] [--runs 3] [--quick]

In process, the ``Store`` each backend gives (what a guest's KV call ends in, minus the
guest): ``--clients`` asyncio tasks share one store and together do ``--count`` operations
of each kind — ``set`` (distinct keys, 100-byte values), ``get`` (of those keys), ``incr``
(each client its own counter) and ``incr, one key`` (every client the same counter: the
contended case). Each op's latency is timed around its ``await``. Rounds alternate the
backends; figures are medians over rounds.

Then through the server: examples/kv-counter/c under ``wasm-server up --config`` with its
``default`` store on each backend (1 worker on core 0), ``POST /count`` (one ``kv_incr`` of
one hot key per request) from wrk -c16 on core 1, ``--http-seconds`` per run.

Backends: SQLite (kv/sqlite.py, synchronous = normal, a temporary data dir), Redis
(Debian's redis-server on loopback, no persistence), Cassandra 5.0 (one node from
tests/cassandra_node.py, 512 MB heap, consistency LOCAL_QUORUM of one replica). For
Cassandra, a last row measures a counter column's UPDATE through the same driver: what
increments would cost if counters could give the KV semantics (they cannot; see
kv/cassandra.py), against the lightweight transaction the backend uses.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import free_port, machine, wait_port, write_section
from quiet import wait_quiet
from suite import HttpResult, fmt, median, server, wrk

from tests.cassandra_node import shared_node
from wasm_server.kv import Store, StoreConfig, StoreManager
from wasm_server.kv.cassandra import close_all, open_session, run

SECTION = "## KV backends: SQLite, Redis and Cassandra (issue 17)"
CLI = str(Path(sys.executable).parent / "wasm-server")
COUNTER = Path(__file__).resolve().parents[1] / "examples/kv-counter/c"
BACKENDS = ("sqlite", "redis", "cassandra")
OPS = ("set", "get", "incr", "incr, one key")
VALUE = b"v" * 100


@dataclass
class Result:
    """One (backend, op) in one round."""

    ops_per_s: float
    p50_ms: float
    p99_ms: float


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


async def drive(count: int, clients: int, op: Callable[[int, int], Awaitable[object]]) -> Result:
    """``count`` calls of ``op(client, i)`` from ``clients`` concurrent tasks; ops/s and latencies."""
    latencies: list[float] = []

    async def client(c: int) -> None:
        for i in range(c, count, clients):
            t = time.perf_counter()
            await op(c, i)
            latencies.append(time.perf_counter() - t)

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(clients)))
    elapsed = time.perf_counter() - started
    return Result(count / elapsed, percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000)


async def measure(store: Store, count: int, clients: int) -> dict[str, Result]:
    """Every op of OPS on ``store``, after a short warm-up."""
    await drive(min(count, 200), clients, lambda c, i: store.set(b"warm%d" % i, VALUE))
    out = {
        "set": await drive(count, clients, lambda c, i: store.set(b"key%d" % i, VALUE)),
        "get": await drive(count, clients, lambda c, i: store.get(b"key%d" % i)),
        "incr": await drive(count, clients, lambda c, i: store.incr(b"counter%d" % c, 1)),
        "incr, one key": await drive(count, clients, lambda c, i: store.incr(b"hot", 1)),
    }
    assert await store.get(b"hot") == b"%d" % count, "increments were lost"
    return out


async def counter_column(contact: str, count: int, clients: int) -> Result:
    """A Cassandra counter column's UPDATE (one key per client): the increment the backend does not use."""
    session = await asyncio.to_thread(open_session, [contact], None, 10.0)
    try:
        session.execute("CREATE KEYSPACE IF NOT EXISTS bench_counters WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 1}")
        session.execute("CREATE TABLE IF NOT EXISTS bench_counters.c (k text PRIMARY KEY, n counter)")
        update = session.prepare("UPDATE bench_counters.c SET n = n + 1 WHERE k = ?")
        return await drive(count, clients, lambda c, i: run(session, update, [f"c{c}"], timeout=10.0))
    finally:
        session.cluster.shutdown()


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    """Debian's redis-server on a loopback port, no persistence."""
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is missing: scripts/setup installs it")
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc, f"redis://127.0.0.1:{port}/0"


def config(backend: str, redis_url: str, contact: str) -> StoreConfig:
    """A fresh store of ``backend`` (its own prefix, so rounds do not see each other's keys)."""
    prefix = f"bench{uuid.uuid4().hex[:8]}:"
    if backend == "redis":
        return StoreConfig("bench", "redis", url=redis_url, prefix=prefix, timeout=10.0)
    if backend == "cassandra":
        return StoreConfig("bench", "cassandra", hosts=(contact,), keyspace="bench_kv", prefix=prefix, timeout=10.0)
    return StoreConfig("bench", "sqlite")


async def one_round(count: int, clients: int, redis_url: str, contact: str, tmp: Path) -> dict[str, dict[str, Result]]:
    """Every backend once."""
    out: dict[str, dict[str, Result]] = {}
    for backend in BACKENDS:
        manager = StoreManager({"bench": config(backend, redis_url, contact)}, tmp / uuid.uuid4().hex)
        try:
            out[backend] = await measure(manager.get("bench"), count, clients)
        finally:
            await manager.close()
    out["cassandra"]["incr as a counter column (not used)"] = await counter_column(contact, count, clients)
    return out


def runtime_config(backend: str, redis_url: str, contact: str, tmp: Path) -> Path:
    """The runtime config of kv-counter's server: its ``default`` store on ``backend``."""
    prefix = f"http{uuid.uuid4().hex[:8]}:"
    tables = {
        "sqlite": [],
        "redis": ['type = "redis"', f'url = "{redis_url}"', f'prefix = "{prefix}"', "timeout = 10.0"],
        "cassandra": ['type = "cassandra"', f'hosts = ["{contact}"]', 'keyspace = "bench_kv"', f'prefix = "{prefix}"',
                      "timeout = 10.0"],
    }[backend]
    path = tmp / f"{backend}-{prefix[4:-1]}.toml"
    path.write_text("\n".join(["[key_value_store.default]", *tables] if tables else ["# SQLite"]) + "\n")
    return path


def http_round(seconds: int, redis_url: str, contact: str, tmp: Path) -> dict[str, HttpResult]:
    """kv-counter's POST /count on every backend once: wrk -c16 against a fresh server."""
    script = tmp / "post.lua"
    script.write_text('wrk.method = "POST"\n')
    out: dict[str, HttpResult] = {}
    for backend in BACKENDS:
        port = free_port()
        cmd = [CLI, "up", str(COUNTER), "--no-build", "--data-dir", str(tmp / uuid.uuid4().hex), "--listen",
               f"127.0.0.1:{port}", "--config", str(runtime_config(backend, redis_url, contact, tmp))]
        with server(cmd, port):
            url = f"http://127.0.0.1:{port}/count"
            wrk(url, 1, 16, script=script)  # warm-up: the store connects, the schema is made
            out[backend] = wrk(url, seconds, 16, script=script)
    return out


def main() -> int:
    """Run the benchmark and record it."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=2000, help="operations of each kind per backend and round")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--http-seconds", type=int, default=4, help="wrk's time per backend and run (0: skip)")
    ap.add_argument("--quick", action="store_true", help="1 round of 500 operations, 2 s of wrk")
    args = ap.parse_args()
    if args.quick:
        args.count, args.runs, args.http_seconds = 500, 1, min(args.http_seconds, 2)
    if args.http_seconds:
        subprocess.run([CLI, "build", str(COUNTER)], check=True, stdout=subprocess.DEVNULL)
    started = time.monotonic()
    contact = shared_node()
    print(f"Cassandra ready at {contact} after {time.monotonic() - started:.0f} s", file=sys.stderr)
    redis, redis_url = start_redis()
    busy, waited = wait_quiet(60, 0.15)  # Cassandra's start-up has settled; others' work has not
    rounds: list[dict[str, dict[str, Result]]] = []
    http: list[dict[str, HttpResult]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in range(args.runs):
                rounds.append(asyncio.run(one_round(args.count, args.clients, redis_url, contact, Path(tmp))))
                print(f"round {n + 1}: " + ", ".join(f"{b} {op} {r.ops_per_s:.0f}/s" for b, ops in rounds[-1].items()
                                                     for op, r in ops.items()), file=sys.stderr)
                if args.http_seconds:
                    http.append(http_round(args.http_seconds, redis_url, contact, Path(tmp)))
                    print("POST /count: " + ", ".join(f"{b} {r.rps:.0f} req/s ({r.bad} bad)"
                                                      for b, r in http[-1].items()), file=sys.stderr)
    finally:
        redis.kill()
        redis.wait()
        close_all()
    command = ("python benchmarks/kv_backends.py " + " ".join(sys.argv[1:])).strip()
    lines = [
        SECTION, "", f"Date: {time.strftime('%Y-%m-%d')}. Machine: {machine()}.", "", f"Command: `{command}`", "",
        f"In process, one store per backend, {args.clients} concurrent asyncio clients, {args.count} operations of "
        "each kind per round (set: distinct keys, 100-byte values; get: those keys; incr: a counter per client; "
        "incr, one key: every client the same counter), latency timed around each call. SQLite: synchronous = "
        "normal. Redis: Debian's redis-server, no persistence. Cassandra 5.0.6: one node (tests/cassandra_node.py, "
        "512 MB heap), LOCAL_QUORUM of one replica, increments as lightweight transactions (Paxos). Every server "
        "and the client share the machine's 2 cores. "
        f"{len(rounds)} round(s), backends alternating; medians. The machine was {busy:.0%} busy with other work "
        f"just before (after waiting {waited:.0f} s).", "",
        "| backend | op | ops/s (median) | p50 ms | p99 ms | rounds (ops/s) |", "|---|---|---|---|---|---|",
    ]
    for backend, ops in rounds[0].items():
        for op in ops:
            results = [r[backend][op] for r in rounds]
            lines.append(f"| {backend} | {op} | {median([r.ops_per_s for r in results]):.0f} | "
                         f"{fmt(median([r.p50_ms for r in results]))} | {fmt(median([r.p99_ms for r in results]))} | "
                         f"{', '.join(f'{r.ops_per_s:.0f}' for r in results)} |")
    if http:
        lines += ["", f"Through the server: examples/kv-counter/c, `POST /count` (one `kv_incr` of one key per "
                  f"request), `wasm-server up` (1 worker, core 0) with its default store on each backend, wrk -c16 "
                  f"for {args.http_seconds} s on core 1, after a 1 s warm-up; {len(http)} run(s).", "",
                  "| backend | req/s (median) | p50 ms | p99 ms | non-2xx | runs (req/s) |",
                  "|---|---|---|---|---|---|"]
        for backend in BACKENDS:
            served = [h[backend] for h in http]
            lines.append(f"| {backend} | {median([r.rps for r in served]):.0f} | "
                         f"{fmt(median([r.p50_ms for r in served]))} | {fmt(median([r.p99_ms for r in served]))} | "
                         f"{sum(r.bad for r in served)} | {', '.join(f'{r.rps:.0f}' for r in served)} |")
    lines += ["", "No target in the issue; docs/operations.md (Key-value stores) compares the backends with these "
              "figures.", ""]
    section = "\n".join(lines)
    print(section)
    write_section(SECTION, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
