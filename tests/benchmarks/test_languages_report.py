"""benchmarks/languages.py without timing: the instance-mode manifests it serves and the
section it writes (component rows say n/a, not a number)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from wasm_server.manifest import load_manifest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))  # languages.py imports its siblings as the script would
spec = importlib.util.spec_from_file_location("languages", BENCH / "languages.py")
assert spec and spec.loader
languages = importlib.util.module_from_spec(spec)
sys.modules["languages"] = languages  # dataclasses look their module up
spec.loader.exec_module(languages)

WRK_50 = languages.WrkResult(rps=1000.0, p99_ms=20.0, non_2xx=0, errors=0)
WRK_1 = languages.WrkResult(rps=400.0, p99_ms=3.0, non_2xx=0, errors=0)


@pytest.mark.parametrize("lang", ["c", "python", "js"])
@pytest.mark.parametrize("reuse", [0, 10000])
def test_staged_example_serves_the_same_module_with_the_asked_instance_mode(
        lang: str, reuse: int, tmp_path: Path) -> None:
    example = ROOT / "examples" / "hello" / lang
    app = tmp_path / "app"
    app.mkdir()
    (app / "hello.wasm").write_bytes(b"\0asm")  # the manifest is read, the module not compiled
    staged_manifest = languages.with_instance_reuse((example / "wasm-server.toml").read_text(), reuse)
    (app / "wasm-server.toml").write_text(staged_manifest)
    spec = load_manifest(app / "wasm-server.toml")
    [component] = spec.components
    assert component.instance_reuse == reuse
    assert staged_manifest.count("instance_reuse") == 1


def test_instance_reuse_is_added_to_a_manifest_without_it() -> None:
    manifest = '[[component]]\nname = "x"\nsource = "x.wasm"\nroutes = ["/..."]\n'
    assert "instance_reuse = 0\n" in languages.with_instance_reuse(manifest, 0)


def test_section_has_a_row_per_language_and_no_memory_figure_for_components() -> None:
    runs = {"reused": [languages.Run(WRK_50, WRK_1)], "fresh": [languages.Run(WRK_50, WRK_1)]}
    rows = {
        "c": languages.Row(languages.Footprint(27 * 1024, 128, 12.0), languages.BuildTimes(50.0, 0.8), runs, 300.0),
        "python": languages.Row(languages.Footprint(40 * 1024 * 1024, None, None), languages.BuildTimes(None, 60.0),
                                runs, 20.0),
    }
    text = languages.report(rows, "python benchmarks/languages.py", 5)
    assert text.startswith(languages.SECTION + "\n")
    c_row = next(line for line in text.splitlines() if line.startswith("| C |"))
    py_row = next(line for line in text.splitlines() if line.startswith("| Python |"))
    assert "| ABI v1 | 1000 | 1000 | 20.00 / 20.00 | 2.500 / 2.500 | 300.0 MiB/s | 27 KiB | 128 KiB | 12 KiB " \
           "| 50.0 s | 0.8 s |" in c_row
    assert "| wasi:http component |" in py_row
    assert py_row.count("n/a (component)") == 2 and "| not run | 60.0 s |" in py_row


def test_a_language_that_failed_is_listed_as_not_measured() -> None:
    text = languages.report({}, "python benchmarks/languages.py", 5, {"js": "build failed (exit 3)"})
    assert "| JavaScript | not measured: build failed (exit 3) |" in text.splitlines()


def test_non_2xx_responses_are_noted_because_wrk_counts_them_in_req_s() -> None:
    bad = languages.WrkResult(rps=500.0, p99_ms=900.0, non_2xx=268, errors=1)
    runs = {"reused": [languages.Run(WRK_50, WRK_1)], "fresh": [languages.Run(bad, WRK_1)]}
    assert languages.bad_responses("c", {"reused": runs["reused"]}) == ""
    assert languages.bad_responses("python", runs) == \
        "Python: 268 non-2xx responses and 1 socket errors in the fresh runs (wrk counts them in req/s)."
