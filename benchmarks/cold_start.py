"""Cold start and per-request instantiation (issue 5).

    .venv/bin/python benchmarks/cold_start.py [--runs 5] [--quick]

1. Process: `wasm-server up examples/hello/c` → first 200, with an empty
   compiled cache (fresh WASM_SERVER_CACHE_DIR and --data-dir) and with the
   cache that run filled; the same for Node+V8 (hosts/js/serve.mjs) and
   `wasmtime serve` as peers. Timed from spawn to the first 200 (polling GET
   every 2 ms), server on core 0.
2. Component, in-process (the ≤ 5 ms target): with the engine's Runtime,
   load hello.wasm (compile, or deserialize from a warm cache), build the
   executor, check the ABI and answer the first request.
3. Fresh instance per request: `GuestInstance.create` + release of hello.wasm
   (µs each), and a request with a fresh instance against one with a reused
   instance through `NativeExecutor.handle` (the difference is what a fresh
   instance adds per request).
4. A Go hello's start (examples/hello/go), when it exists: `up` → first 200
   on a warm cache, and the in-process figures of 2-3 for its module
   (3 interpreters, 200 requests each).
5. Go hello and the chi service (tests/reallibs/go/chi), served by `wasm-server up` with
   `preinit = true`: req/s with a fresh instance per request against the same with
   `instance_reuse` (wrk on core 1, server on core 0, as benchmarks/preinit.py --http),
   the issue 13 target "fresh / reused ≥ 0.5".
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers
import wasi_http_hello
from common import ROOT, free_port, machine, write_section
from suite import Target, fmt, median, record, stop

SECTION = "## Cold start and instantiation (issue 5)"
CLI = str(Path(sys.executable).parent / "wasm-server")


def first_200(cmd: list[str], port: int, env: dict[str, str] | None = None, timeout: float = 60.0) -> float:
    """Seconds from spawning ``cmd`` (pinned to core 0) to its first 200 on ``/``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(["taskset", "-c", "0", *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env, start_new_session=True)
    try:
        while time.perf_counter() - t0 < timeout:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/")
                if conn.getresponse().status == 200:
                    return time.perf_counter() - t0
            except OSError:
                time.sleep(0.002)
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited with {proc.returncode}")
        raise TimeoutError(f"no 200 from {cmd[0]} within {timeout} s")
    finally:
        stop(proc)


def process_starts(runs: int, p: peers.Peers, component: Path) -> dict[str, list[float]]:
    """ms to first 200 per server and cache state."""
    out: dict[str, list[float]] = {}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "WASM_SERVER_CACHE_DIR": str(Path(tmp) / "cache")}
            for state in ("empty cache", "warm cache"):
                port = free_port()
                up = [CLI, "up", str(ROOT / "examples/hello/c"), "--no-build", "--data-dir", str(Path(tmp) / "data"),
                      "--listen", f"127.0.0.1:{port}"]
                out.setdefault(f"wasm-server up, {state}", []).append(first_200(up, port, env) * 1000)
        t0 = time.perf_counter()
        subprocess.run(["taskset", "-c", "0", CLI, "--version"], check=True, capture_output=True)
        out.setdefault("`wasm-server --version` (interpreter + CLI import, for reference)", []).append(
            (time.perf_counter() - t0) * 1000)
        for name, cmd in (("node+v8 (serve.mjs)", [str(p.node), str(ROOT / "hosts/js/serve.mjs"),
                                                    str(ROOT / "examples/hello/c/hello.wasm"), "--port"]),
                          ("wasmtime serve", [str(p.wasmtime), "serve", str(component), "--addr"])):
            port = free_port()
            arg = str(port) if name.startswith("node") else f"127.0.0.1:{port}"
            out.setdefault(name, []).append(first_200([*cmd, arg], port) * 1000)
        print({k: f"{v[-1]:.0f} ms" for k, v in out.items()}, file=sys.stderr)
    return out


