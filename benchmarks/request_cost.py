"""The in-process cost of the HTTP request path, repeatable on a noisy shared machine.

    python benchmarks/request_cost.py [--requests N] [--profile]
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        python benchmarks/request_cost.py --requests N     # instructions: run twice, subtract

One process: the hello app (examples/hello/c, reused instance) behind a real
:class:`~wasm_server.net.http.HttpServer` on 127.0.0.1, driven by a raw socket that writes
pipelined ``GET /`` requests in batches of 16 and counts the responses. The client's share is
a few C calls per batch, so nearly all the cost is parse → route → codec → guest → response.

Instruction counts (callgrind's ``Collected``) do not move with other people's load the way
req/s does: run ``--requests 200`` and ``--requests 4200`` and divide the difference by 4,000
for instructions per request (start-up, imports and the warm-up cancel out).
``--profile`` prints cProfile's own time per module instead (which modules are hot).
Prints which implementation of the compiled modules is loaded (compiled or pure Python).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import socket
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import uvloop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wasm_server import compiled_modules  # noqa: E402
from wasm_server.app import App  # noqa: E402
from wasm_server.engine.runtime import PoolLimits  # noqa: E402
from wasm_server.manifest import load_manifest  # noqa: E402
from wasm_server.net.http import ConnectionLimits, HttpServer  # noqa: E402

BATCH = 16
REQUEST = b"GET / HTTP/1.1\r\nhost: bench\r\nuser-agent: request_cost\r\naccept: */*\r\n\r\n"
WARMUP = 64


async def _drive(port: int, count: int) -> None:
    """Send ``count`` pipelined requests, ``BATCH`` at a time, and read every response."""
    loop = asyncio.get_running_loop()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setblocking(False)
    batch = REQUEST * BATCH
    try:
        left = count
        while left > 0:
            n = min(BATCH, left)
            await loop.sock_sendall(sock, batch if n == BATCH else REQUEST * n)
            seen = 0
            while seen < n:
                data = await loop.sock_recv(sock, 65536)
                if not data:
                    raise RuntimeError("the server closed the connection")
                seen += data.count(b"HTTP/1.1 ")
            left -= n
    finally:
        sock.close()


async def run(requests: int, profile: bool, pool: int) -> float:
    """Serve the hello app in process and drive ``requests`` requests; seconds taken."""
    spec = load_manifest(ROOT / "examples/hello/c")
    with tempfile.TemporaryDirectory() as scratch:
        app = await App.load(spec, Path(scratch), Path(scratch) / "cache", pool=PoolLimits(instances=pool))
        server = HttpServer(app, ConnectionLimits(), None)
        listener = await server.listen("127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        try:
            await _drive(port, WARMUP)
            prof = cProfile.Profile() if profile else None
            start = time.perf_counter()
            if prof is not None:
                prof.enable()
            await _drive(port, requests)
            if prof is not None:
                prof.disable()
            took = time.perf_counter() - start
        finally:
            await server.shutdown(grace=1)
            await app.close()
    if prof is not None:
        _by_module(prof, requests)
    return took


def _by_module(prof: cProfile.Profile, requests: int) -> None:
    """Own time per module (µs per request), most first."""
    stats = pstats.Stats(prof)
    own: dict[str, float] = defaultdict(float)
    for (file, _line, _name), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        key = file.split("wasm_server/", 1)[1] if "wasm_server/" in file else file.rsplit("/", 1)[-1]
        own[key] += tt
    total = sum(own.values())
    print(f"{'module':<40} {'µs/req':>8} {'share':>6}")
    for key, tt in sorted(own.items(), key=lambda kv: -kv[1])[:25]:
        print(f"{key:<40} {tt / requests * 1e6:8.2f} {tt / total:6.1%}")


def main() -> int:
    """Run and print requests/s (meaningful only as a same-run ratio; use callgrind for counts)."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=4000)
    p.add_argument("--profile", action="store_true", help="cProfile own time per module")
    p.add_argument("--pool", type=int, default=2,
                   help="instance slots (few: valgrind cannot map the default pool's address space)")
    args = p.parse_args()
    if not (ROOT / "examples/hello/c/hello.wasm").exists():
        print("error: examples/hello/c/hello.wasm is missing: run `wasm-server build examples/hello/c`",
              file=sys.stderr)
        return 1
    took = uvloop.run(run(args.requests, args.profile, args.pool))
    compiled = compiled_modules()
    print(f"implementation: {'compiled (' + str(len(compiled)) + ' modules)' if compiled else 'pure Python'}")
    print(f"{args.requests} requests in {took:.3f} s: {args.requests / took:.0f} req/s, "
          f"{took / max(args.requests, 1) * 1e6:.1f} µs/request")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
