"""Shared pieces of the benchmark scripts: ports, machine info, RESULTS.md sections."""

from __future__ import annotations

import os
import platform
import re
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# scripts/bench --quick points this elsewhere, so smoke runs leave the recorded figures alone
RESULTS = Path(os.environ.get("WASM_SERVER_BENCH_RESULTS") or ROOT / "benchmarks" / "RESULTS.md")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """An unused loopback port."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 60.0) -> None:
    """Block until something listens on 127.0.0.1:port (TCP)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


def machine() -> str:
    """One line about the machine and the versions involved."""
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    from importlib.metadata import version

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=10", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    load = Path("/proc/loadavg").read_text().split()[0]
    return (f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}, Python {platform.python_version()}, "
            f"wasmtime-py {version('wasmtime')}, Node {node}, commit {commit}, load average {load} at the start")


def write_section(title: str, text: str) -> None:
    """Replace the section ``title`` of RESULTS.md (or append it), keeping the others."""
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    pattern = re.compile(re.escape(title) + r".*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda _: text + "\n", old) if pattern.search(old) else old.rstrip() + "\n\n" + text + "\n"
    RESULTS.write_text(new)