async def _in_process(wasm_path: str, cache: str, requests: int) -> dict[str, float]:
    import logging

    from wasm_server.abi_codec import GuestRequest
    from wasm_server.capabilities import ALL_IMPORTS, ComponentHost
    from wasm_server.engine import GuestInstance, Limits, Runtime
    from wasm_server.executors import NativeExecutor

    wasm = Path(wasm_path).read_bytes()
    req = GuestRequest(b"GET", b"/", b"/...", b"", b"/", b"127.0.0.1:1")
    host = ComponentHost("hello", logging.getLogger("bench"), {}, frozenset())
    out: dict[str, float] = {}
    for state in ("empty", "warm"):
        rt = Runtime(Path(cache), ALL_IMPORTS)
        t0 = time.perf_counter()
        loaded = rt.load(wasm, "hello.wasm")
        ex = NativeExecutor(rt, loaded, host, Limits(), 0)
        await ex.check()
        res = await ex.handle(req)
        out[f"component start, {state} cache"] = (time.perf_counter() - t0) * 1000
        assert res.status == 200
        rt.close()
    rt = Runtime(Path(cache), ALL_IMPORTS)
    loaded = rt.load(wasm, "hello.wasm")
    limits = Limits()
    times = []
    for _ in range(requests):
        t0 = time.perf_counter()
        inst = await GuestInstance.create(rt, loaded, host.new_call(), limits, host.wasi)
        inst.release()
        times.append(time.perf_counter() - t0)
    out["instantiate+release µs"] = sorted(times)[len(times) // 2] * 1e6
    for reuse in (0, 10**9):
        ex = NativeExecutor(rt, loaded, host, limits, reuse)
        for _ in range(100):
            await ex.handle(req)
        t0 = time.perf_counter()
        for _ in range(requests):
            await ex.handle(req)
        out[f"handle µs, reuse={bool(reuse)}"] = (time.perf_counter() - t0) * 1e6 / requests
    rt.close()
    return out


def in_process(wasm: Path, requests: int) -> dict[str, float]:
    """One in-process measurement in a fresh pinned interpreter with an empty cache dir."""
    with tempfile.TemporaryDirectory() as cache:
        code = (f"import sys, asyncio, json; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import cold_start; "
                f"print(json.dumps(asyncio.run(cold_start._in_process({str(wasm)!r}, {cache!r}, {requests}))))")
        out = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, cwd=ROOT)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def go_hello(runs: int) -> list[float] | None:
    """ms to first 200 of examples/hello/go (warm cache), or None when it does not exist or build."""
    go = ROOT / "examples/hello/go"
    if not (go / "wasm-server.toml").exists():
        return None
    if subprocess.run([CLI, "build", str(go)], capture_output=True).returncode != 0:
        return None
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "WASM_SERVER_CACHE_DIR": str(Path(tmp) / "cache")}
        for i in range(runs + 1):
            port = free_port()
            t = first_200([CLI, "up", str(go), "--no-build", "--data-dir", tmp, "--listen", f"127.0.0.1:{port}"],
                          port, env)
            if i:  # the first run fills the cache
                out.append(t * 1000)
    return out


#: the Go services of the "fresh / reused" targets: (row name, build directory, module)
GO_SERVICES = (("Go hello", ROOT / "examples/hello/go", "hello.wasm"),
               ("Go chi", ROOT / "tests/reallibs/go/chi", "chi.wasm"))


def go_fresh_reused(seconds: int) -> dict[str, tuple[float, float]]:
    """``(fresh req/s, reused req/s)`` per Go service that builds (both pre-initialised)."""
    import preinit

    out: dict[str, tuple[float, float]] = {}
    for name, directory, module in GO_SERVICES:
        if subprocess.run([CLI, "build", str(directory)], capture_output=True).returncode != 0:
            continue
        rates = preinit.http(directory / module, seconds, 16, "/", configs=(("true", 0), ("true", 1_000_000)))
        out[name] = (rates["preinit_fresh"], rates["preinit_reused"])
    return out


