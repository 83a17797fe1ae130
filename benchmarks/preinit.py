"""Pre-initialised instances (issue 13): a fresh instance per request vs a reused one, with
and without ``preinit``, in-process through the engine (no HTTP, no other helpers' code).

For each module: requests/s through ``NativeExecutor.handle`` with a fresh instance per
request and with a reused one, preinit off and on; and where a fresh instance's time goes
(instantiate, ``_initialize``, the request). Usage::

    .venv/bin/python benchmarks/preinit.py examples/hello/go/hello.wasm tests/reallibs/go/chi/chi.wasm

Each figure is the median of ``--rounds`` rounds of ``--seconds`` each; all in one process,
one run, so the ratios are what to read on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


async def _rate(executor: object, seconds: float, path: bytes) -> float:
    from wasm_server.abi_codec import GuestRequest
    from wasm_server.executors.native import NativeExecutor

    assert isinstance(executor, NativeExecutor)
    req = GuestRequest(b"GET", path, b"/...", b"", path, b"127.0.0.1")
    n = 0
    end = time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < end:
        for _ in range(20):
            resp = await executor.handle(req)
            if resp.status != 200:
                raise SystemExit(f"status {resp.status}: {resp.body[:200]!r}")
        n += 20
    return n / (time.perf_counter() - start)


async def _split(executor: object, rounds: int) -> dict[str, float]:
    """µs per fresh instance: instantiate (+ _initialize when not pre-initialised), and release."""
    from wasm_server.executors.native import NativeExecutor

    assert isinstance(executor, NativeExecutor)
    create = []
    release = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        inst = await executor.new_instance()
        t1 = time.perf_counter()
        inst.release()
        t2 = time.perf_counter()
        create.append((t1 - t0) * 1e6)
        release.append((t2 - t1) * 1e6)
    return {"create_us": statistics.median(create), "release_us": statistics.median(release)}


async def measure(wasm_path: Path, seconds: float, rounds: int, path: bytes,
                  cache_dir: Path | None = None) -> dict[str, float]:
    """Figures for one module (see the module docstring)."""
    from wasm_server.capabilities import ALL_IMPORTS, ComponentHost
    from wasm_server.engine import Limits, Runtime
    from wasm_server.executors.native import NativeExecutor

    wasm = wasm_path.read_bytes()
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        rt = Runtime(cache_dir or Path(tmp), ALL_IMPORTS)
        try:
            loaded = rt.load(wasm, str(wasm_path))
            for preinit in (False, True):
                tag = "preinit" if preinit else "plain"
                for reuse in (0, 10**9):
                    host = ComponentHost("bench", logging.getLogger("bench"), {}, frozenset())
                    ex = NativeExecutor(rt, loaded, host, Limits(), reuse, preinit=preinit, wasm=wasm)
                    t0 = time.perf_counter()
                    await ex.check()
                    if reuse == 0:
                        out[f"{tag}_load_s"] = time.perf_counter() - t0
                        out[f"{tag}_active"] = float(ex.preinitialized or not preinit)
                    rates = [await _rate(ex, seconds, path) for _ in range(rounds)]
                    out[f"{tag}_{'fresh' if reuse == 0 else 'reused'}_rps"] = statistics.median(rates)
                    if reuse == 0:
                        out.update({f"{tag}_{k}": v for k, v in (await _split(ex, 200)).items()})
                    for inst, _ in ex._idle:
                        inst.release()
        finally:
            rt.close()
    return out


async def _serve_n(wasm_path: Path, cache: Path, preinit: bool, reuse: int, n: int, path: bytes) -> None:
    """Load, then serve ``n`` requests (run under ``perf stat`` by :func:`count`)."""
    from wasm_server.abi_codec import GuestRequest
    from wasm_server.capabilities import ALL_IMPORTS, ComponentHost
    from wasm_server.engine import Limits, Runtime
    from wasm_server.executors.native import NativeExecutor

    wasm = wasm_path.read_bytes()
    rt = Runtime(cache, ALL_IMPORTS)
    host = ComponentHost("bench", logging.getLogger("bench"), {}, frozenset())
    ex = NativeExecutor(rt, rt.load(wasm, str(wasm_path)), host, Limits(), reuse, preinit=preinit, wasm=wasm)
    await ex.check()
    req = GuestRequest(b"GET", path, b"/...", b"", path, b"127.0.0.1")
    for _ in range(n):
        await ex.handle(req)


def _cpu(args: list[str]) -> tuple[float, int]:
    """CPU time (ms, user + kernel: copy-on-write page faults count) and page faults of one child
    run. (Hardware instruction counters are not available in this VM; CPU time of the process
    is much less sensitive to the machine's load than req/s.)"""
    out = subprocess.run(["perf", "stat", "-x", ",", "-e", "task-clock,page-faults", sys.executable, __file__,
                          *args], capture_output=True, text=True, check=True).stderr
    got: dict[str, float] = {}
    for line in out.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2] in ("task-clock", "page-faults"):
            got[fields[2]] = float(fields[0])
    if len(got) != 2:
        raise RuntimeError(f"no task-clock/page-faults in perf output: {out[-500:]}")
    return got["task-clock"], int(got["page-faults"])


