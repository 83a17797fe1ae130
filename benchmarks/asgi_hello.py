"""The same hello under an ASGI server and under `wasm-server up` (issue 16), req/s, p50, p99.

    .venv/bin/python benchmarks/asgi_hello.py [--duration 5] [--runs 3] [--connections 50] [--quick]
    .venv/bin/python benchmarks/asgi_hello.py --instructions   # callgrind: instructions per request (prints)

Servers, each one process pinned to core 0 (wrk on core 1), all serving
examples/hello/c (reused instances) with their access logs off:

- `wasm-server up` (its own asyncio edge on uvloop + httptools);
- `uvicorn wasm_server.asgi:app` (uvloop + httptools; the same App behind the ASGI adapter);
- `hypercorn wasm_server.asgi:app` (its own h11 stack on asyncio);
- `uvicorn`, plain ASGI hello: a Python ASGI app answering the same bytes with no wasm,
  the floor of the ASGI server itself.

Rounds alternate the servers; each ratio is the median of the per-round ratios (a round
runs every server once, so load drift between rounds cancels out). Writes its section of
RESULTS.md.

``--instructions`` counts what other people's load does not move: each server in process
under ``valgrind --tool=callgrind``, driven by request_cost.py's pipelined client over a real
socket, (instructions for 2,200 requests − for 200) / 2,000; `up`'s row is request_cost.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, free_port, machine, write_section
from suite import HttpResult, fmt, median, server, wrk

SECTION = "## ASGI: hello under uvicorn and hypercorn vs `up` (issue 16)"
BIN = Path(sys.executable).parent
HELLO = ROOT / "examples/hello/c"
UP = "wasm-server up"
UVICORN = "uvicorn + ASGI"


def servers(data_dir: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """name → (command with {port}, extra environment)."""
    env = {"WASM_SERVER_MANIFEST": str(HELLO), "WASM_SERVER_DATA_DIR": str(data_dir)}
    uvicorn = [str(BIN / "uvicorn"), "--host", "127.0.0.1", "--port", "{port}", "--no-access-log",
               "--log-level", "warning", "--loop", "uvloop", "--http", "httptools"]
    return {
        UP: ([str(BIN / "wasm-server"), "up", str(HELLO), "--no-build", "--no-access-log", "--data-dir", str(data_dir),
              "--listen", "127.0.0.1:{port}"], {}),
        UVICORN: ([*uvicorn, "--lifespan", "on", "wasm_server.asgi:app"], env),
        "hypercorn + ASGI": ([str(BIN / "hypercorn"), "--bind", "127.0.0.1:{port}", "wasm_server.asgi:app"], env),
        "uvicorn, plain ASGI hello (no wasm)": ([*uvicorn, "--app-dir", str(ROOT / "benchmarks"), "asgi_hello:plain"],
                                                {}),
    }


async def plain(scope: dict[str, object], receive: object, send: object) -> None:
    """An ASGI app answering what the C hello answers, without wasm (the server's own floor)."""
    if scope["type"] != "http":
        return
    body = b"Hello from C\npath: /\n"
    await send({"type": "http.response.start", "status": 200,  # type: ignore[operator]
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"21")]})
    await send({"type": "http.response.body", "body": body})  # type: ignore[operator]


def measure(duration: int, runs: int, connections: int) -> dict[str, list[HttpResult]]:
    """Alternate the servers for ``runs`` rounds; every run's result by server."""
    results: dict[str, list[HttpResult]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            for name, (cmd, extra) in servers(Path(tmp)).items():
                port = free_port()
                with server([c.replace("{port}", str(port)) for c in cmd], port, "0", env={**os.environ, **extra}):
                    url = f"http://127.0.0.1:{port}/"
                    wrk(url, 1, connections)  # warm-up
                    r = wrk(url, duration, connections)
                if r.bad:
                    print(f"warning: {name}: {r.bad} non-2xx or socket errors", file=sys.stderr)
                results.setdefault(name, []).append(r)
                print(f"{name:36} {r.rps:9.0f} req/s  p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:6.2f} ms",
                      file=sys.stderr)
    return results


async def _serve_in_process(mode: str, requests: int) -> None:
    """uvicorn in this process serving the hello app through the ASGI adapter (``asgi``) or the
    plain hello (``plain``); ``requests`` pipelined requests after a warm-up."""
    import uvicorn
    from request_cost import WARMUP, _drive

    from wasm_server.asgi import create_app
    from wasm_server.config import RuntimeConfig
    from wasm_server.engine.runtime import PoolLimits

    with tempfile.TemporaryDirectory() as scratch:
        # few pool slots: valgrind cannot map the default pool's address space
        config = RuntimeConfig(data_dir=Path(scratch), pool=PoolLimits(instances=2))
        app = plain if mode == "plain" else create_app(HELLO, config=config)
        lifespan: Literal["on", "off"] = "off" if mode == "plain" else "on"
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan=lifespan, log_level="warning",
                                               access_log=False, http="httptools", loop="none"))
        task = asyncio.ensure_future(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        await _drive(port, WARMUP)
        await _drive(port, requests)
        server.should_exit = True
        await task


def _collected(cmd: list[str]) -> int:
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
                         capture_output=True, text=True, timeout=900).stderr
    found = re.search(r"Collected : ([\d,]+)", out)
    if found is None:
        raise RuntimeError(f"no callgrind count in: {out[-500:]}")
    return int(found.group(1).replace(",", ""))