def main() -> int:
    """Run the benchmark and record it."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--quick", action="store_true", help="1 run, 1000 requests")
    args = ap.parse_args()
    if args.quick:
        args.runs, args.requests = 1, 1000
    p = peers.ensure()
    component = wasi_http_hello.build(p.wasm_tools)
    subprocess.run([CLI, "build", str(ROOT / "examples/hello/c")], check=True, stdout=subprocess.DEVNULL)
    procs = process_starts(args.runs, p, component)
    inproc_runs = [in_process(ROOT / "examples/hello/c/hello.wasm", args.requests) for _ in range(max(3, args.runs))]
    inproc = {k: median([r[k] for r in inproc_runs]) for k in inproc_runs[0]}
    go = go_hello(args.runs)
    go_inproc: dict[str, float] = {}
    if go is not None:
        go_runs = [in_process(ROOT / "examples/hello/go/hello.wasm", 200) for _ in range(1 if args.quick else 3)]
        go_inproc = {k: median([r[k] for r in go_runs]) for k in go_runs[0]}
    go_rates = go_fresh_reused(1 if args.quick else 3)
    fresh_cost = inproc["handle µs, reuse=False"] - inproc["handle µs, reuse=True"]
    targets = [Target("component start, warm cache (in-process)", inproc["component start, warm cache"], 5.0, "ms",
                      False),
               Target("`up` → first 200, warm cache (process)", median(procs["wasm-server up, warm cache"]), 80.0,
                      "ms", False),
               Target("fresh instance per request (create+release)", inproc["instantiate+release µs"], 20.0, "µs",
                      False),
               Target("fresh instance per request (handle: fresh − reused)", fresh_cost, 20.0, "µs", False),
               *[Target(f"{name}, fresh / reused (`up`, wrk, preinit)", fresh / reused, 0.5, "×", True)
                 for name, (fresh, reused) in go_rates.items()]]
    command = ("python benchmarks/cold_start.py " + " ".join(sys.argv[1:])).strip()
    lines = [
        SECTION, "", f"Date: {time.strftime('%Y-%m-%d')}. Machine: {machine()}.", "", f"Command: `{command}`", "",
        "Process start: spawn → first 200 on `/` (polled every 2 ms), pinned to core 0, median of "
        f"{args.runs} runs; each run has a fresh cache dir, the warm-cache start follows the empty one.", "",
        "| server | ms to first 200 (median) | runs |", "|---|---|---|",
    ]
    for name, values in procs.items():
        lines.append(f"| {name} | {fmt(median(values))} | {', '.join(fmt(v) for v in values)} |")
    if go is None:
        lines.append("| Go hello (examples/hello/go) | not measured: the example does not exist or does not build "
                     "yet | |")
    else:
        lines.append(f"| Go hello, warm cache | {fmt(median(go))} | {', '.join(fmt(v) for v in go)} |")
    lines += [
        "", f"In-process (wasm-server's engine, hello.wasm; median of {len(inproc_runs)} interpreters, "
        f"{args.requests} requests each):", "",
        "| measurement | value |", "|---|---|",
        *[f"| {k} | {fmt(v)} {'ms' if 'start' in k else ''} |" for k, v in inproc.items()],
        f"| fresh instance adds per request (handle fresh − reused) | {fmt(fresh_cost)} µs |",
        *([f"| Go hello: {k} | {fmt(v)} {'ms' if 'start' in k else ''} |" for k, v in go_inproc.items()]
          + [f"| Go hello: fresh instance adds per request | "
             f"{fmt(go_inproc['handle µs, reuse=False'] - go_inproc['handle µs, reuse=True'])} µs |"]
          if go_inproc else []),
        *(["", "Go services under `wasm-server up` (`preinit = true`; wrk -c16, 1 run each after a 2 s warm-up):", "",
            "| service | fresh req/s | reused req/s | fresh / reused |", "|---|---|---|---|",
            *[f"| {name} | {fmt(fresh)} | {fmt(reused)} | {fresh / reused:.2f} |"
              for name, (fresh, reused) in go_rates.items()]] if go_rates else []),
        "", "| target | measured | target | verdict |", "|---|---|---|---|", *[t.row() for t in targets], "",
    ]
    section = "\n".join(lines)
    print(section)
    write_section(SECTION, section)
    figures = {**inproc, **{f"{k} ms": median(v) for k, v in procs.items()}}
    if go:
        figures["go hello warm ms"] = median(go)
        figures.update({f"go {k}": v for k, v in go_inproc.items()})
    figures.update({f"{name} {kind} req/s": v for name, pair in go_rates.items()
                    for kind, v in zip(("fresh", "reused"), pair, strict=True)})
    record("cold_start", targets, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
