"""Density: 1,000 distinct components in one server (issue 5).

    .venv/bin/python benchmarks/density.py [--components 1000] [--sample 100] [--duration 5] [--runs 3] [--quick]

Generates N distinct ABI v1 guests, one exact route each (`/c0000` …),
`instance_reuse` on, into a temp app; and a 1-component app of the same
kind. `--kind c` (default): examples/hello/c's module (C + the SDK + libc,
built with `wasm-server cc`) with its greeting's bytes replaced by
`Hello c00042` — same code, distinct modules; `--kind wat`: a tiny WAT
hello whose response names its index. The first run starts the N-component
server with an empty compiled cache (time to listening); every run then
starts it on the warm cache and measures: RSS of the server's process tree once it listens (idle), minus
the 1-component server's, / N; the first-request latency of `--sample`
random components (one keep-alive connection) and a second request to each;
steady req/s with wrk picking a random component per request; RSS after
that. Server on core 0, clients on core 1. Medians of the runs.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import wasmtime
from common import ROOT, free_port, machine, wait_port, write_section
from suite import Target, fmt, median, record, stop, wrk

SECTION = "## Density: 1,000 components (issue 5)"
CLI = str(Path(sys.executable).parent / "wasm-server")
RANDOM_LUA = """
math.randomseed(%d)
request = function()
  return wrk.format("GET", string.format("/c%%04d", math.random(0, %d)))
end
"""


def guest_wat(index: int) -> str:
    """An ABI v1 hello answering ``hello from component <index>``."""
    body = f"hello from component {index}\n".encode()
    resp = (200).to_bytes(4, "little") + bytes(4) + (0).to_bytes(4, "little") + len(body).to_bytes(4, "little") + body
    esc = "".join(f"\\{b:02x}" for b in resp)
    return f"""(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 1024) "{esc}")
  (func (export "wasm_server_abi_version") (result i32) (i32.const 1))
  (func (export "wasm_server_request_buffer") (param $n i32) (result i32)
    (if (i32.gt_u (local.get $n) (i32.const 32768)) (then (return (i32.const 0))))
    (i32.const 8192))
  (func (export "wasm_server_alloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (if (i32.gt_u (global.get $heap) (i32.const 65536)) (then (global.set $heap (i32.const 4096))
                                                              (local.set $p (i32.const 4096))))
    (local.get $p))
  (func (export "wasm_server_handle") (param i32 i32 i32) (result i64)
    (i64.const {(1024 << 32) | len(resp)})))
"""


def manifest(count: int) -> str:
    """The app manifest for components c0000 … c<count-1>."""
    return "".join(f'[[component]]\nname = "c{i:04d}"\nsource = "c{i:04d}.wasm"\nroutes = ["/c{i:04d}"]\n'
                   f"instance_reuse = 1000\n\n" for i in range(count))


GREETING = b"Hello from C\n"


def c_variant(hello: bytes, index: int) -> bytes:
    """examples/hello/c's module answering ``Hello c<index>`` (same length, so nothing else moves)."""
    if hello.count(GREETING) != 1:
        raise ValueError("examples/hello/c/hello.wasm does not contain its greeting exactly once")
    return hello.replace(GREETING, f"Hello c{index:05d}\n".encode())


def generate(app: Path, count: int, kind: str = "wat") -> Path:
    """Write ``count`` distinct modules and their manifest into ``app``."""
    app.mkdir(parents=True, exist_ok=True)
    hello = (ROOT / "examples/hello/c/hello.wasm").read_bytes() if kind == "c" else b""
    for i in range(count):
        wasm = c_variant(hello, i) if kind == "c" else bytes(wasmtime.wat2wasm(guest_wat(i)))
        (app / f"c{i:04d}.wasm").write_bytes(wasm)
    (app / "wasm-server.toml").write_text(manifest(count))
    return app


