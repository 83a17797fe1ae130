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


async def measure(wasm_path: Path, seconds: float, rounds: int, path: bytes) -> dict[str, float]:
    """Figures for one module (see the module docstring)."""
    from wasm_server.capabilities import ALL_IMPORTS, ComponentHost
    from wasm_server.engine import Limits, Runtime
    from wasm_server.executors.native import NativeExecutor

    wasm = wasm_path.read_bytes()
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as cache:
        rt = Runtime(Path(cache), ALL_IMPORTS)
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


MANIFEST = """[[component]]
name = "svc"
source = "{source}"
routes = ["/..."]
instance_reuse = {reuse}
preinit = {preinit}
"""


def http(wasm_path: Path, seconds: int, connections: int, path: str) -> dict[str, float]:
    """req/s under ``wasm-server up`` (server on core 0, wrk on core 1: http_hello.py's method)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from common import free_port, wait_port
    from http_hello import wrk

    cli = str(Path(sys.executable).parent / "wasm-server")
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for preinit in ("false", "true"):
            for reuse in (0, 1_000_000):
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
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
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
        r = asyncio.run(measure(m, args.seconds, args.rounds, args.path.encode()))
        for tag in ("plain", "preinit"):
            fresh, reused = r[f"{tag}_fresh_rps"], r[f"{tag}_reused_rps"]
            flag = tag if r[f"{tag}_active"] else "refused"
            print(f"{m.name:<40} {flag:>7} {fresh:>12.0f} {reused:>13.0f} {fresh / reused:>11.1%} "
                  f"{r[f'{tag}_create_us']:>10.1f} {r[f'{tag}_release_us']:>10.1f} {r[f'{tag}_load_s']:>7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
