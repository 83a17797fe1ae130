"""The wrk output parser of benchmarks/http_hello.py (no timing assertions)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "http_hello.py"
spec = importlib.util.spec_from_file_location("http_hello", BENCH)
assert spec and spec.loader
http_hello = importlib.util.module_from_spec(spec)
sys.modules["http_hello"] = http_hello
spec.loader.exec_module(http_hello)

SAMPLE = """Running 5s test @ http://127.0.0.1:18080/
  1 threads and 50 connections
  Latency Distribution
     50%    3.37ms
     75%    3.52ms
     90%    3.80ms
     99%  812.00us
  67621 requests in 5.00s, 8.19MB read
{extra}Requests/sec:  13523.61
Transfer/sec:      1.64MB
"""


def test_parses_rps_and_p99_units() -> None:
    r = http_hello.parse_wrk(SAMPLE.format(extra=""))
    assert r.rps == pytest.approx(13523.61) and r.p99_ms == pytest.approx(0.812)
    assert (r.non_2xx, r.errors) == (0, 0)
    assert http_hello.parse_wrk(SAMPLE.replace("812.00us", "1.50s").format(extra="")).p99_ms == 1500.0


def test_counts_failures() -> None:
    extra = "  Socket errors: connect 0, read 3, write 0, timeout 2\n  Non-2xx or 3xx responses: 17\n"
    r = http_hello.parse_wrk(SAMPLE.format(extra=extra))
    assert (r.non_2xx, r.errors) == (17, 5)


def test_missing_figures_raise() -> None:
    with pytest.raises(ValueError):
        http_hello.parse_wrk("wrk: connection refused\n")
