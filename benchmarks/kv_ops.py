"""KV: guest-driven get/set operations per second on SQLite (issue 5).

    .venv/bin/python benchmarks/kv_ops.py [--duration 4] [--runs 3] [--connections 10] [--quick]

benchmarks/guests/kv_ops (C) does 100 KV operations per request on the
"default" store (SQLite in --data-dir): `/set` 100 sets, `/get` 100 gets,
`/mixed` 50 sets then 50 gets; ops/s = 100 × req/s. Also
examples/kv-counter/c under `POST /count` (one `kv_incr` per request).
Server on core 0 (1 worker), wrk on core 1. Median of the runs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, free_port, machine, write_section
from suite import HttpResult, fmt, median, record, server, wrk

SECTION = "## KV operations on SQLite (issue 5)"
CLI = str(Path(sys.executable).parent / "wasm-server")
GUEST = ROOT / "benchmarks/guests/kv_ops"
COUNTER = ROOT / "examples/kv-counter/c"
OPS = 100
POST_LUA = 'wrk.method = "POST"\n'


def one_run(duration: int, connections: int, tmp: Path) -> dict[str, HttpResult]:
    """One server per app, every mode; fresh data dir."""
    out: dict[str, HttpResult] = {}
    data = tmp / f"data-{time.monotonic_ns()}"
    port = free_port()
    with server([CLI, "up", str(GUEST), "--no-build", "--data-dir", str(data), "--listen", f"127.0.0.1:{port}"],
                port):
        wrk(f"http://127.0.0.1:{port}/set", 1, connections)  # warm-up, and the keys /get reads
        for mode in ("set", "get", "mixed"):
            out[mode] = wrk(f"http://127.0.0.1:{port}/{mode}", duration, connections)
    script = tmp / "post.lua"
    script.write_text(POST_LUA)
    port = free_port()
    with server([CLI, "up", str(COUNTER), "--no-build", "--data-dir", str(data), "--listen", f"127.0.0.1:{port}"],
                port):
        wrk(f"http://127.0.0.1:{port}/count", 1, connections, script=script)
        out["kv-counter POST (incr)"] = wrk(f"http://127.0.0.1:{port}/count", duration, connections, script=script)
    return out


def main() -> int:
    """Run the benchmark and record it."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="1 run of 2 s per mode")
    args = ap.parse_args()
    if args.quick:
        args.duration, args.runs = 2, 1
    for app in (GUEST, COUNTER):
        subprocess.run([CLI, "build", str(app)], check=True, stdout=subprocess.DEVNULL)
    runs: list[dict[str, HttpResult]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            runs.append(one_run(args.duration, args.connections, Path(tmp)))
            print({k: f"{v.rps:.0f} req/s, {v.bad} bad" for k, v in runs[-1].items()}, file=sys.stderr)
    command = ("python benchmarks/kv_ops.py " + " ".join(sys.argv[1:])).strip()
    lines = [
        SECTION, "", f"Date: {time.strftime('%Y-%m-%d')}. Machine: {machine()}.", "", f"Command: `{command}`", "",
        f"wrk -c{args.connections} for {args.duration} s per mode; server (1 worker, SQLite store) on core 0, wrk "
        "on core 1. `set`/`get`/`mixed`: benchmarks/guests/kv_ops, 100 KV calls per request; kv-counter: one "
        "`kv_incr` per POST.", "",
        "| workload | KV ops/s (median) | req/s (median) | p99 ms | runs (ops/s) |", "|---|---|---|---|---|",
    ]
    figures: dict[str, float] = {}
    for key in runs[0]:
        per = 1 if key.startswith("kv-counter") else OPS
        rps = median([r[key].rps for r in runs])
        bad = sum(r[key].bad for r in runs)
        figures[f"{key} ops/s"] = rps * per
        lines.append(f"| {key} | {rps * per:.0f}{f' ({bad} bad)' if bad else ''} | {rps:.0f} | "
                     f"{fmt(median([r[key].p99_ms for r in runs]))} | "
                     f"{', '.join(f'{r[key].rps * per:.0f}' for r in runs)} |")
    lines += ["", "No target in the issue for KV ops/s; the figures are for comparison between runs.", ""]
    section = "\n".join(lines)
    print(section)
    write_section(SECTION, section)
    record("kv", [], figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
