"""Per SDK language: hello req/s (instances reused and fresh), ms per request, echo body MiB/s,
module size, memory per idle instance, and build times.

    python benchmarks/languages.py            # 3 runs of 5 s per language and instance mode
    python benchmarks/languages.py --quick    # 1 run of 2 s, warm builds only (smoke test)
    python benchmarks/languages.py --no-cold  # skip the cold builds (the slowest part)

C, C++, Rust, Go and TypeScript are ABI v1 core modules; Python (componentize-py)
and JavaScript (componentize-js) are wasi:http components (issue 14).

Each language's `examples/hello/<lang>` is built with its wrapper and served
alone by `wasm-server up` (pinned to core 0, wrk on core 1), twice per run:
"reused" with `instance_reuse = 10000` (what the examples' manifests say) and
"fresh" with `instance_reuse = 0` (a new instance per request, the manifest
default); the module is the same, only the manifest line differs. Each server
gets a 1 s warm-up, then wrk with 50 connections (req/s, p99), then wrk with
one connection: "ms/request" is 1000 / (req/s at one connection), the full
round trip of one request through wrk, the server and the guest.

Echo: `examples/echo/<lang>` (its manifest's instance mode: fresh for all) gets
a 1 MiB POST to /echo/bench, 1 warm-up then 5 timed round trips on one
keep-alive connection; MiB/s is 1 MiB / median round-trip time (the body goes
up and comes back, so twice that many bytes cross the socket).

Memory is measured outside the server, with wasmtime-py: each core module is
instantiated (and `_initialize`d) 200 times in separate stores; "linear
memory" is the guest's memory size at idle, "RSS/instance" is the growth of
this process's resident memory divided by 200, i.e. what an idle instance
really costs (untouched linear memory is not resident). Components are not
measured ("n/a").

Build times: `wasm-server build --force --no-precompile` of the hello example,
cold (XDG_CACHE_HOME pointing at an empty directory: no Go build cache, zig
cache or shared Rust std yet; downloaded dependencies stay where they are)
and warm (the same command again, with that cache filled). Python and
JavaScript are built once, with the user's caches (cold is not run). Before timing requests every
example is built with `wasm-server build` without --no-precompile, so the
compile cache is warm (a component's first compile takes 45-60 s).
"""

from __future__ import annotations

import argparse
import gc
import http.client
import os
import re
import shutil
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

SECTION = "## Languages (issues 4, 12 and 14)"
LANGUAGES = {"c": "C", "cpp": "C++", "rust": "Rust", "go": "Go", "ts": "TypeScript",
             "python": "Python", "js": "JavaScript"}
#: languages whose examples are wasi:http components, not ABI v1 core modules
COMPONENTS = frozenset({"python", "js"})
INSTANCES = 200
#: instance mode → `instance_reuse` written into the manifest
MODES = {"reused": 10000, "fresh": 0}
ECHO_BYTES = 1 << 20
ECHO_ROUNDS = 5
#: issue 12's figures, measured once by the test suite (not by this script); kept in the section
LIBRARIES = """Services built on registry libraries (issue 12; sizes of the modules the test suite built at commit
ac210fda69, not re-measured by this script):

| service | libraries | module |
|---|---|---|
| `examples/json-api/c` | jsmn (Debian) | 53 KiB |
| `examples/json-api/cpp` | nlohmann/json (Debian) + iostream | 369 KiB |
| `examples/json-api/rust` | serde 1.0.229, serde_json 1.0.154, matchit 0.9.2 | 147 KiB |
| `new ts` template | json-as 1.6 (npm) | 33 KiB |
| `tests/reallibs/go/mux` | gorilla/mux v1.8.1 | 8.7 MiB |
| `tests/reallibs/go/echo` | echo v4.16.0 | 9.2 MiB |
| `tests/reallibs/go/chi` | chi v5.5.0 | 10.1 MiB |
| `tests/reallibs/go/gin` | gin v1.12.0 | 40.7 MiB (first compile 122 s; `wasm-server build` caches it) |

Compare languages within one run only: the machine is shared, and its load (the average above) moves
absolute req/s between runs; issue 4 measured C at 33.3k req/s on a different machine.
"""


