"""Host↔guest call overhead, µs per call: wasm-server's engine against V8 (issue 5).

    .venv/bin/python benchmarks/calls.py [--calls 200000] [--runs 3] [--quick]
    .venv/bin/python benchmarks/calls.py --instructions     # callgrind: instructions per call

One WAT guest (below) for both: host→guest calls its trivial export ``nop``
N times; guest→host calls ``call_host(N)``, a guest loop calling the
trivial import ``wasm_server.result_read`` N times. wasm-server: an instance
made by ``wasm_server.engine.GuestInstance.create`` in the server's Runtime
(all host imports defined, epoch interruption, pooling), calls through the
engine's async call path (``_lowlevel.call``: call + first poll) and the
import through its sync trampoline. V8: benchmarks/calls.mjs, plain
WebAssembly in Node. Best of 5 batches per process, median of the runs; each
process pinned to core 0.

``--instructions`` counts instead of timing: each direction runs under
``valgrind --tool=callgrind`` with 2,000 and 22,000 calls, and the difference over
20,000 is the instructions per call (start-up and warm-up cancel out), which other
people's load on a shared machine does not move. It prints; it does not write RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers
from common import ROOT, machine, write_section
from suite import Target, fmt, median, record

SECTION = "## Host↔guest calls (issue 5)"
WAT = """
(module
  (import "wasm_server" "result_read" (func $rr (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "nop") (result i32) (i32.const 0))
  (func (export "call_host") (param $n i32) (result i32)
    (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (call $rr (i32.const 0) (i32.const 0))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $acc)))
"""


async def _engine(calls: int, once: str = "") -> dict[str, float]:
    import wasmtime

    from wasm_server.capabilities import ALL_IMPORTS, ComponentHost
    from wasm_server.engine import GuestInstance, Limits, Runtime
    from wasm_server.engine import _lowlevel as ll

    rt = Runtime(None, ALL_IMPORTS, pool_size=2 if once else None)  # valgrind cannot map a big pool
    try:
        loaded = rt.load(bytes(wasmtime.wat2wasm(WAT)), "calls.wat")
        host = ComponentHost("calls", logging.getLogger("bench"), {}, frozenset())
        inst = await GuestInstance.create(rt, loaded, host.new_call(), Limits(), host.wasi)
        ctx = inst.state.ctx
        from ctypes import byref
        nop = byref(ll.export(ctx, inst.inst, b"nop").of.func)
        loop = byref(ll.export(ctx, inst.inst, b"call_host").of.func)
        res, arg = ll.val_array("i"), ll.val_array("i")
        state, deadline = inst.state, time.monotonic() + 3600

        async def host_to_guest() -> None:
            for _ in range(calls):
                await ll.call(state, nop, None, 0, res, 1, deadline)

        async def guest_to_host() -> None:
            arg[0].of.i32 = calls
            await ll.call(state, loop, arg, 1, res, 1, deadline)

        out: dict[str, float] = {}
        if once:  # one batch of one direction, for instruction counts
            await (host_to_guest if once == "host_to_guest" else guest_to_host)()
            inst.release()
            return out
        for key, fn in (("host_to_guest_us", host_to_guest), ("guest_to_host_us", guest_to_host)):
            await fn()  # warm-up
            best = float("inf")
            for _ in range(5):
                t0 = time.perf_counter()
                await fn()
                best = min(best, (time.perf_counter() - t0) * 1e6 / calls)
            out[key] = best
        inst.release()
        return out
    finally:
        rt.close()


def engine_run(calls: int) -> dict[str, float]:
    """One measurement of wasm-server's engine, in a fresh pinned process."""
    code = (f"import sys, asyncio, json; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import calls; "
            f"print(json.dumps(asyncio.run(calls._engine({calls}))))")
    out = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def instructions(direction: str, calls: int) -> int:
    """Instructions (callgrind's ``Collected``) of one process making ``calls`` calls one way."""
    code = (f"import sys, asyncio; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import calls; "
            f"asyncio.run(calls._engine({calls}, {direction!r}))")
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c",
                          code], capture_output=True, text=True, check=True, cwd=ROOT)
    found = re.search(r"Collected : (\d+)", out.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no count:\n{out.stderr[-2000:]}")
    return int(found.group(1))


def count_main() -> int:
    """Print instructions per call, each direction (see the module docstring)."""
    from wasm_server import compiled_modules
    from wasm_server.engine import _lowlevel as ll

    print(f"implementation: {ll.IMPLEMENTATION}; compiled modules: {len(compiled_modules())}")
    small, large = 2_000, 22_000
    for direction in ("host_to_guest", "guest_to_host"):
        per_call = (instructions(direction, large) - instructions(direction, small)) / (large - small)
        print(f"{direction}: {per_call:,.0f} instructions per call")
    return 0


def node_run(node: Path, wasm: Path, calls: int) -> dict[str, float]:
    """One measurement of V8, in a fresh pinned process."""
    out = subprocess.run(["taskset", "-c", "0", str(node), str(ROOT / "benchmarks/calls.mjs"), str(wasm),
                          str(calls * 10)], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> int:
    """Run the benchmark and record it."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="1 run of 50,000 calls")
    ap.add_argument("--instructions", action="store_true", help="callgrind instructions per call (prints only)")
    args = ap.parse_args()
    if args.instructions:
        return count_main()
    if args.quick:
        args.calls, args.runs = 50_000, 1
    import wasmtime

    p = peers.ensure()
    runs: dict[str, list[dict[str, float]]] = {"wasm-server": [], "node+v8": []}
    with tempfile.TemporaryDirectory() as tmp:
        wasm = Path(tmp) / "calls.wasm"
        wasm.write_bytes(wasmtime.wat2wasm(WAT))
        for _ in range(args.runs):
            runs["wasm-server"].append(engine_run(args.calls))
            runs["node+v8"].append(node_run(p.node, wasm, args.calls))
            print(runs["wasm-server"][-1], runs["node+v8"][-1], file=sys.stderr)
    med = {k: {d: median([r[d] for r in v]) for d in ("host_to_guest_us", "guest_to_host_us")}
           for k, v in runs.items()}
    ws, v8 = med["wasm-server"], med["node+v8"]
    targets = [Target("host→guest call", ws["host_to_guest_us"], 1.0, "µs", False),  # issue 13
               Target("guest→host import", ws["guest_to_host_us"], 1.0, "µs", False)]
    command = ("python benchmarks/calls.py " + " ".join(sys.argv[1:])).strip()
    lines = [
        SECTION, "", f"Date: {time.strftime('%Y-%m-%d')}. Machine: {machine()}.", "",
        f"Command: `{command}`", "",
        f"wasm-server: {args.calls} calls per batch; V8: {args.calls * 10} (its calls are too short to time "
        "fewer); best of 5 batches per process, median of the processes. See the script's docstring for the guest.",
        "", "| direction | wasm-server µs/call | node+v8 µs/call | wasm-server / V8 |", "|---|---|---|---|",
    ]
    for key, label in (("host_to_guest_us", "host→guest (export `nop`)"),
                       ("guest_to_host_us", "guest→host (import `result_read`)")):
        lines.append(f"| {label} | {fmt(ws[key])} | {fmt(v8[key])} | {fmt(ws[key] / v8[key])}× |")
    lines += ["", "| target | measured | target | verdict |", "|---|---|---|---|", *[t.row() for t in targets], ""]
    section = "\n".join(lines)
    print(section)
    write_section(SECTION, section)
    record("calls", targets, {f"{k} {d}": v for k, m in med.items() for d, v in m.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
