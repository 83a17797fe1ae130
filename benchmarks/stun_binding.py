"""STUN Binding requests/s (issue 18): examples/stun/go under ``wasm-server up`` vs the same
code built natively, asked by pion's STUN client (examples/stun/client) over loopback.

One client sends Binding requests one after another (each waits for its answer) and checks
every XOR-MAPPED-ADDRESS. The servers run side by side and the client alternates between
them, ``--rounds`` times ``--requests`` requests; the medians are printed (not written to
RESULTS.md: docs/realtime.md quotes them). Usage::

    .venv/bin/python benchmarks/stun_binding.py [--rounds 5] [--requests 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, free_port, machine

sys.path.insert(0, str(ROOT))
STUN = ROOT / "examples" / "stun"


def _rate(client: Path, port: int, n: int) -> float:
    out = subprocess.run([str(client), "-server", f"127.0.0.1:{port}", "-n", str(n)], capture_output=True,
                         text=True, timeout=600, check=True)
    return float(json.loads(out.stdout)["per_second"])


def main() -> None:
    from wasm_server.toolchain import go

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=5000)
    args = ap.parse_args()
    gobin = go.pick().go
    env = {**os.environ, "GOTOOLCHAIN": "local"}
    with tempfile.TemporaryDirectory() as tmp:
        client, native = Path(tmp) / "stunclient", Path(tmp) / "stun-native"
        print("building the example, pion's client and the native server", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "wasm_server.cli.main", "build", str(STUN / "go" / "wasm-server.toml")],
                       cwd=ROOT, check=True, capture_output=True)
        subprocess.run([gobin, "build", "-o", str(client), "."], cwd=STUN / "client", env=env, check=True)
        subprocess.run([gobin, "build", "-o", str(native), "."], cwd=STUN / "go", env=env, check=True)
        wasm_port, native_port = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
        procs = [
            subprocess.Popen([sys.executable, "-m", "wasm_server.cli.main", "up", str(STUN / "go"), "--no-build",
                              "--data-dir", str(Path(tmp) / "data"), "--map-port", f"3478=127.0.0.1:{wasm_port}"],
                             cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            subprocess.Popen([str(native), "-listen", f"127.0.0.1:{native_port}"], stderr=subprocess.DEVNULL),
        ]
        try:
            deadline = time.monotonic() + 120
            while True:  # the wasm server answers once it has compiled the module
                try:
                    _rate(client, wasm_port, 1)
                    break
                except subprocess.CalledProcessError:
                    if time.monotonic() > deadline:
                        raise
            _rate(client, wasm_port, 500)  # warm-up
            rates: dict[str, list[float]] = {"native": [], "wasm-server": []}
            for _ in range(args.rounds):
                rates["native"].append(_rate(client, native_port, args.requests))
                rates["wasm-server"].append(_rate(client, wasm_port, args.requests))
        finally:
            for p in procs:
                p.terminate()
                p.wait()
    print(f"STUN Binding requests/s, one client, {args.rounds} × {args.requests} requests ({machine()})")
    for name, values in rates.items():
        print(f"  {name:12} median {statistics.median(values):8.0f}   runs {' '.join(f'{v:.0f}' for v in values)}")
    print(f"  wasm-server / native: {statistics.median(rates['wasm-server']) / statistics.median(rates['native']):.2f}")


if __name__ == "__main__":
    main()
