"""HTTP hello side by side: wasm-server against Node+V8 on the same module and
against `wasmtime serve`, req/s, p50 and p99 (issue 5).

    .venv/bin/python benchmarks/http_peers.py [--duration 5] [--runs 3] [--connections 50] [--quick]

Servers (1 core unless named "2 cores"): wasm-server (examples/hello/c,
1 worker); wasm-server --workers 2; Node+V8 running the same hello.wasm
through hosts/js/serve.mjs; two serve.mjs processes under node:cluster;
plain Node http (benchmarks/node_hello.js); `wasmtime serve` with the
wasi:http hello component (benchmarks/wasi-http-hello), with and without
`-O pooling-allocator`. 1-core servers run on core 0 and wrk on core 1;
2-core servers run on cores 0-1 and share core 1 with wrk. Rounds alternate
the servers; medians of the runs and the ratios go to RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers
import wasi_http_hello
from common import ROOT, free_port, machine, write_section
from suite import HttpResult, Target, fmt, median, record, server, wrk

SECTION = "## HTTP hello side by side (issue 5)"
CLI = str(Path(sys.executable).parent / "wasm-server")
HELLO_WASM = ROOT / "examples/hello/c/hello.wasm"


def fresh_app(directory: Path) -> Path:
    """An app serving examples/hello/c's module without ``instance_reuse`` (a fresh instance per request)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "wasm-server.toml").write_text(
        f'[[component]]\nname = "hello-c-fresh"\nsource = "{HELLO_WASM}"\nroutes = ["/..."]\n')
    return directory


def servers(data_dir: Path, p: peers.Peers, component: Path) -> dict[str, tuple[list[str], str]]:
    """name → (command with {port}, cores)."""
    listen = ["--no-build", "--data-dir", str(data_dir), "--listen", "127.0.0.1:{port}"]
    up = [CLI, "up", str(ROOT / "examples/hello/c"), *listen]
    serve = [str(p.node), str(ROOT / "hosts/js/serve.mjs"), str(HELLO_WASM), "--port", "{port}"]
    wt = [str(p.wasmtime), "serve", "--addr", "127.0.0.1:{port}"]
    return {
        "wasm-server": (up, "0"),
        "node+v8": (serve, "0"),
        "wasmtime serve reuse": ([*wt, "--max-instance-reuse-count", "1000000", str(component)], "0"),
        "wasm-server fresh": ([CLI, "up", str(fresh_app(data_dir / "fresh")), *listen], "0"),
        "wasmtime serve": ([*wt, str(component)], "0"),
        "wasmtime serve pooling": ([*wt, "-O", "pooling-allocator", str(component)], "0"),
        "node http": ([str(p.node), str(ROOT / "benchmarks/node_hello.js"), "{port}"], "0"),
        "wasm-server 2 workers": ([*up, "--workers", "2"], "0,1"),
        "node+v8 cluster 2": ([str(p.node), str(ROOT / "benchmarks/node_cluster.mjs"), "--workers", "2",
                               str(HELLO_WASM), "--port", "{port}"], "0,1"),
    }