def tree_rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` and its descendants, KiB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def launch(app: Path, port: int, cache: Path, data: Path) -> tuple[subprocess.Popen[bytes], float]:
    """Start `wasm-server up app` on core 0; returns the process and seconds to listening."""
    env = {**os.environ, "WASM_SERVER_CACHE_DIR": str(cache)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(["taskset", "-c", "0", CLI, "up", str(app), "--no-build", "--data-dir", str(data),
                             "--listen", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        wait_port(port, 300)
    except BaseException:
        stop(proc)
        raise
    return proc, time.perf_counter() - t0


def idle_rss(proc: subprocess.Popen[bytes]) -> int:
    """RSS once the server settled (two equal readings 0.5 s apart, at most 5 s)."""
    last = -1
    for _ in range(10):
        time.sleep(0.5)
        now = tree_rss_kib(proc.pid)
        if now == last:
            break
        last = now
    return last


def latencies(port: int, paths: list[str]) -> list[float]:
    """ms of one GET per path, on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = []
    for path in paths:
        t0 = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        out.append((time.perf_counter() - t0) * 1000)
        if resp.status != 200:
            raise RuntimeError(f"{path}: {resp.status}")
    conn.close()
    return out


def cold_start(app: Path, cache: Path) -> float:
    """Seconds to listening with an empty ``cache`` (which this fills)."""
    with tempfile.TemporaryDirectory() as tmp:
        proc, seconds = launch(app, free_port(), cache, Path(tmp))
        stop(proc)
    return seconds


def one_run(app: Path, single: Path, count: int, sample: int, duration: int, seed: int,
            cache: Path) -> dict[str, float]:
    """Start on the warm ``cache``; measure."""
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        port = free_port()
        proc, _ = launch(single, port, cache, data)
        out["1-component RSS MiB"] = idle_rss(proc) / 1024
        stop(proc)
        port = free_port()
        proc, out["start, warm cache s"] = launch(app, port, cache, data)
        try:
            out[f"{count}-component RSS MiB"] = idle_rss(proc) / 1024
            paths = [f"/c{i:04d}" for i in random.Random(seed).sample(range(count), sample)]
            first = latencies(port, paths)
            second = latencies(port, paths)
            out["first request ms (median)"] = median(first)
            out["first request ms (p99)"] = sorted(first)[int(len(first) * 0.99) - 1]
            out["second request ms (median)"] = median(second)
            script = Path(tmp) / "random.lua"
            script.write_text(RANDOM_LUA % (seed, count - 1))
            r = wrk(f"http://127.0.0.1:{port}", duration, 50, script=script)
            out["random-component req/s"] = r.rps
            out["random-component p99 ms"] = r.p99_ms
            out["RSS after the load MiB"] = tree_rss_kib(proc.pid) / 1024
        finally:
            stop(proc)
    out["RSS per idle component KiB"] = (out[f"{count}-component RSS MiB"] - out["1-component RSS MiB"]) * 1024 / (
        count - 1)
    return out


def main() -> int:
    """Run the benchmark and record it."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--components", type=int, default=1000)
    ap.add_argument("--sample", type=int, default=100)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--kind", choices=("c", "wat"), default="c", help="what the components are (default: c)")
    ap.add_argument("--quick", action="store_true", help="1 run, 200 components, 2 s of load")
    args = ap.parse_args()
    if args.quick:
        args.runs, args.duration, args.components = 1, 2, min(args.components, 200)
    if args.kind == "c":
        subprocess.run([CLI, "build", str(ROOT / "examples/hello/c")], check=True, stdout=subprocess.DEVNULL)
    runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        app = generate(Path(tmp) / "app", args.components, args.kind)
        single = generate(Path(tmp) / "single", 1, args.kind)
        cache = Path(tmp) / "cache"
        empty_start = cold_start(app, cache)
        for i in range(args.runs):
            runs.append(one_run(app, single, args.components, min(args.sample, args.components), args.duration, i,
                                cache))
            print({k: round(v, 2) for k, v in runs[-1].items()}, file=sys.stderr)
    med = {k: median([r[k] for r in runs]) for k in runs[0]}
    per = med["RSS per idle component KiB"]
    targets = [Target(f"RSS per idle {args.kind.upper()} component at {args.components}", per / 1024, 0.25, "MiB",
                      False)]
    what = ("copies of examples/hello/c's module (C, SDK, libc; "
            f"{(ROOT / 'examples/hello/c/hello.wasm').stat().st_size // 1024} KiB) with distinct greetings"
            if args.kind == "c" else "generated WAT hellos (distinct bytes)")
    command = ("python benchmarks/density.py " + " ".join(sys.argv[1:])).strip()
    lines = [
        SECTION, "", f"Date: {time.strftime('%Y-%m-%d')}. Machine: {machine()}.", "", f"Command: `{command}`", "",
        f"{args.components} components: {what}, one route each, `instance_reuse = 1000`; "
        f"1 worker on core 0; wrk (50 connections, random component per request, {args.duration} s) and the "
        f"latency client on core 1. First-request latency: {args.sample} random components, one keep-alive "
        f"connection. Median of {args.runs} runs on a warm compiled cache; the first start, on an empty cache, "
        f"took {empty_start:.1f} s to listen.", "",
        "| measurement | median | runs |", "|---|---|---|",
    ]
    for key in runs[0]:
        lines.append(f"| {key} | {fmt(med[key])} | {', '.join(fmt(r[key]) for r in runs)} |")
    lines += ["", "| target | measured | target | verdict |", "|---|---|---|---|", *[t.row() for t in targets], ""]
    section = "\n".join(lines)
    print(section)
    write_section(SECTION, section)
    record("density", targets, {**med, "start, empty cache s": empty_start})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
