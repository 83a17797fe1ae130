"""Helpers the issue-5 benchmarks share: targets and verdicts, recorded figures,
wrk with p50, processes that are always cleaned up."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from common import wait_port
from http_hello import parse_wrk
from peers import BENCH_CACHE

FIGURES = BENCH_CACHE / "figures"
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Target:
    """One target of the performance issues (5, then 13): ``value`` compared with ``limit``."""

    name: str
    value: float
    limit: float
    unit: str
    higher_is_better: bool

    @property
    def met(self) -> bool:
        """Whether the measured value meets the target."""
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit

    def verdict(self) -> str:
        """``met`` or ``missed by N×`` (how far the value is from the limit, as a factor)."""
        if self.met:
            return "met"
        if self.value <= 0 or self.limit <= 0:
            return "missed"
        factor = self.limit / self.value if self.higher_is_better else self.value / self.limit
        return f"missed by {factor:.2f}×"

    def row(self) -> str:
        """A Markdown table row: target, measured, limit, verdict."""
        sign = "≥" if self.higher_is_better else "≤"
        measured, limit = f"{fmt(self.value)} {self.unit}", f"{sign} {fmt(self.limit)} {self.unit}"
        return f"| {self.name} | {measured} | {limit} | {self.verdict()} |"


def fmt(value: float) -> str:
    """A figure with sensible precision."""
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"


def record(name: str, targets: Sequence[Target], figures: dict[str, float] | None = None) -> None:
    """Keep a benchmark's targets (and loose figures) for the summary section."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    data = {"date": time.strftime("%Y-%m-%d %H:%M"), "targets": [asdict(t) for t in targets],
            "figures": figures or {}}
    (FIGURES / f"{name}.json").write_text(json.dumps(data, indent=1))


def load_targets(directory: Path = FIGURES) -> dict[str, list[Target]]:
    """Every recorded benchmark's targets, by benchmark name."""
    out: dict[str, list[Target]] = {}
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text())
        if isinstance(data, dict) and "targets" in data:
            out[path.stem] = [Target(**t) for t in data["targets"]]
    return out


@dataclass(frozen=True)
class HttpResult:
    """One wrk run: throughput and latency percentiles (ms)."""

    rps: float
    p50_ms: float
    p99_ms: float
    bad: int  # non-2xx responses plus socket errors


def parse_percentile(text: str, pct: int) -> float:
    """The ``pct``% latency of ``wrk --latency`` output in ms."""
    m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not m:
        raise ValueError(f"wrk output has no {pct}% line")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_http(text: str) -> HttpResult:
    """Parse ``wrk --latency`` output into an HttpResult."""
    r = parse_wrk(text)
    return HttpResult(r.rps, parse_percentile(text, 50), r.p99_ms, r.non_2xx + r.errors)


def wrk(url: str, duration: float, connections: int, core: str = "1", script: Path | None = None) -> HttpResult:
    """One wrk run pinned to ``core``."""
    cmd = ["taskset", "-c", core, "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=duration + 30)
    try:
        return parse_http(out.stdout)
    except ValueError:
        raise RuntimeError(f"wrk against {url} failed: {(out.stdout + out.stderr).strip()[-500:]}") from None


def median(values: Sequence[float]) -> float:
    """statistics.median, typed for floats."""
    return float(statistics.median(values))


@contextmanager
def server(cmd: Sequence[str], port: int, cores: str = "0", env: dict[str, str] | None = None,
           timeout: float = 60.0) -> Iterator[subprocess.Popen[bytes]]:
    """A server pinned to ``cores``, up once ``port`` accepts; terminated (then killed) on exit."""
    proc = subprocess.Popen(["taskset", "-c", cores, *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env, start_new_session=True)
    try:
        try:
            wait_port(port, timeout)
        except TimeoutError:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited with {proc.returncode} before listening") from None
            raise
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate ``proc`` (its own process group: workers too), kill it if it lingers."""
    import os
    import signal

    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