def measure(duration: int, runs: int, connections: int, p: peers.Peers, component: Path,
            only: list[str] | None) -> dict[str, list[HttpResult]]:
    """Alternate the servers for ``runs`` rounds; every run's result by server."""
    results: dict[str, list[HttpResult]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            for name, (cmd, cores) in servers(Path(tmp), p, component).items():
                if only and name not in only:
                    continue
                port = free_port()
                with server([c.replace("{port}", str(port)) for c in cmd], port, cores):
                    url = f"http://127.0.0.1:{port}/"
                    wrk(url, 1, connections)  # warm-up
                    r = wrk(url, duration, connections)
                if r.bad:
                    print(f"warning: {name}: {r.bad} non-2xx or socket errors", file=sys.stderr)
                results.setdefault(name, []).append(r)
                print(f"{name:24} {r.rps:9.0f} req/s  p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:6.2f} ms",
                      file=sys.stderr)
    return results


def medians(results: dict[str, list[HttpResult]]) -> dict[str, HttpResult]:
    """Median req/s, p50, p99 per server."""
    return {k: HttpResult(median([r.rps for r in v]), median([r.p50_ms for r in v]),
                          median([r.p99_ms for r in v]), sum(r.bad for r in v)) for k, v in results.items()}


def paired_ratio(a: list[float], b: list[float]) -> float:
    """Median of the per-round ratios a[i] / b[i] (a round runs every server once, so drift between
    rounds cancels out)."""
    return median([x / y for x, y in zip(a, b, strict=False) if y > 0])


def targets(results: dict[str, list[HttpResult]]) -> list[Target]:
    """Issue 13's HTTP targets (those whose servers ran), as medians of per-round ratios."""
    out: list[Target] = []
    pairs = (("wasm-server", "node+v8", 2.0), ("wasm-server", "wasmtime serve reuse", 1.2),
             ("wasm-server fresh", "wasmtime serve", 1.2), ("wasm-server fresh", "wasmtime serve pooling", 1.2),
             ("wasm-server 2 workers", "node+v8 cluster 2", 2.0))
    for ours, peer, floor in pairs:
        if ours in results and peer in results:
            a, b = results[ours], results[peer]
            cores = "2 cores" if ours.endswith("workers") else "1 core"
            out.append(Target(f"req/s {ours} / {peer} ({cores})", paired_ratio([r.rps for r in a], [r.rps for r in b]),
                              floor, "×", True))
            out.append(Target(f"p99 {ours} / {peer} ({cores})",
                              paired_ratio([r.p99_ms for r in a], [r.p99_ms for r in b]), 1.0, "×", False))
    return out


def report(results: dict[str, list[HttpResult]], command: str, versions: dict[str, str], duration: int,
           connections: int) -> str:
    """The RESULTS.md section."""
    med = medians(results)
    lines = [
        SECTION, "",
        f"Date: {time.strftime('%Y-%m-%d')}. Machine: {machine()}; {versions['wasmtime']}.", "",
        f"Command: `{command}`", "",
        f"wrk -t1 -c{connections} -d{duration}s --latency after a 1 s warm-up, runs alternating between servers.",
        "1-core servers pinned to core 0, wrk to core 1. The two \"2 cores\" rows pin the server to cores 0-1,",
        "so it shares core 1 with wrk. Every server answers `Hello from C\\npath: /\\n` except `node http`",
        "(`Hello from Node…`, no wasm). wasm-server and node+v8 run the same `examples/hello/c/hello.wasm`",
        "with reused instances (`instance_reuse`; serve.mjs keeps one); `wasm-server fresh` serves it with a",
        "fresh instance per request (no `instance_reuse`, the manifest default). `wasmtime serve` runs",
        "`benchmarks/wasi-http-hello` (WAT, no runtime) with a fresh instance per request (its default for",
        "wasip2 components), `wasmtime serve reuse` with `--max-instance-reuse-count 1000000`.",
        "Targets compare like with like: reused against reused, fresh against fresh; each ratio is the median",
        "of the per-round ratios (a round runs every server once, so load drift between rounds cancels out).", "",
        "| server | cores | req/s (median) | p50 ms | p99 ms | runs (req/s) |",
        "|---|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        m = med[name]
        cores = "2" if name.endswith(" 2") or "workers" in name else "1"
        bad = f" ({m.bad} bad)" if m.bad else ""
        lines.append(f"| {name} | {cores} | {m.rps:.0f}{bad} | {m.p50_ms:.2f} | {m.p99_ms:.2f} | "
                     f"{', '.join(f'{r.rps:.0f}' for r in runs)} |")
    lines += ["", "| target | measured | target | verdict |", "|---|---|---|---|"]
    lines += [t.row() for t in targets(results)]
    if "wasm-server fresh" in med and "wasm-server" in med:
        cost = 1e6 / med["wasm-server fresh"].rps - 1e6 / med["wasm-server"].rps
        lines += ["", f"A fresh instance per request costs wasm-server {cost:.0f} µs per request here "
                  "(1/req/s fresh − 1/req/s reused, medians)."]
    if "node http" in med and "wasm-server" in med:
        lines += ["", f"wasm-server / plain Node http: {fmt(med['wasm-server'].rps / med['node http'].rps)}×."]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Run the benchmark and record it."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--only", action="append", help="only this server (repeatable)")
    ap.add_argument("--quick", action="store_true", help="1 run of 2 s per server (smoke test)")
    args = ap.parse_args()
    if args.quick:
        args.duration, args.runs = 2, 1
    p = peers.ensure()
    component = wasi_http_hello.build(p.wasm_tools)
    import subprocess
    subprocess.run([CLI, "build", str(ROOT / "examples/hello/c")], check=True, stdout=subprocess.DEVNULL)
    results = measure(args.duration, args.runs, args.connections, p, component, args.only)
    command = ("python benchmarks/http_peers.py " + " ".join(sys.argv[1:])).strip()
    section = report(results, command, peers.versions(p), args.duration, args.connections)
    print(section)
    write_section(SECTION, section)
    record("http", targets(results), {f"{k} req/s": v.rps for k, v in medians(results).items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
