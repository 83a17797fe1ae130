"""The spec-test runner (benchmarks/wast.py) and the conformance report (benchmarks/conformance.py):
small .wast scripts of its own (tests/benchmarks/wast/), then a few scripts of the real
WebAssembly testsuite when ../shared/wasm-testsuite is there."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import conformance  # noqa: E402
import wast  # noqa: E402

from wasm_server.engine.runtime import Runtime  # noqa: E402

HERE = Path(__file__).resolve().parent / "wast"
SUITE = conformance.SUITE


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    rt = wast.server_runtime()
    yield rt
    rt.close()


def by_line(result: wast.ScriptResult) -> dict[int, wast.Outcome]:
    return {o.line: o for o in result.outcomes}


def test_every_command_of_the_passing_script_passes(runtime: Runtime) -> None:
    result = wast.run_script(HERE / "passing.wast", runtime.engine)
    assert result.error == ""
    failed = [o for o in result.outcomes if o.status != "passed"]
    assert failed == []
    kinds = {o.command for o in result.outcomes}
    # the script covers each kind of command the suite uses most
    assert {"module", "register", "action", "assert_return", "assert_trap", "assert_exhaustion", "assert_invalid",
            "assert_malformed", "assert_unlinkable", "assert_uninstantiable"} <= kinds
    assert result.count("passed") == 23


def test_each_failing_assertion_fails_with_its_cause(runtime: Runtime) -> None:
    result = wast.run_script(HERE / "failing.wast", runtime.engine, deadline_seconds=0.3)
    lines = by_line(result)
    expected = {
        8: "wrong i32 result",
        9: "wrong f32 result",  # 1.0 is no canonical NaN
        10: "returned instead of trapping",
        11: "trapped with a different trap: wasm trap: integer divide by zero",
        12: "accepted a module the spec refuses",
        13: "did not finish within its deadline (0.3 s)",  # the epoch deadline stops an endless loop
        15: "module refused: defined memories count of N exceeds the per-instance limit of N",
        16: "its module was refused: defined memories count of N exceeds the per-instance limit of N",
    }
    for line, cause in expected.items():
        assert lines[line].status == "failed", lines[line]
        assert lines[line].cause == cause
    assert lines[8].detail == "result 0: i32 3, expected 4"
    assert [o.status for o in result.outcomes].count("passed") == 1  # the first module


def test_nan_results_are_compared_bit_for_bit(runtime: Runtime, tmp_path: Path) -> None:
    # f32.neg must keep a signalling NaN's payload: through a Python float it would come back quiet
    script = tmp_path / "nan.wast"
    script.write_text("""
        (module (func (export "neg") (param f32) (result f32) (f32.neg (local.get 0))))
        (assert_return (invoke "neg" (f32.const nan:0x200000)) (f32.const -nan:0x200000))
        (assert_return (invoke "neg" (f32.const nan:0x200000)) (f32.const -nan:0x600000))
        (assert_return (invoke "neg" (f32.const nan:0x200000)) (f32.const nan:arithmetic))
        (assert_return (invoke "neg" (f32.const nan)) (f32.const nan:canonical))
    """)
    statuses = [o.status for o in wast.run_script(script, runtime.engine).outcomes]
    # the last: -nan is canonical (the sign does not matter); the third: a signalling NaN is not arithmetic
    assert statuses == ["passed", "passed", "failed", "failed", "passed"]


def test_the_engine_is_the_servers_and_follows_its_pool_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # the failing script's two-memory module is refused under the default pool (one memory per
    # module) and loads when the runtime config allows two, as `wasm-server up` would
    monkeypatch.setenv("WASM_SERVER_POOL_MEMORIES_PER_MODULE", "2")
    rt = wast.server_runtime()
    try:
        result = wast.run_script(HERE / "failing.wast", rt.engine, deadline_seconds=0.3)
    finally:
        rt.close()
    lines = by_line(result)
    assert lines[15].status == lines[16].status == "passed"


def test_a_script_the_converter_refuses_counts_its_commands_as_skipped(runtime: Runtime,
                                                                       tmp_path: Path) -> None:
    script = tmp_path / "legacy.wast"
    script.write_text('(module (func (export "f") (try (do) (catch_all))))\n(assert_return (invoke "f"))\n')
    result = wast.run_script(script, runtime.engine)
    assert result.error.startswith("wasm-tools json-from-wast:")
    assert result.count("skipped") == 2 and result.count("failed") == 0


def test_causes_group_alike_failures() -> None:
    one = "module table does not fit\n\nCaused by:\n    0: x\n    1: defined tables count of 3 exceeds the limit of 1"
    two = "module table does not fit\n\nCaused by:\n    0: y\n    1: defined tables count of 2 exceeds the limit of 1"
    assert wast.cause_of(one) == wast.cause_of(two) == "defined tables count of N exceeds the limit of N"
    assert wast.cause_of("unknown import: `M::f` has not been defined") == "unknown import: `…` has not been defined"


def test_proposal_of_a_script() -> None:
    assert conformance.proposal_of(Path("proposals/threads/atomic.wast")) == "threads"
    assert conformance.proposal_of(Path("legacy/throw.wast")) == "legacy exception-handling"
    assert conformance.proposal_of(Path("simd_lane.wast")) == "simd"
    assert conformance.proposal_of(Path("simd_memory-multi.wast")) == "multi-memory"
    assert conformance.proposal_of(Path("i32x4_relaxed_trunc.wast")) == "relaxed-simd"
    assert conformance.proposal_of(Path("memory64.wast")) == "memory64"
    assert conformance.proposal_of(Path("address0.wast")) == "multi-memory"
    assert conformance.proposal_of(Path("i32.wast")) == "core"


def test_the_doc_keeps_what_is_outside_its_measured_section(tmp_path: Path) -> None:
    doc = tmp_path / "conformance.md"
    begin, end = conformance.markers("conformance")
    doc.write_text(f"# Title\n\nprose before\n\n{begin}\nold table\n{end}\n\nprose after\n")
    conformance.write_doc(f"{begin}\nnew table\n{end}", "conformance", doc)
    assert doc.read_text() == f"# Title\n\nprose before\n\n{begin}\nnew table\n{end}\n\nprose after\n"


needs_suite = pytest.mark.skipif(
    not SUITE.is_dir(),
    reason=f"the WebAssembly testsuite is not at {SUITE} (a checkout of github.com/WebAssembly/testsuite; "
           "docs/conformance.md says which commit the report used)")


@needs_suite
def test_real_suite_scripts(runtime: Runtime) -> None:
    i32 = wast.run_script(SUITE / "i32.wast", runtime.engine)
    assert i32.count("passed") > 400 and i32.count("failed") == i32.count("skipped") == 0
    f32 = wast.run_script(SUITE / "f32.wast", runtime.engine)  # NaN-heavy
    assert f32.count("passed") > 2000 and f32.count("failed") == 0
    linking = wast.run_script(SUITE / "linking.wast", runtime.engine)
    assert linking.count("passed") > 100
    # what fails in linking.wast fails for the pool's one table per module, and nothing else
    assert {o.cause for o in linking.outcomes if o.status == "failed"} <= {
        "module refused: defined tables count of N exceeds the per-instance limit of N",
        "its module was refused: defined tables count of N exceeds the per-instance limit of N",
        "module refused: imports from a refused module (defined tables count of N exceeds the per-instance "
        "limit of N)",
    }


@needs_suite
def test_the_pooling_allocator_refuses_shared_memories(runtime: Runtime) -> None:
    atomic = wast.run_script(SUITE / "proposals" / "threads" / "atomic.wast", runtime.engine)
    refused = [o for o in atomic.outcomes if o.command == "module" and o.status == "failed"]
    assert refused
    assert all(o.cause == "module refused: memory is shared which is not supported in the pooling allocator"
               for o in refused)
