"""The "Targets" section of RESULTS.md: every issue-13 target the last
`scripts/bench` run measured, met or missed and by how much.

    .venv/bin/python benchmarks/summary.py            # write the section from the recorded figures
    .venv/bin/python benchmarks/summary.py --reset    # forget the recorded figures (start of a run)

Each benchmark records its targets in ~/.cache/wasm-server/bench/figures/
(suite.record); this only collects them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, machine, write_section
from suite import FIGURES, Target, load_targets

SECTION = "## Targets (issue 13)"
TITLES = {"http": "HTTP hello", "calls": "Host↔guest calls", "cold_start": "Cold start",
          "compute": "Compute", "density": "Density", "resp": "RESP (raw TCP + KV)", "kv": "KV"}


def tree_line() -> str:
    """Which wasm-server was measured: the checkout's commit and whether wasm_server/ had local changes."""
    import subprocess

    from common import ROOT

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    dirty = bool(git("status", "--porcelain", "--", "wasm_server"))
    return (f"wasm-server measured from the checkout at {git('rev-parse', '--short', 'HEAD')}"
            + (" with uncommitted changes in wasm_server/ (work in progress by others)." if dirty else "."))


def quiet_line(quiet: dict[str, dict[str, float]]) -> str:
    """How busy the machine was (other work) right before each benchmark."""
    parts = [f"{name} {v['busy']:.0%}" + (f" after waiting {v['waited']:.0f} s" if v["waited"] >= 1 else "")
             for name, v in quiet.items()]
    return "CPU busy with other work just before each benchmark: " + ", ".join(parts) + "."


def section(targets: dict[str, list[Target]], command: str, load: str = "",
            quiet: dict[str, dict[str, float]] | None = None) -> str:
    """The Markdown section for ``targets`` (by benchmark); ``load``: the load average when the run began."""
    rows = [t for name in TITLES for t in targets.get(name, [])]
    met = sum(t.met for t in rows)
    lines = [
        SECTION, "", f"Date: {time.strftime('%Y-%m-%d')}. Machine: {machine()}.", "",
        f"Command: `{command}` (each benchmark's own section has its command and runs).", "",
        *([f"Load average when the run began: {load} (the machine is shared; other processes add noise).", ""]
          if load else []),
        *([quiet_line(quiet), ""] if quiet else []),
        tree_line(), "",
        f"{met} of {len(rows)} targets met.", "",
        "| benchmark | target | measured | target | verdict |", "|---|---|---|---|---|",
    ]
    for name, title in TITLES.items():
        for t in targets.get(name, []):
            lines.append(f"| {title} " + t.row())
    missing = [TITLES[n] for n in TITLES if n not in targets and n != "kv"]
    if missing:
        lines += ["", f"Not measured in this run: {', '.join(missing)}."]
    return "\n".join(lines) + "\n"


def place_first(old: str, title: str, text: str) -> str:
    """``old`` (RESULTS.md) with section ``title`` replaced, or inserted right after the file's heading."""
    if title in old:
        return old  # write_section replaces it where it is
    head, sep, rest = old.partition("\n\n")
    return head + "\n\n" + text + "\n" + (rest if sep else "")


def write_first(title: str, text: str) -> None:
    """Write the section; a new one goes to the top of RESULTS.md, where readers look first."""
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    if title in old:
        write_section(title, text)
    else:
        RESULTS.write_text(place_first(old, title, text))


def main() -> int:
    """Write the section, or reset the recorded figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reset", action="store_true")
    ap.add_argument("--command", default="scripts/bench")
    ap.add_argument("--load", default="", help="the load average when the run began")
    args = ap.parse_args()
    if args.reset:
        for path in FIGURES.glob("*.json"):  # quiet.json too
            path.unlink()
        return 0
    quiet_file = FIGURES / "quiet.json"
    quiet = json.loads(quiet_file.read_text()) if quiet_file.exists() else None
    targets = {k: v for k, v in load_targets().items() if k != "quiet"}
    text = section(targets, args.command, args.load, quiet)
    print(text)
    write_first(SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
