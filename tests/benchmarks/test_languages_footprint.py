"""The footprint measurement of benchmarks/languages.py on a module of known size (no timing)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import wasmtime

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))  # languages.py imports its siblings as the script would
spec = importlib.util.spec_from_file_location("languages", BENCH / "languages.py")
assert spec and spec.loader
languages = importlib.util.module_from_spec(spec)
sys.modules["languages"] = languages  # dataclasses look their module up
spec.loader.exec_module(languages)

HELLO_WAT = Path(__file__).resolve().parents[1] / "guests" / "hello.wat"


def test_footprint_reports_size_and_linear_memory_of_the_module(tmp_path: Path) -> None:
    module = tmp_path / "hello.wasm"
    module.write_bytes(wasmtime.wat2wasm(HELLO_WAT.read_text()))
    fp = languages.footprint(module)
    assert fp.module_bytes == module.stat().st_size
    assert fp.linear_kib == 64  # the WAT guest declares one page
    assert 0 <= fp.rss_kib_per_instance < 1024


def test_idle_instances_that_call_the_host_trap_with_the_import_name(tmp_path: Path) -> None:
    engine = wasmtime.Engine()
    module = wasmtime.Module(engine, wasmtime.wat2wasm(HELLO_WAT.read_text()))
    linker = languages._linker(engine, module)
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    handle = linker.instantiate(store, module).exports(store)["wasm_server_handle"]
    assert isinstance(handle, wasmtime.Func)
    try:
        handle(store, 1, 0, 0)
    except wasmtime.Trap as exc:
        assert "log called at idle" in str(exc)
    else:
        raise AssertionError("the host import did not trap")