@dataclass(frozen=True)
class Footprint:
    """Size and idle memory of one module (memory None: a component, not measured)."""

    module_bytes: int
    linear_kib: int | None
    rss_kib_per_instance: float | None


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


def component_footprint(path: Path) -> Footprint:
    """A component's size only: its idle memory is not measured (wasmtime-py's core-module
    instantiation above does not apply, and an estimate would be a made-up number)."""
    return Footprint(path.stat().st_size, None, None)


@dataclass(frozen=True)
class BuildTimes:
    """Seconds to build a hello example with empty compiler caches (None: not run), then with them filled."""

    cold_s: float | None
    warm_s: float


def _cli() -> str:
    return str(Path(sys.executable).parent / "wasm-server")


def build(lang: str, cold: bool) -> tuple[Path, BuildTimes]:
    """Build examples/hello/<lang> (cold then warm, or warm only); return its module and the times.

    Components are built once: componentize-py/-js keep no compiler cache a cold run would empty."""
    example = ROOT / "examples" / "hello" / lang
    times: list[float] = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache} if cold else dict(os.environ)
        for _ in range(2 if cold else 1):
            print(f"{lang:6} building examples/hello/{lang}", file=sys.stderr)
            started = time.monotonic()
            subprocess.run([_cli(), "build", str(example), "--force", "--no-precompile"], check=True, env=env)
            times.append(time.monotonic() - started)
            print(f"{lang:6} built in {times[-1]:.1f} s", file=sys.stderr)
    return next(example.glob("*.wasm")), BuildTimes(times[0] if cold else None, times[-1])


def precompile(example: Path) -> None:
    """`wasm-server build` (rebuilds only if stale) fills the compile cache before anything is timed."""
    print(f"precompiling {example.relative_to(ROOT)}", file=sys.stderr)
    started = time.monotonic()
    subprocess.run([_cli(), "build", str(example)], check=True)
    print(f"precompiled {example.relative_to(ROOT)} in {time.monotonic() - started:.1f} s", file=sys.stderr)


def with_instance_reuse(manifest: str, reuse: int) -> str:
    """``manifest`` (one [[component]]) with its `instance_reuse` set to ``reuse``."""
    lines = [line for line in manifest.splitlines() if not re.match(r"\s*instance_reuse\s*=", line)]
    at = next(i for i, line in enumerate(lines) if line.strip() == "[[component]]")
    lines.insert(at + 1, f"instance_reuse = {reuse}")
    return "\n".join(lines) + "\n"


def staged(example: Path, reuse: int, into: Path) -> Path:
    """A copy of a built example (manifest and module) whose manifest says `instance_reuse = reuse`."""
    into.mkdir(parents=True, exist_ok=True)
    for wasm in example.glob("*.wasm"):
        shutil.copy2(wasm, into / wasm.name)
    manifest = (example / "wasm-server.toml").read_text()
    (into / "wasm-server.toml").write_text(with_instance_reuse(manifest, reuse))
    return into


@dataclass(frozen=True)
class Run:
    """One server start: wrk with 50 connections, then with one."""

    loaded: WrkResult
    single: WrkResult


def throughput(lang: str, duration: int, runs: int) -> dict[str, list[Run]]:
    """wrk against `wasm-server up` of examples/hello/<lang> per instance mode, ``runs`` rounds."""
    out: dict[str, list[Run]] = {}
    example = ROOT / "examples" / "hello" / lang
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            for mode, reuse in MODES.items():  # alternating, so drift hits both modes
                app = staged(example, reuse, Path(tmp) / mode)
                port = free_port()
                proc = start([_cli(), "up", str(app), "--no-build", "--data-dir", str(Path(tmp) / "data"),
                              "--listen", f"127.0.0.1:{port}"], port)
                try:
                    url = f"http://127.0.0.1:{port}/"
                    wrk(url, 1, 50)  # warm-up
                    run = Run(wrk(url, duration, 50), wrk(url, duration, 1))
                    for r in (run.loaded, run.single):
                        if r.non_2xx or r.errors:
                            print(f"warning: {lang} {mode}: {r.non_2xx} non-2xx, {r.errors} socket errors",
                                  file=sys.stderr)
                    print(f"{lang:6} {mode:6} {run.loaded.rps:8.0f} req/s  p99 {run.loaded.p99_ms:6.2f} ms  "
                          f"{1000 / run.single.rps:6.3f} ms/request", file=sys.stderr)
                    out.setdefault(mode, []).append(run)
                finally:
                    proc.terminate()
                    proc.wait(10)
    return out


