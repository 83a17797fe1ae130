"""Wait (bounded) until the machine is quiet before a benchmark, and note how busy it was.

    .venv/bin/python benchmarks/quiet.py NAME [--max-wait 60] [--threshold 0.15]

Samples /proc/stat for 1 s at a time: the share of both cores busy with
anything (before the benchmark starts, that is other people's work). Waits
while it is above the threshold, up to --max-wait seconds, then records the
last sample for NAME in the figures directory (the summary lists them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suite import FIGURES

QUIET = FIGURES / "quiet.json"


def cpu_times(stat: str) -> tuple[int, int]:
    """(busy, total) jiffies from the ``cpu`` line of /proc/stat text."""
    fields = [int(x) for x in stat.splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def busy_share(interval: float = 1.0) -> float:
    """Share of all CPUs busy over ``interval`` seconds."""
    b0, t0 = cpu_times(Path("/proc/stat").read_text())
    time.sleep(interval)
    b1, t1 = cpu_times(Path("/proc/stat").read_text())
    return (b1 - b0) / max(t1 - t0, 1)


def wait_quiet(max_wait: float, threshold: float) -> tuple[float, float]:
    """Returns (last busy share, seconds waited)."""
    start = time.monotonic()
    share = busy_share()
    while share > threshold and time.monotonic() - start < max_wait:
        share = busy_share()
    return share, time.monotonic() - start


def main() -> int:
    """Wait, then record."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name")
    ap.add_argument("--max-wait", type=float, default=60.0)
    ap.add_argument("--threshold", type=float, default=0.15)
    args = ap.parse_args()
    share, waited = wait_quiet(args.max_wait, args.threshold)
    FIGURES.mkdir(parents=True, exist_ok=True)
    data = json.loads(QUIET.read_text()) if QUIET.exists() else {}
    data[args.name] = {"busy": share, "waited": waited}
    QUIET.write_text(json.dumps(data))
    print(f"[bench] {args.name}: machine {share:.0%} busy before start (waited {waited:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
