"""WebRTC data-channel echo (issue 18): pion/webrtc in a wasm guest vs the same pion natively.

    .venv/bin/python benchmarks/webrtc_echo.py [--runs 3] [--quick] [--no-browser]

Serves examples/webrtc-echo/go with ``wasm-server up`` (1 worker, pinned to core 0) and,
as the baseline, the same echo built natively (tests/e2e/webrtc_peer -serve: the same
pion settings, ICE lite over one UDP mux, in one Go process, pinned to core 0 too).
The native pion peer (tests/e2e/webrtc_peer, core 1) connects and measures:

- set-up: offer POST → data channel open, ms (the first connection after start, which
  also starts the guest's UDP instance, is shown apart);
- round trips: one 32-byte message in flight, echoes/s;
- pipelined: 16 in flight, 32 bytes and 1 KiB, echoes/s;
- idle: server CPU share with one open, idle connection (TIMER wake-ups).

Then headless Chromium (tests/browser/webrtc_echo.mjs): set-up and round trips on the
example's page. Medians of --runs; prints a Markdown table, does not write RESULTS.md.
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, free_port, machine, wait_port

CLI = str(Path(sys.executable).parent / "wasm-server")
EXAMPLE = ROOT / "examples" / "webrtc-echo" / "go"
PEER_SRC = ROOT / "tests" / "e2e" / "webrtc_peer"
BROWSER = ROOT / "tests" / "browser"
Report = dict[str, object]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build(out: Path) -> Path:
    """The example (wasm-server build) and the native peer (go build)."""
    subprocess.run([CLI, "build", str(EXAMPLE)], check=True, capture_output=True)
    peer = out / "webrtc_peer"
    subprocess.run(["go", "build", "-o", str(peer), "."], cwd=PEER_SRC, check=True,
                   env={**os.environ, "CGO_ENABLED": "0"})
    return peer


@contextmanager
def serving(argv: list[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["taskset", "-c", "0", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        yield proc
    finally:
        proc.terminate()
        proc.wait(20)


def peer(binary: Path, url: str, *args: str) -> Report:
    out = subprocess.run(["taskset", "-c", "1", str(binary), "-url", f"{url}/offer", "-timeout", "60s", *args],
                         check=True, capture_output=True, text=True, timeout=120)
    report: Report = json.loads(out.stdout.strip().splitlines()[-1])
    return report


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_share(binary: Path, url: str, pid: int, seconds: float = 6.0) -> float:
    """Server CPU share while one connection stays open and idle."""
    hold = subprocess.Popen([str(binary), "-url", f"{url}/offer", "-n", "10", "-hold", f"{seconds + 4}s"],
                            stdout=subprocess.DEVNULL)
    time.sleep(3)
    c0 = cpu_seconds(pid)
    time.sleep(seconds)
    share = (cpu_seconds(pid) - c0) / seconds
    hold.wait(60)
    return share


def measure(binary: Path, url: str, pid: int, runs: int, n: int) -> dict[str, float]:
    first = peer(binary, url, "-n", "10")
    setups, rtt, small, large = [], [], [], []
    for _ in range(runs):
        r = peer(binary, url, "-n", str(n))
        setups.append(float(str(r["setup_ms"])))
        rtt.append(float(str(r["per_second"])))
        small.append(float(str(peer(binary, url, "-n", str(5 * n), "-window", "16")["per_second"])))
        large.append(float(str(peer(binary, url, "-n", str(3 * n), "-window", "16", "-size", "1024")["per_second"])))
    return {"first_setup_ms": float(str(first["setup_ms"])), "setup_ms": statistics.median(setups),
            "rtt_per_s": statistics.median(rtt), "w16_32B_per_s": statistics.median(small),
            "w16_1KiB_per_s": statistics.median(large), "idle_cpu": idle_share(binary, url, pid)}


def browser(url: str, runs: int, n: int) -> dict[str, float]:
    setups, rtt = [], []
    for _ in range(runs):
        out = subprocess.run(["taskset", "-c", "1", "node", "webrtc_echo.mjs"], cwd=BROWSER, check=True,
                             capture_output=True, text=True, timeout=300,
                             env={**os.environ, "PAGE_URL": f"{url}/", "MESSAGES": str(n)})
        r = json.loads(out.stdout.strip().splitlines()[-1])
        setups.append(r["setupMs"])
        rtt.append(r["perSecond"])
    return {"setup_ms": statistics.median(setups), "rtt_per_s": statistics.median(rtt)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="1 run, fewer messages")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    runs, n = (1, 200) if args.quick else (args.runs, 1000)
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        binary = build(Path(tmp))
        port, udp = free_port(), free_udp_port()
        url = f"http://127.0.0.1:{port}"
        with serving([CLI, "up", str(EXAMPLE), "--no-build", "--listen", f"127.0.0.1:{port}", "--data-dir",
                      f"{tmp}/data", "--map-port", f"3479=127.0.0.1:{udp}"], port) as proc:
            time.sleep(1)
            rows["wasm-server (pion in wasm), native peer"] = measure(binary, url, proc.pid, runs, n)
            if not args.no_browser:
                rows["wasm-server (pion in wasm), Chromium"] = browser(url, runs, n // 2)
        port, udp = free_port(), free_udp_port()
        url = f"http://127.0.0.1:{port}"
        with serving([str(binary), "-serve", f"127.0.0.1:{port}", "-udp", f"127.0.0.1:{udp}",
                      "-page", str(EXAMPLE / "index.html")], port) as proc:
            rows["native pion, native peer"] = measure(binary, url, proc.pid, runs, n)
            if not args.no_browser:
                rows["native pion, Chromium"] = browser(url, runs, n // 2)
    print(f"{machine()}; load average {os.getloadavg()[0]:.1f}; medians of {runs}")
    print("| server, peer | first set-up ms | set-up ms | round trips/s | 16 in flight, 32 B /s | "
          "16 in flight, 1 KiB /s | server CPU, 1 idle connection |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        cells = [f"{r[k]:.0f}" if k in r else "–" for k in
                 ("first_setup_ms", "setup_ms", "rtt_per_s", "w16_32B_per_s", "w16_1KiB_per_s")]
        idle = f"{100 * r['idle_cpu']:.1f} %" if "idle_cpu" in r else "–"
        print(f"| {name} | {' | '.join(cells)} | {idle} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