def echo_rate(lang: str) -> float:
    """MiB/s of a 1 MiB POST round trip to examples/echo/<lang> (median of ECHO_ROUNDS)."""
    body = os.urandom(ECHO_BYTES)
    seconds: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = start([_cli(), "up", str(ROOT / "examples" / "echo" / lang), "--no-build", "--data-dir", tmp,
                      "--listen", f"127.0.0.1:{port}"], port)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for i in range(ECHO_ROUNDS + 1):
                started = time.monotonic()
                conn.request("POST", "/echo/bench", body, {"content-type": "application/octet-stream"})
                resp = conn.getresponse()
                got = resp.read()
                elapsed = time.monotonic() - started
                if resp.status != 200 or got != body:
                    raise RuntimeError(f"examples/echo/{lang}: status {resp.status}, "
                                       f"{len(got)} bytes back for {len(body)}")
                if i:  # the first is the warm-up
                    seconds.append(elapsed)
            conn.close()
        finally:
            proc.terminate()
            proc.wait(10)
    rate = ECHO_BYTES / (1 << 20) / statistics.median(seconds)
    print(f"{lang:6} echo 1 MiB: {rate:.1f} MiB/s", file=sys.stderr)
    return rate


@dataclass(frozen=True)
class Row:
    """Everything measured for one language."""

    footprint: Footprint
    build: BuildTimes
    runs: dict[str, list[Run]]
    echo_mib_s: float


def _kib(value: float | None) -> str:
    return "n/a (component)" if value is None else f"{value:.0f} KiB"


def _median(runs: list[Run], figure: str) -> float:
    if figure == "rps":
        return statistics.median(r.loaded.rps for r in runs)
    if figure == "p99":
        return statistics.median(r.loaded.p99_ms for r in runs)
    return 1000 / statistics.median(r.single.rps for r in runs)


def bad_responses(lang: str, runs: dict[str, list[Run]]) -> str:
    """A note on the non-2xx responses and socket errors of a language's wrk runs (wrk counts them
    in req/s), or "" when there were none."""
    parts = []
    for mode, mode_runs in runs.items():
        results = [r for run in mode_runs for r in (run.loaded, run.single)]
        bad, errors = sum(r.non_2xx for r in results), sum(r.errors for r in results)
        if bad or errors:
            parts.append(f"{bad} non-2xx responses and {errors} socket errors in the {mode} runs")
    return f"{LANGUAGES[lang]}: " + ", ".join(parts) + " (wrk counts them in req/s)." if parts else ""


