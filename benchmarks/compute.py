"""Compute: SHA-256 over 1 MiB per request — wasm-server vs Node+V8 (same .wasm)
vs a native gcc -O2 build of the same C (issue 5).

    .venv/bin/python benchmarks/compute.py [--duration 5] [--runs 3] [--quick]

The guest is benchmarks/guests/sha256 (plain C SHA-256, built with
`wasm-server cc`, instance reused). Served: wrk with one connection against
wasm-server and against hosts/js/serve.mjs running the same sha256.wasm,
each on core 0; ms per hash = 1000 / req/s, so it includes one hello-sized
HTTP round trip (about 0.03-0.1 ms, see the HTTP sections). Native:
benchmarks/guests/sha256/native.c, the best of 50 hashes per run.
Median of the runs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers
from common import ROOT, free_port, machine, write_section
from suite import Target, fmt, median, record, server, wrk

SECTION = "## Compute: SHA-256 over 1 MiB (issue 5)"
CLI = str(Path(sys.executable).parent / "wasm-server")
GUEST = ROOT / "benchmarks/guests/sha256"
EXPECTED = "f6a34d4c79c3d12c297589206bf216b084347471a53ea5e7fe9a46bd1230f098"


def build_native(out: Path) -> Path:
    """gcc -O2 of native.c + sha256.c."""
    subprocess.run(["gcc", "-O2", "-o", str(out), str(GUEST / "native.c"), str(GUEST / "sha256.c")], check=True)
    return out


def native_ms(binary: Path) -> float:
    """Best ms per hash of 50, pinned to core 0; checks the digest."""
    out = subprocess.run(["taskset", "-c", "0", str(binary), "50"], capture_output=True, text=True, check=True)
    digest, ms = out.stdout.split()
    if digest != EXPECTED:
        raise RuntimeError(f"native digest {digest} != {EXPECTED}")
    return float(ms)


def served_ms(cmd: list[str], port: int, duration: int) -> float:
    """ms per request with one connection (after checking the digest)."""
    import urllib.request

    with server(cmd, port):
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30).read().decode().strip()
        if body != EXPECTED:
            raise RuntimeError(f"{cmd[0]}: digest {body} != {EXPECTED}")
        url = f"http://127.0.0.1:{port}/"
        wrk(url, 1, 1)
        r = wrk(url, duration, 1)
    return 1000.0 / r.rps


async def _engine_ms(wasm_path: str, n: int) -> float:
    import logging

    from wasm_server.abi_codec import GuestRequest
    from wasm_server.capabilities import ALL_IMPORTS, ComponentHost
    from wasm_server.engine import Limits, Runtime
    from wasm_server.executors import NativeExecutor

    rt = Runtime(None, ALL_IMPORTS)
    host = ComponentHost("sha256", logging.getLogger("bench"), {}, frozenset())
    ex = NativeExecutor(rt, rt.load(Path(wasm_path).read_bytes(), "sha256.wasm"), host, Limits(), 10**9)
    req = GuestRequest(b"GET", b"/", b"/...", b"", b"/", b"127.0.0.1:1")
    await ex.handle(req)
    best = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        await ex.handle(req)
        best = min(best, time.perf_counter() - t0)
    rt.close()
    return best * 1000


def _plain_wasmtime_ms(wasm_path: str, n: int) -> float:
    import wasmtime

    from wasm_server.abi_codec import GuestRequest, encode_request

    config = wasmtime.Config()
    config.cranelift_opt_level = "speed"
    engine = wasmtime.Engine(config)
    module = wasmtime.Module(engine, Path(wasm_path).read_bytes())
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    for imp in module.imports:
        if imp.module == "wasm_server" and isinstance(imp.type, wasmtime.FuncType):
            linker.define_func("wasm_server", str(imp.name), imp.type, lambda *_: 0)
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    exports = linker.instantiate(store, module).exports(store)
    init, alloc, handle, memory = (exports[k] for k in ("_initialize", "wasm_server_alloc", "wasm_server_handle",
                                                        "memory"))
    assert isinstance(init, wasmtime.Func) and isinstance(alloc, wasmtime.Func)
    assert isinstance(handle, wasmtime.Func) and isinstance(memory, wasmtime.Memory)
    init(store)
    payload = encode_request(GuestRequest(b"GET", b"/", b"/...", b"", b"/", b"127.0.0.1:1"))
    best = float("inf")
    for _ in range(n + 1):
        ptr = alloc(store, len(payload))
        assert isinstance(ptr, int)
        memory.write(store, payload, ptr)
        t0 = time.perf_counter()
        handle(store, 1, ptr, len(payload))
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def plain_wasmtime_ms(wasm: Path) -> float:
    """Best ms per hash of 30 with a default wasmtime-py Engine (no epoch interruption, no pooling), core 0."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import compute; "
            f"print(compute._plain_wasmtime_ms({str(wasm)!r}, 30))")
    out = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def engine_ms(wasm: Path) -> float:
    """Best ms per hash of 30 through NativeExecutor.handle in-process (no HTTP), core 0."""
    code = (f"import sys, asyncio; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import compute; "
            f"print(asyncio.run(compute._engine_ms({str(wasm)!r}, 30)))")
    out = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    """Run the benchmark and record it."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="1 run of 2 s")
    args = ap.parse_args()
    if args.quick:
        args.duration, args.runs = 2, 1
    p = peers.ensure()
    subprocess.run([CLI, "build", str(GUEST)], check=True, stdout=subprocess.DEVNULL)
    wasm = GUEST / "sha256.wasm"
    runs: dict[str, list[float]] = {"native (gcc -O2)": [], "wasm-server": [], "node+v8": [],
                                    "wasm-server engine, in-process (best)": [],
                                    "wasmtime-py without epoch interruption, in-process (best)": []}
    with tempfile.TemporaryDirectory() as tmp:
        binary = build_native(Path(tmp) / "sha256-native")
        for _ in range(args.runs):
            runs["native (gcc -O2)"].append(native_ms(binary))
            port = free_port()
            runs["wasm-server"].append(served_ms([CLI, "up", str(GUEST), "--no-build", "--data-dir", tmp,
                                                  "--listen", f"127.0.0.1:{port}"], port, args.duration))
            port = free_port()
            runs["node+v8"].append(served_ms([str(p.node), str(ROOT / "hosts/js/serve.mjs"), str(wasm),
                                              "--port", str(port)], port, args.duration))
            runs["wasm-server engine, in-process (best)"].append(engine_ms(wasm))
            runs["wasmtime-py without epoch interruption, in-process (best)"].append(plain_wasmtime_ms(wasm))
            print({k: f"{v[-1]:.2f} ms" for k, v in runs.items()}, file=sys.stderr)
    med = {k: median(v) for k, v in runs.items()}
    native = med["native (gcc -O2)"]
    def paired(a: str, b: str) -> float:  # median of per-round ratios: drift between rounds cancels out
        return median([x / y for x, y in zip(runs[a], runs[b], strict=True)])

    targets = [Target("compute: wasm-server / native", paired("wasm-server", "native (gcc -O2)"), 1.3, "×", False),
               Target("compute: wasm-server / V8", paired("wasm-server", "node+v8"), 1.0, "×", False)]
    command = ("python benchmarks/compute.py " + " ".join(sys.argv[1:])).strip()
    lines = [
        SECTION, "", f"Date: {time.strftime('%Y-%m-%d')}. Machine: {machine()}.", "", f"Command: `{command}`", "",
        "benchmarks/guests/sha256 (plain C, `wasm-server cc`, -O2): one SHA-256 of the same 1 MiB per request.",
        f"Served: wrk -c1 for {args.duration} s, ms per request (hash + one small HTTP round trip); native: "
        "best of 50 hashes; engine in-process: best of 30 `NativeExecutor.handle` calls (no HTTP);",
        "wasmtime-py without epoch interruption: the same module in a default `wasmtime.Engine` (opt level",
        "speed), `wasm_server_handle` called through wasmtime-py with stub imports, best of 30.",
        "Everything on core 0.", "",
        "| runner | ms per hash (median) | × native | runs |", "|---|---|---|---|",
    ]
    for name, values in runs.items():
        lines.append(f"| {name} | {fmt(med[name])} | {fmt(med[name] / native)}× | "
                     f"{', '.join(fmt(v) for v in values)} |")
    lines += ["", "Target ratios are medians of the per-round ratios.", "",
              "| target | measured | target | verdict |", "|---|---|---|---|", *[t.row() for t in targets], ""]
    section = "\n".join(lines)
    print(section)
    write_section(SECTION, section)
    record("compute", targets, {f"{k} ms": v for k, v in med.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
