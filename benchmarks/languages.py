"""Per SDK language: hello req/s, module size, memory per idle instance, and build times.

    python benchmarks/languages.py            # 3 runs of 5 s per language
    python benchmarks/languages.py --quick    # 1 run of 2 s (smoke test)

Each language's `examples/hello/<lang>` is built with its wrapper and served
alone by `wasm-server up` (pinned to core 0, wrk on core 1, 50 connections).
Memory is measured outside the server, with wasmtime-py: each module is
instantiated (and `_initialize`d) 200 times in separate stores; "linear
memory" is the guest's memory size at idle, "RSS/instance" is the growth of
this process's resident memory divided by 200, i.e. what an idle instance
really costs (untouched linear memory is not resident).

Build times: `wasm-server build --force --no-precompile` of the hello example,
cold (XDG_CACHE_HOME pointing at an empty directory: no Go build cache, zig
cache or shared Rust std yet; downloaded dependencies stay where they are)
and warm (the same command again, with that cache filled).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import wasmtime
from common import ROOT, free_port, machine, write_section
from http_hello import WrkResult, start, wrk

SECTION = "## Languages (issues 4 and 12)"
LANGUAGES = {"c": "C", "cpp": "C++", "rust": "Rust", "go": "Go", "ts": "TypeScript"}
INSTANCES = 200


@dataclass(frozen=True)
class Footprint:
    """Size and idle memory of one module."""

    module_bytes: int
    linear_kib: int
    rss_kib_per_instance: float


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def _linker(engine: wasmtime.Engine, module: wasmtime.Module) -> wasmtime.Linker:
    """WASI plus a trap for every host import: an idle instance calls none of them."""
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    for imp in module.imports:
        if imp.module == "wasm_server" and isinstance(imp.type, wasmtime.FuncType):
            def trap(*_args: object, _name: str = str(imp.name)) -> None:
                raise wasmtime.Trap(f"{_name} called at idle")
            linker.define_func("wasm_server", str(imp.name), imp.type, trap)
    return linker


def footprint(path: Path) -> Footprint:
    """Instantiate ``path`` INSTANCES times and measure."""
    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, str(path))
    linker = _linker(engine, module)
    keep: list[tuple[wasmtime.Store, wasmtime.Instance]] = []

    def one() -> tuple[wasmtime.Store, wasmtime.Instance]:
        store = wasmtime.Store(engine)
        store.set_wasi(wasmtime.WasiConfig())
        inst = linker.instantiate(store, module)
        init = inst.exports(store).get("_initialize")
        if isinstance(init, wasmtime.Func):
            init(store)
        return store, inst

    keep.append(one())  # warm the code pages before the baseline
    gc.collect()
    before = _rss_kib()
    for _ in range(INSTANCES):
        keep.append(one())
    after = _rss_kib()
    store, inst = keep[-1]
    memory = inst.exports(store)["memory"]
    assert isinstance(memory, wasmtime.Memory)
    return Footprint(path.stat().st_size, memory.size(store) * 64, (after - before) / INSTANCES)


@dataclass(frozen=True)
class BuildTimes:
    """Seconds to build a hello example with empty compiler caches, then with them filled."""

    cold_s: float
    warm_s: float


def build(lang: str) -> tuple[Path, BuildTimes]:
    """Build examples/hello/<lang> cold then warm; return its module and the times."""
    cli = str(Path(sys.executable).parent / "wasm-server")
    example = ROOT / "examples" / "hello" / lang
    times: list[float] = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache}
        for _ in range(2):
            started = time.monotonic()
            subprocess.run([cli, "build", str(example), "--force", "--no-precompile"], check=True, env=env)
            times.append(time.monotonic() - started)
    return next(example.glob("*.wasm")), BuildTimes(times[0], times[1])


def throughput(lang: str, duration: int, runs: int) -> list[WrkResult]:
    """wrk against `wasm-server up examples/hello/<lang>`, ``runs`` times."""
    cli = str(Path(sys.executable).parent / "wasm-server")
    out: list[WrkResult] = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            port = free_port()
            proc = start([cli, "up", str(ROOT / "examples" / "hello" / lang), "--no-build", "--data-dir", tmp,
                          "--listen", f"127.0.0.1:{port}"], port)
            try:
                url = f"http://127.0.0.1:{port}/"
                wrk(url, 1, 50)  # warm-up
                r = wrk(url, duration, 50)
                print(f"{lang:5} {r.rps:9.0f} req/s  p99 {r.p99_ms:6.2f} ms", file=sys.stderr)
                out.append(r)
            finally:
                proc.terminate()
                proc.wait(10)
    return out


def report(rows: dict[str, tuple[Footprint, BuildTimes, list[WrkResult]]], command: str) -> str:
    """The RESULTS.md section."""
    lines = [
        SECTION, "",
        f"Date: {time.strftime('%Y-%m-%d')}. Machine: {machine()}.", "",
        f"Command: `{command}`", "",
        "`examples/hello/<lang>` per language; server on core 0, wrk on core 1 (50 connections), 1 worker.",
        f"Memory: {INSTANCES} idle instances in separate stores (wasmtime-py, default allocator).", "",
        "| language | req/s (median) | p99 ms | module size | linear memory at idle | RSS per idle instance "
        "| build cold | build warm |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for lang, (fp, times, runs) in rows.items():
        rps = statistics.median(r.rps for r in runs)
        p99 = statistics.median(r.p99_ms for r in runs)
        lines.append(f"| {LANGUAGES[lang]} | {rps:.0f} | {p99:.2f} | {fp.module_bytes / 1024:.0f} KiB | "
                     f"{fp.linear_kib} KiB | {fp.rss_kib_per_instance:.0f} KiB | {times.cold_s:.1f} s "
                     f"| {times.warm_s:.1f} s |")
    lines += ["", "Go's size and memory are its runtime and garbage collector (net/http is linked in "
              "because handlers are `http.Handler`s); AssemblyScript, C and Rust carry almost no runtime.", ""]
    return "\n".join(lines)


def main() -> int:
    """Run the benchmark and record it."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="1 run of 2 s per language (smoke test)")
    p.add_argument("--lang", action="append", choices=sorted(LANGUAGES), help="only these languages")
    args = p.parse_args()
    if args.quick:
        args.duration, args.runs = 2, 1
    rows: dict[str, tuple[Footprint, BuildTimes, list[WrkResult]]] = {}
    for lang in args.lang or list(LANGUAGES):
        module, times = build(lang)
        fp = footprint(module)
        print(f"{lang:5} {fp.module_bytes} bytes, linear {fp.linear_kib} KiB, "
              f"RSS {fp.rss_kib_per_instance:.0f} KiB/instance", file=sys.stderr)
        print(f"{lang:5} build cold {times.cold_s:.1f} s, warm {times.warm_s:.1f} s", file=sys.stderr)
        rows[lang] = (fp, times, throughput(lang, args.duration, args.runs))
    section = report(rows, ("python benchmarks/languages.py " + " ".join(sys.argv[1:])).strip())
    print(section)
    write_section(SECTION, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