def count(wasm_path: Path, n: int, path: str, runs: int = 3) -> dict[str, tuple[float, float]]:
    """(CPU µs, page faults) per request, fresh and reused, preinit off and on: the median of
    ``runs`` runs of ``n`` requests, minus the median of ``runs`` runs of none (the load: compile
    cache warm), divided by ``n``."""
    out: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for preinit in ("0", "1"):
            for reuse in ("0", "1000000000"):
                base = [str(wasm_path), "--path", path, "--serve-n", tmp, preinit, reuse]
                _cpu([*base, "0"])  # compiles and snapshots into the cache
                zero = [_cpu([*base, "0"]) for _ in range(runs)]
                many = [_cpu([*base, str(n)]) for _ in range(runs)]
                ms = statistics.median(m[0] for m in many) - statistics.median(z[0] for z in zero)
                faults = statistics.median(m[1] for m in many) - statistics.median(z[1] for z in zero)
                key = f"{'preinit' if preinit == '1' else 'plain'}_{'fresh' if reuse == '0' else 'reused'}"
                out[key] = (ms * 1000 / n, faults / n)
    return out


MANIFEST = """[[component]]
name = "svc"
source = "{source}"
routes = ["/..."]
instance_reuse = {reuse}
preinit = {preinit}
"""


def http(wasm_path: Path, seconds: int, connections: int, path: str,
         configs: tuple[tuple[str, int], ...] = (("false", 0), ("false", 1_000_000), ("true", 0), ("true", 1_000_000)),
         ) -> dict[str, float]:
    """req/s under ``wasm-server up`` (server on core 0, wrk on core 1: http_hello.py's method), one
    server per ``(preinit, instance_reuse)`` of ``configs``; keys ``plain_fresh``, ``preinit_reused``..."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from common import free_port, wait_port
    from http_hello import wrk

    cli = str(Path(sys.executable).parent / "wasm-server")
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for preinit, reuse in configs:
            app = Path(tmp) / f"app-{preinit}-{reuse}"
            app.mkdir()
            (app / "wasm-server.toml").write_text(
                MANIFEST.format(source=wasm_path.resolve(), reuse=reuse, preinit=preinit))
            port = free_port()
            # pinned to core 0 as in http_hello.start; a first start compiles (and snapshots): wait
            proc = subprocess.Popen(["taskset", "-c", "0", cli, "up", str(app), "--no-build", "--data-dir",
                                     str(app / "data"), "--listen", f"127.0.0.1:{port}"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_port(port, 600)
                url = f"http://127.0.0.1:{port}{path}"
                wrk(url, 2, connections)  # warm-up
                r = wrk(url, seconds, connections)
                print(f"{wasm_path.name} preinit={preinit} instance_reuse={reuse}: {r.rps:.0f} req/s, "
                      f"{r.non_2xx} non-2xx, {r.errors} socket errors", file=sys.stderr)
                out[f"{'preinit' if preinit == 'true' else 'plain'}_{'fresh' if reuse == 0 else 'reused'}"] = r.rps
            finally:
                proc.terminate()
                proc.wait(10)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("modules", nargs="+", type=Path)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--path", default="/")
    ap.add_argument("--http", action="store_true", help="req/s under `wasm-server up` with wrk instead")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--cache", type=Path, help="compile cache directory to keep (default: a fresh one per run)")
    ap.add_argument("--count", type=int, metavar="N", help="instructions per request over N requests (perf stat)")
    ap.add_argument("--serve-n", nargs=4, metavar=("CACHE", "PREINIT", "REUSE", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_n:
        cache, preinit, reuse, n = args.serve_n
        asyncio.run(_serve_n(args.modules[0], Path(cache), preinit == "1", int(reuse), int(n), args.path.encode()))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.count:
        print(f"{'module':<24} {'preinit':>7} {'fresh µs CPU':>13} {'faults':>7} {'reused µs CPU':>14} "
              f"{'faults':>7} {'reused/fresh':>12}")
        for m in args.modules:
            c = count(m, args.count, args.path)
            for tag in ("plain", "preinit"):
                (fresh, ff), (reused, rf) = c[f"{tag}_fresh"], c[f"{tag}_reused"]
                print(f"{m.name:<24} {tag:>7} {fresh:>13.1f} {ff:>7.1f} {reused:>14.1f} {rf:>7.1f} "
                      f"{reused / fresh:>11.1%}")
        return 0
    if args.http:
        print(f"{'module':<24} {'preinit':>7} {'fresh req/s':>12} {'reused req/s':>13} {'fresh/reused':>12}")
        for m in args.modules:
            h = http(m, max(1, int(args.seconds)), args.connections, args.path)
            for tag in ("plain", "preinit"):
                fresh, reused = h[f"{tag}_fresh"], h[f"{tag}_reused"]
                print(f"{m.name:<24} {tag:>7} {fresh:>12.0f} {reused:>13.0f} {fresh / max(reused, 1e-9):>11.1%}")
        return 0
    print(f"{'module':<40} {'preinit':>7} {'fresh req/s':>12} {'reused req/s':>13} {'fresh/reused':>12} "
          f"{'create µs':>10} {'release µs':>10} {'load s':>7}")
    for m in args.modules:
        r = asyncio.run(measure(m, args.seconds, args.rounds, args.path.encode(), args.cache))
        for tag in ("plain", "preinit"):
            fresh, reused = r[f"{tag}_fresh_rps"], r[f"{tag}_reused_rps"]
            flag = tag if r[f"{tag}_active"] else "refused"
            print(f"{m.name:<40} {flag:>7} {fresh:>12.0f} {reused:>13.0f} {fresh / reused:>11.1%} "
                  f"{r[f'{tag}_create_us']:>10.1f} {r[f'{tag}_release_us']:>10.1f} {r[f'{tag}_load_s']:>7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
