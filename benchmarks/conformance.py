"""The spec conformance report: every .wast of the WebAssembly testsuite on the server's engine.

Runs each script of ``../shared/wasm-testsuite`` (or ``--suite DIR``) through
``benchmarks/wast.py`` in its own process (a crash or a hang of one script cannot take the
others with it: each has ``--timeout`` seconds), then rewrites the measured part of
docs/conformance.md (between its ``conformance:begin`` / ``conformance:end`` markers): totals,
per proposal, per file, and the failure causes with their counts and an example.

    .venv/bin/python benchmarks/conformance.py              # the whole suite, writes the doc
    .venv/bin/python benchmarks/conformance.py --only simd  # files whose path contains "simd", prints

The engine is :func:`wasm_server.app.engine_for`'s (see wast.py); ``WASM_SERVER_POOL_*``
variables change it as they change the server's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import wasmtime  # noqa: F401 - the version is reported

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wast import Outcome, ScriptResult

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT.parent / "shared" / "wasm-testsuite"
DOC = ROOT / "docs" / "conformance.md"


def markers(section: str) -> tuple[str, str]:
    """The comments that delimit a measured section of the doc."""
    return f"<!-- {section}:begin -->", f"<!-- {section}:end -->"


#: which proposal a top-level file tests (the testsuite merges finished proposals into core);
#: the first pattern that matches the file name wins, else "core (MVP + small merged proposals)"
_TOP_LEVEL = [
    (r"^(relaxed_|i16x8_relaxed|i32x4_relaxed|i8x16_relaxed)", "relaxed-simd"),
    (r"^simd_memory-multi", "multi-memory"),
    (r"^simd_", "simd"),
    (r"^(throw|throw_ref|try_table|tag|unwind)\.wast$|^exceptions", "exception-handling"),
    (r"^(return_call|return_call_indirect)\.wast$", "tail-call"),
    (r"^(call_ref|return_call_ref|br_on_null|br_on_non_null|ref_as_non_null|local_init)\.wast$",
     "function-references"),
    (r"^(array|struct|i31|br_on_cast|ref_cast|ref_test|ref_eq|extern|type-canon|type-equivalence|type-rec|"
     r"type-subtyping|binary-gc)", "gc"),
    (r"64(-imports)?\.wast$|^memory64|^binary_leb128_64", "memory64"),
    (r"^(memory-multi|simd_memory-multi)|^(address|align|binary|data|exports|float_exprs|float_memory|imports|"
     r"linking|load|memory_copy|memory_fill|memory_init|memory_size|memory_trap|start|store|traps)\d\.wast$",
     "multi-memory"),
    (r"^(bulk|memory_copy|memory_fill|memory_init|data_drop|table_copy|table_init|elem)", "bulk-memory"),
    (r"^(table_|table\.|table-sub|ref_null|ref_func|ref_is_null|select)", "reference-types"),
    (r"^annotations|^instance\.wast$|^switch\.wast$", "other"),
]


def proposal_of(rel: Path) -> str:
    """The proposal a script belongs to (its directory, or its name for top-level files)."""
    parts = rel.parts
    if parts[0] == "proposals":
        return parts[1]
    if parts[0] == "legacy":
        return "legacy exception-handling"
    if parts[0] == "custom":
        return "custom annotations"
    for pattern, name in _TOP_LEVEL:
        if re.search(pattern, rel.name):
            return name
    return "core"


@dataclass(frozen=True, slots=True)
class FileRow:
    """One script's counts (and how long it took)."""

    rel: str
    proposal: str
    passed: int
    failed: int
    skipped: int
    seconds: float
    error: str
    outcomes: tuple[Outcome, ...]


def run_one(wast: Path, suite: Path, timeout: float, manifest: Path | None) -> FileRow:
    """Run one script in a child process; a crash or a timeout becomes the row's error."""
    rel = wast.relative_to(suite)
    cmd = [sys.executable, str(Path(__file__).with_name("wast.py")), str(wast), "--json"]
    if manifest is not None:
        cmd += ["--manifest", str(manifest)]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return FileRow(str(rel), proposal_of(rel), 0, 0, 0, timeout, f"timed out after {timeout:.0f} s", ())
    took = time.monotonic() - start
    if proc.returncode != 0 or not proc.stdout.strip():
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return FileRow(str(rel), proposal_of(rel), 0, 0, 0, took, f"runner exited {proc.returncode}: {tail}", ())
    raw = json.loads(proc.stdout)
    outcomes = tuple(Outcome(**o) for o in raw["outcomes"])
    result = ScriptResult(raw["path"], outcomes, raw["error"], raw["unconverted"])
    return FileRow(str(rel), proposal_of(rel), result.count("passed"), result.count("failed"),
                   result.count("skipped"), took, result.error, outcomes)


def scripts(suite: Path, only: str | None) -> list[Path]:
    """Every .wast of the suite (proposal directories included), sorted."""
    found = sorted(suite.rglob("*.wast"))
    return [p for p in found if only is None or only in str(p.relative_to(suite))]


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def _git_commit() -> str:
    proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                          check=False)
    # the report's own doc does not count: the first of two runs has just rewritten it
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                            ":!docs/conformance.md"], capture_output=True, text=True, cwd=ROOT,
                           check=False).stdout.strip()
    return proc.stdout.strip() + (" + uncommitted changes" if dirty else "")


