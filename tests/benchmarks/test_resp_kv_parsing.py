"""Parsers and packet builders of benchmarks/resp_kv.py (no timing assertions)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))
spec = importlib.util.spec_from_file_location("sockets_bench", BENCH / "resp_kv.py")
assert spec and spec.loader
sockets_bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sockets_bench)


def test_redis_benchmark_lines() -> None:
    text = "SET: 24570.02 requests per second, p50=30.047 msec\nGET: 22831.05 requests per second\n"
    assert sockets_bench.parse_redis_benchmark(text) == {"SET": 24570.02, "GET": 22831.05}
    assert sockets_bench.parse_redis_benchmark("WARNING: Could not fetch server CONFIG\n") == {}


def test_dns_query_is_a_well_formed_a_query() -> None:
    q = sockets_bench.dns_query(0x1234)
    assert q[:2] == b"\x12\x34" and q[4:6] == b"\x00\x01"
    assert q.endswith(b"\x05hello\x04wasm\x04test\x00\x00\x01\x00\x01")


def test_resp_targets_are_medians_of_per_round_ratios() -> None:
    rounds = {"wasm resp-kv": [{"SET": 10.0, "GET": 30.0}, {"SET": 40.0, "GET": 20.0}, {"SET": 5.0, "GET": 10.0}],
              "redis-server": [{"SET": 100.0, "GET": 100.0}, {"SET": 100.0, "GET": 100.0}, {"SET": 10.0, "GET": 100.0}]}
    ratio = sockets_bench.paired_ratios(rounds)
    assert ratio == {"SET": 0.4, "GET": 0.2}
    rows = {t.name: t for t in sockets_bench.targets(ratio)}
    assert set(rows) == {"RESP SET / redis-server", "RESP GET / redis-server"}
    assert rows["RESP SET / redis-server"].met and not rows["RESP GET / redis-server"].met
    assert rows["RESP GET / redis-server"].limit == 0.25 and rows["RESP GET / redis-server"].unit == "×"


def test_summary_lists_the_resp_targets() -> None:
    import summary

    targets = {"resp": sockets_bench.targets({"SET": 0.1, "GET": 0.3})}
    text = summary.section(targets, "scripts/bench")
    assert "| RESP (raw TCP + KV) | RESP SET / redis-server | 0.10 × | ≥ 0.25 × | missed by 2.50× |" in text
    assert "| RESP (raw TCP + KV) | RESP GET / redis-server | 0.30 × | ≥ 0.25 × | met |" in text