def instructions() -> dict[str, float]:
    """Instructions per request of `up` (request_cost.py), uvicorn + ASGI and plain uvicorn."""
    out = {}
    for name, cmd in ((UP, [sys.executable, str(ROOT / "benchmarks/request_cost.py"), "--requests"]),
                      (UVICORN, [sys.executable, __file__, "--serve", "asgi"]),
                      ("uvicorn, plain ASGI hello (no wasm)", [sys.executable, __file__, "--serve", "plain"])):
        low, high = _collected([*cmd, "200"]), _collected([*cmd, "2200"])
        out[name] = (high - low) / 2000
        print(f"{name:36} {out[name] / 1000:7.1f}k instructions/request", file=sys.stderr)
    return out


def ratio(results: dict[str, list[HttpResult]], a: str, b: str) -> float:
    """Median of the per-round req/s ratios a / b."""
    return median([x.rps / y.rps for x, y in zip(results[a], results[b], strict=False) if y.rps > 0])


def report(results: dict[str, list[HttpResult]], command: str, duration: int, connections: int) -> str:
    """The RESULTS.md section."""
    lines = [
        SECTION, "",
        f"Date: {time.strftime('%Y-%m-%d')}. Machine: {machine()}.", "",
        f"Command: `{command}`", "",
        f"wrk -t1 -c{connections} -d{duration}s --latency after a 1 s warm-up, runs alternating between servers;",
        "every server pinned to core 0, wrk to core 1, access logs off. All serve `examples/hello/c`",
        "(reused instances) except the last row, a plain Python ASGI app answering the same bytes.", "",
        "| server | req/s (median) | p50 ms | p99 ms | runs (req/s) |",
        "|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        lines.append(f"| {name} | {median([r.rps for r in runs]):.0f} | {median([r.p50_ms for r in runs]):.2f} | "
                     f"{median([r.p99_ms for r in runs]):.2f} | {', '.join(f'{r.rps:.0f}' for r in runs)} |")
    lines += ["", "| ratio (median of per-round ratios) | req/s |", "|---|---|"]
    for name in results:
        if name != UP:
            lines.append(f"| {name} / {UP} | {fmt(ratio(results, name, UP))} × |")
    return "\n".join(lines) + "\n"


def main() -> int:
    """Run the benchmark and record it."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--quick", action="store_true", help="1 run of 2 s per server (smoke test)")
    ap.add_argument("--instructions", action="store_true", help="callgrind counts per request (prints only)")
    ap.add_argument("--serve", nargs=2, metavar=("MODE", "REQUESTS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        import uvloop

        uvloop.run(_serve_in_process(args.serve[0], int(args.serve[1])))
        return 0
    if args.instructions:
        counts = instructions()
        print(f"uvicorn + ASGI / up: {counts[UVICORN] / counts[UP]:.2f} × the instructions per request")
        return 0
    if args.quick:
        args.duration, args.runs = 2, 1
    subprocess.run([str(BIN / "wasm-server"), "build", str(HELLO)], check=True, stdout=subprocess.DEVNULL)
    results = measure(args.duration, args.runs, args.connections)
    command = ("python benchmarks/asgi_hello.py " + " ".join(sys.argv[1:])).strip()
    section = report(results, command, args.duration, args.connections)
    print(section)
    write_section(SECTION, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