def _suite_source(suite: Path) -> str:
    source = suite / "SOURCE.md"
    if source.exists():
        found = re.search(r"commit ([0-9a-f]{7,40})", source.read_text())
        if found:
            return f"testsuite commit {found.group(1)}"
    return "testsuite (unknown commit)"


def report(rows: Sequence[FileRow], suite: Path, took: float, argv: Sequence[str],
           section: str = "conformance") -> str:
    """The measured part of docs/conformance.md."""
    from importlib.metadata import version

    begin, end = markers(section)
    command = [".venv/bin/python", "benchmarks/conformance.py"]
    pool_env = " ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("WASM_SERVER_POOL_"))
    total = Counter[str]()
    by_proposal: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        for key, n in (("passed", r.passed), ("failed", r.failed), ("skipped", r.skipped), ("files", 1)):
            total[key] += n
            by_proposal[r.proposal][key] += n
    causes: dict[tuple[str, str], list[tuple[str, Outcome]]] = defaultdict(list)
    for r in rows:
        for o in r.outcomes:
            if o.status != "passed":
                causes[(o.status, o.cause)].append((r.rel, o))
    lines = [
        begin,
        "",
        f"Measured by `{' '.join([*([pool_env] if pool_env else []), *command, *argv])}` "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {took:.0f} s): wasm-server {_git_commit()}, "
        f"wasmtime-py {version('wasmtime')}, wasm-tools {_wasm_tools_version()}, {_suite_source(suite)}, "
        f"{total['files']} scripts.",
        "",
        f"**{total['passed']} commands passed, {total['failed']} failed, {total['skipped']} skipped.**",
        "",
        "### Per proposal",
        "",
        *_table(["proposal", "files", "passed", "failed", "skipped"],
                ((p, c["files"], c["passed"], c["failed"], c["skipped"])
                 for p, c in sorted(by_proposal.items(), key=lambda kv: (-kv[1]["passed"], kv[0])))),
        "",
        "### Why commands failed or were skipped",
        "",
        "Grouped by cause (numbers and names replaced by N and `…`); \"its module was refused\" "
        "counts the commands of a module that did not load.",
        "",
        *_table(["status", "commands", "cause", "files", "example"],
                ((status, len(items), cause.replace("|", "\\|"), len({f for f, _ in items}),
                  f"{items[0][0]}:{items[0][1].line} {items[0][1].command}"
                  + (f" — {items[0][1].detail[:120]}".replace("|", "\\|") if items[0][1].detail else ""))
                 for (status, cause), items in sorted(causes.items(), key=lambda kv: -len(kv[1])))),
        "",
        "### Per file",
        "",
        *_table(["file", "proposal", "passed", "failed", "skipped", "s", "note"],
                ((r.rel, r.proposal, r.passed, r.failed, r.skipped, f"{r.seconds:.1f}", r.error.replace("|", "\\|"))
                 for r in rows)),
        "",
        end,
    ]
    return "\n".join(lines)


def _wasm_tools_version() -> str:
    tool = Path(sys.executable).parent / "wasm-tools"
    proc = subprocess.run([str(tool), "--version"], capture_output=True, text=True, check=False)
    return proc.stdout.split()[1] if proc.returncode == 0 and len(proc.stdout.split()) > 1 else "?"


def write_doc(section: str, name: str = "conformance", doc: Path = DOC) -> None:
    """Replace the measured section ``name`` of the doc (or append it when its markers are missing)."""
    begin, end = markers(name)
    text = doc.read_text() if doc.exists() else "# Spec conformance\n\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    doc.write_text(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite; write docs/conformance.md unless ``--only`` or ``--no-write``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--suite", type=Path, default=SUITE, help=f"the testsuite checkout (default {SUITE})")
    parser.add_argument("--only", help="run only scripts whose path contains this (prints, does not write)")
    parser.add_argument("--jobs", type=int, default=max(1, min(2, os.cpu_count() or 1)), help="scripts at once")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per script")
    parser.add_argument("--manifest", type=Path, help="build the engine for this app's manifest")
    parser.add_argument("--no-write", action="store_true", help="print the report instead of writing the doc")
    parser.add_argument("--section", default="conformance",
                        help="which measured section of the doc to rewrite (its <!-- NAME:begin --> marker)")
    args = parser.parse_args(argv)
    if not args.suite.is_dir():
        print(f"no testsuite at {args.suite}: pass --suite DIR (a checkout of github.com/WebAssembly/testsuite)",
              file=sys.stderr)
        return 2
    files = scripts(args.suite, args.only)
    start = time.monotonic()
    rows: list[FileRow] = []
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_one, f, args.suite, args.timeout, args.manifest) for f in files]
        for i, fut in enumerate(futures, 1):
            row = fut.result()
            rows.append(row)
            print(f"[{i}/{len(files)}] {row.rel}: {row.passed} passed, {row.failed} failed, {row.skipped} skipped "
                  f"({row.seconds:.1f} s){' ' + row.error if row.error else ''}", file=sys.stderr, flush=True)
    took = time.monotonic() - start
    passed_argv = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--no-write"]
    section = report(rows, args.suite, took, passed_argv, args.section)
    if args.only or args.no_write:
        print(section)
    else:
        write_doc(section, args.section)
        print(f"wrote {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