def report(rows: dict[str, Row], command: str, duration: int, failed: dict[str, str] | None = None) -> str:
    """The RESULTS.md section."""
    lines = [
        SECTION, "",
        f"Date: {time.strftime('%Y-%m-%d')}. Machine: {machine()}.", "",
        f"Command: `{command}`", "",
        "`examples/hello/<lang>` per language, served alone by `wasm-server up` (1 worker, server on core 0, "
        "wrk on core 1). Each run starts the server twice: *reused* (`instance_reuse = 10000`, what the "
        "examples' manifests say) and *fresh* (`instance_reuse = 0`, a new instance per request, the manifest "
        f"default); 1 s warm-up, then wrk {duration} s with 50 connections (req/s, p99 ms; medians over the "
        f"runs), then wrk {duration} s with one connection: *ms/request* is 1000 / (req/s at one connection), "
        "the whole round trip of one request, wrk and the HTTP layer included.",
        f"*Echo MiB/s*: a 1 MiB POST to `examples/echo/<lang>` (/echo/bench, its manifest's mode: fresh "
        f"instances), 1 MiB / median round trip of {ECHO_ROUNDS} after a warm-up, one keep-alive connection "
        "(the body goes up and comes back).",
        f"Memory: {INSTANCES} idle core-module instances in separate stores (wasmtime-py, default allocator); "
        "not measured for components (n/a).",
        "The compile cache was filled (`wasm-server build`) before any request was timed.", "",
        "| language | ABI | req/s reused | req/s fresh | p99 ms reused / fresh | ms/request reused / fresh "
        "| echo 1 MiB | module size | linear memory at idle | RSS per idle instance | build cold | build warm |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for lang, row in rows.items():
        fp, times, runs = row.footprint, row.build, row.runs
        abi = "wasi:http component" if lang in COMPONENTS else "ABI v1"
        cold = "not run" if times.cold_s is None else f"{times.cold_s:.1f} s"
        lines.append(
            f"| {LANGUAGES[lang]} | {abi} | {_median(runs['reused'], 'rps'):.0f} | {_median(runs['fresh'], 'rps'):.0f} "
            f"| {_median(runs['reused'], 'p99'):.2f} / {_median(runs['fresh'], 'p99'):.2f} "
            f"| {_median(runs['reused'], 'ms'):.3f} / {_median(runs['fresh'], 'ms'):.3f} "
            f"| {row.echo_mib_s:.1f} MiB/s | {fp.module_bytes / 1024:.0f} KiB | {_kib(fp.linear_kib)} "
            f"| {_kib(fp.rss_kib_per_instance)} | {cold} | {times.warm_s:.1f} s |")
    lines += [f"| {LANGUAGES[lang]} | not measured: {why} |" for lang, why in (failed or {}).items()]
    lines += [""] + [note for lang, row in rows.items() if (note := bad_responses(lang, row.runs))]
    lines += [
        "",
        "Go's size and memory are its runtime and garbage collector (net/http is linked in because handlers "
        "are `http.Handler`s); AssemblyScript, C, C++ and Rust carry almost no runtime. The Python and "
        "JavaScript components carry their interpreters (CPython via componentize-py, StarlingMonkey/"
        "SpiderMonkey via componentize-js) in the component, pre-initialised at build time, which is "
        "what their size and a fresh instance's cost are.",
        "",
        "Build cold is `wasm-server build --force --no-precompile` with `XDG_CACHE_HOME` pointing at an empty "
        "directory, so it includes each toolchain's one-time work (zig building wasi-libc and libc++, Rust's "
        "std for wasm32-wasip1, Go's standard library); warm is the same command again. Python and "
        "JavaScript are built once, with the user's caches (cold not run: a componentize-py/-js build is "
        "about half a minute each time); TypeScript's asc has no cache.",
        "",
        LIBRARIES,
    ]
    return "\n".join(lines)


def measure(lang: str, duration: int, runs: int, cold: bool) -> Row:
    """Build, size, precompile and load one language's examples."""
    module, times = build(lang, cold)
    fp = component_footprint(module) if lang in COMPONENTS else footprint(module)
    print(f"{lang:6} {fp.module_bytes} bytes, linear {_kib(fp.linear_kib)}, "
          f"RSS {_kib(fp.rss_kib_per_instance)}/instance", file=sys.stderr)
    precompile(ROOT / "examples" / "hello" / lang)
    precompile(ROOT / "examples" / "echo" / lang)
    return Row(fp, times, throughput(lang, duration, runs), echo_rate(lang))


def main() -> int:
    """Run the benchmark and record it."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="1 run of 2 s per language and mode, no cold builds")
    p.add_argument("--no-cold", action="store_true", help="skip the cold builds (reported as 'not run')")
    p.add_argument("--lang", action="append", choices=sorted(LANGUAGES), help="only these languages")
    p.add_argument("--no-record", action="store_true", help="print the section, do not write RESULTS.md")
    args = p.parse_args()
    if args.quick:
        args.duration, args.runs, args.no_cold = 2, 1, True
    rows: dict[str, Row] = {}
    failed: dict[str, str] = {}
    for lang in args.lang or list(LANGUAGES):
        try:
            rows[lang] = measure(lang, args.duration, args.runs, cold=not args.no_cold and lang not in COMPONENTS)
        except (subprocess.SubprocessError, OSError, RuntimeError, ValueError) as exc:
            # one broken example must not throw away the other languages' figures of a long run
            print(f"{lang:6} FAILED: {exc}", file=sys.stderr)
            failed[lang] = str(exc)
    section = report(rows, ("python benchmarks/languages.py " + " ".join(sys.argv[1:])).strip(), args.duration,
                     failed)
    print(section)
    if not args.no_record:
        write_section(SECTION, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
