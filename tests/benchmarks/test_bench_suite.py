"""Helpers of the issue-5 benchmarks: verdicts, wrk percentiles, staleness,
generated guests, the summary (no timing assertions, no network)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import wasmtime

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import calls  # noqa: E402
import density  # noqa: E402
import suite  # noqa: E402
import summary  # noqa: E402
import wasi_http_hello  # noqa: E402
from suite import Target  # noqa: E402

WRK = """Running 2s test @ http://127.0.0.1:1/
  1 threads and 50 connections
  Latency Distribution
     50%  612.00us
     75%    1.01ms
     90%    2.00ms
     99%    1.20s
  1000 requests in 2.00s, 1.00MB read
  Non-2xx or 3xx responses: 3
Requests/sec:    500.00
Transfer/sec:      1.00MB
"""


def test_target_verdicts() -> None:
    assert Target("x", 1.6, 1.5, "×", True).verdict() == "met"
    assert Target("x", 0.75, 1.5, "×", True).verdict() == "missed by 2.00×"
    assert Target("x", 1.0, 2.0, "µs", False).verdict() == "met"
    assert Target("x", 3.0, 2.0, "µs", False).verdict() == "missed by 1.50×"
    assert Target("x", 0.0, 1.5, "×", True).verdict() == "missed"
    assert Target("rss", 0.5, 2.0, "MiB", False).row() == "| rss | 0.50 MiB | ≤ 2.00 MiB | met |"


def test_fmt_precision() -> None:
    assert [suite.fmt(v) for v in (0, 0.0123, 0.5, 12.34, 1234.5)] == ["0", "0.012", "0.50", "12.3", "1234"]


def test_parse_http_percentiles_and_bad_responses() -> None:
    r = suite.parse_http(WRK)
    assert r.rps == 500.0 and r.p50_ms == pytest.approx(0.612) and r.p99_ms == 1200.0 and r.bad == 3
    with pytest.raises(ValueError):
        suite.parse_percentile("Requests/sec: 1\n", 50)


def test_record_and_load_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suite, "FIGURES", tmp_path)
    suite.record("calls", [Target("host→guest call", 2.5, 2.0, "µs", False)], {"a": 1.0})
    loaded = suite.load_targets(tmp_path)
    assert loaded == {"calls": [Target("host→guest call", 2.5, 2.0, "µs", False)]}
    text = summary.section(loaded, "scripts/bench")
    assert "0 of 1 targets met" in text and "| Host↔guest calls | host→guest call | 2.50 µs" in text
    assert "Not measured in this run: HTTP hello, Cold start, Compute, Density, RESP (raw TCP + KV)." in text


def test_stale(tmp_path: Path) -> None:
    src, out = tmp_path / "a.wat", tmp_path / "a.wasm"
    src.write_text("(module)")
    assert wasi_http_hello.stale(out, [src])
    out.write_bytes(b"")
    os.utime(src, (1, 1))
    assert not wasi_http_hello.stale(out, [src])
    os.utime(src, None)
    os.utime(out, (1, 1))
    assert wasi_http_hello.stale(out, [src])


def test_wasi_http_sources_are_listed() -> None:
    names = {p.name for p in wasi_http_hello.sources()}
    assert {"hello.wat", "world.wit", "http.wit", "io.wit"} <= names


def test_density_guests_are_distinct_and_valid() -> None:
    a, b = (bytes(wasmtime.wat2wasm(density.guest_wat(i))) for i in (0, 1))
    assert a != b
    module = wasmtime.Module(wasmtime.Engine(), a)
    assert {e.name for e in module.exports} >= {"memory", "wasm_server_abi_version", "wasm_server_handle"}


def test_density_manifest_has_one_route_per_component() -> None:
    text = density.manifest(3)
    assert text.count("[[component]]") == 3 and 'routes = ["/c0002"]' in text


def test_density_guest_answers_its_index() -> None:
    store = wasmtime.Store()
    inst = wasmtime.Instance(store, wasmtime.Module(store.engine, density.guest_wat(7)), [])
    handle, memory = inst.exports(store)["wasm_server_handle"], inst.exports(store)["memory"]
    assert isinstance(handle, wasmtime.Func) and isinstance(memory, wasmtime.Memory)
    ret = handle(store, 1, 0, 0)
    assert isinstance(ret, int)
    data = memory.read(store, ret >> 32, (ret >> 32) + (ret & 0xFFFFFFFF))
    assert data.endswith(b"hello from component 7\n") and data[:4] == (200).to_bytes(4, "little")


def test_tree_rss_of_this_process() -> None:
    assert density.tree_rss_kib(os.getpid()) > 1000


def test_calls_guest_loops_over_its_import() -> None:
    store = wasmtime.Store()
    module = wasmtime.Module(store.engine, calls.WAT)
    seen: list[int] = []

    def rr(ptr: int, length: int) -> int:
        seen.append(ptr)
        return 1

    func = wasmtime.Func(store, wasmtime.FuncType([wasmtime.ValType.i32()] * 2, [wasmtime.ValType.i32()]), rr)
    inst = wasmtime.Instance(store, module, [func])
    loop = inst.exports(store)["call_host"]
    assert isinstance(loop, wasmtime.Func)
    assert loop(store, 5) == 5 and len(seen) == 5


def test_cpu_times_from_proc_stat() -> None:
    import quiet

    busy, total = quiet.cpu_times("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n")
    assert (busy, total) == (150, 1000)


def test_summary_quiet_line() -> None:
    line = summary.quiet_line({"calls": {"busy": 0.05, "waited": 0.0}, "http": {"busy": 0.3, "waited": 30.2}})
    assert line == "CPU busy with other work just before each benchmark: calls 5%, http 30% after waiting 30 s."


def test_http_paired_ratio_uses_rounds() -> None:
    import http_peers

    assert http_peers.paired_ratio([10.0, 20.0, 30.0], [10.0, 10.0, 10.0]) == 2.0


def test_targets_section_goes_first() -> None:
    old = "# Benchmark results\n\n## HTTP hello (issue 2)\n\nx\n"
    new = summary.place_first(old, summary.SECTION, "## Targets (issue 5)\n\nt\n")
    assert new.index("## Targets (issue 5)") < new.index("## HTTP hello (issue 2)")
    assert new.startswith("# Benchmark results\n\n## Targets")


def test_density_c_variants_differ_only_in_the_greeting() -> None:
    hello = b"\x00asm....Hello from C\n...."
    a, b = density.c_variant(hello, 1), density.c_variant(hello, 2)
    assert a != b and len(a) == len(hello) and b"Hello c00001\n" in a
    with pytest.raises(ValueError):
        density.c_variant(b"no greeting", 1)
