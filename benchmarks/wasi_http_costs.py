"""What a wasi:http component costs in the executor (in-process, no HTTP): ms per request
fresh and reused, host calls per request, body MB/s.

    .venv/bin/python benchmarks/wasi_http_costs.py [component.wasm ...]

Without arguments it measures the test components of tests/e2e/wasi_http_guests.py
(the WAT hello and the componentize-py guest, built and cached on first use). Bodies
are measured with the Python guest's /big (the guest writes) and /echo (reads and
writes) routes. Figures are wall-clock on whatever else the machine runs: compare
within one run.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e import wasi_http_guests  # noqa: E402
from wasm_server.abi_codec import GuestRequest  # noqa: E402
from wasm_server.capabilities.host import ComponentHost  # noqa: E402
from wasm_server.engine import Limits, Runtime  # noqa: E402
from wasm_server.executors.wasi_http.executor import WasiHttpExecutor  # noqa: E402

MiB = 1 << 20
HELLO = GuestRequest(b"GET", b"/hello", headers=[(b"host", b"localhost")])


async def per_request(runtime: Runtime, wasm: bytes, origin: str, reuse: int, n: int) -> tuple[float, int]:
    """(ms per request, host calls per request) of the hello route."""
    host = ComponentHost("bench", logging.getLogger("wasm_server.guest"))
    ex = WasiHttpExecutor(runtime, wasm, origin, host, Limits(memory=256 * MiB, timeout=60), reuse)
    await ex.check()
    for _ in range(5):
        await ex.handle(HELLO)
    calls = sum(i.state.calls for i in ex._idle)
    started = time.perf_counter()
    for _ in range(n):
        await ex.handle(HELLO)
    ms = (time.perf_counter() - started) / n * 1000
    if reuse:
        return ms, (sum(i.state.calls for i in ex._idle) - calls) // n
    return ms, 0


async def bodies(runtime: Runtime, wasm: bytes, origin: str) -> dict[str, float]:
    """MB/s of 1 MiB written by the guest and of a 1 MiB echo (reused instance)."""
    host = ComponentHost("bench", logging.getLogger("wasm_server.guest"))
    ex = WasiHttpExecutor(runtime, wasm, origin, host, Limits(memory=256 * MiB, timeout=60), 1000)
    await ex.check()
    out: dict[str, float] = {}
    for name, req in (("guest writes 1 MiB", GuestRequest(b"GET", b"/big?%d" % MiB)),
                      ("echo 1 MiB", GuestRequest(b"POST", b"/echo", body=bytes(MiB)))):
        await ex.handle(req)
        started = time.perf_counter()
        for _ in range(3):
            await ex.handle(req)
        out[name] = MiB / ((time.perf_counter() - started) / 3) / 1e6
    return out


async def main(paths: list[str]) -> int:
    runtime = Runtime(Path.home() / ".cache" / "wasm-server" / "modules")
    guests = [Path(p) for p in paths] or [wasi_http_guests.wat_hello(), wasi_http_guests.python_guest()]
    for path in guests:
        wasm = path.read_bytes()
        fresh, _ = await per_request(runtime, wasm, str(path), 0, 50)
        reused, calls = await per_request(runtime, wasm, str(path), 1_000_000, 300)
        print(f"{path.name}: fresh {fresh:.2f} ms/request, reused {reused:.2f} ms/request, "
              f"{calls} host calls per request")
    if not paths:
        py = wasi_http_guests.python_guest()
        for name, rate in (await bodies(runtime, py.read_bytes(), str(py))).items():
            print(f"{py.name}: {name}: {rate:.1f} MB/s")
    runtime.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))
