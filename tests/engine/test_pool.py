"""The pooling allocator's limits: real Go tables fit by default, a refusal says why in full."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.wat_app import write_app
from tests.guests import wat
from wasm_server.capabilities import ALL_IMPORTS
from wasm_server.engine import Runtime
from wasm_server.engine.reasons import wasmtime_reason
from wasm_server.engine.runtime import PoolLimits
from wasm_server.errors import LoadError

#: a guest whose function table has 30,000 slots (gin v1.12 built for wasip1 has 26,227)
BIG_TABLE = wat.guest(extra="(table 30000 funcref)")


def test_a_table_of_30000_elements_loads_with_the_defaults() -> None:
    rt = Runtime(None, ALL_IMPORTS, pool_size=4)
    try:
        assert "wasm_server_handle" in rt.load(BIG_TABLE, "big").exports
    finally:
        rt.close()


def test_a_table_over_the_limit_is_refused_with_wasmtimes_whole_reason() -> None:
    rt = Runtime(None, ALL_IMPORTS, pool=PoolLimits(instances=4, table_elements=20000))
    try:
        with pytest.raises(LoadError) as err:
            rt.load(BIG_TABLE, "big.wasm")
    finally:
        rt.close()
    text = str(err.value)
    assert "module table does not fit in pooling allocator requirements" in text
    assert "table index 0 has a minimum element size of 30000 which exceeds the limit of 20000" in text
    assert "pool_table_elements" in text  # the setting that changes it


def test_the_cause_chain_is_kept_in_order() -> None:
    text = "outer problem\n\nCaused by:\n    0: middle\n    1: inner detail\n"
    assert wasmtime_reason(text) == "outer problem: middle: inner detail"
    assert wasmtime_reason("one line") == "one line"


def test_up_exits_2_naming_the_table_limit_when_lowered(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", {"big": (BIG_TABLE, 'routes = ["/"]')})
    cfg = tmp_path / "runtime.toml"
    cfg.write_text(f'[server]\npool_table_elements = 20000\npool_instances = 4\ncache_dir = "{tmp_path / "c"}"\n')
    out = subprocess.run([sys.executable, "-m", "wasm_server.cli.main", "up", str(app), "--no-build",
                          "--config", str(cfg), "--listen", "127.0.0.1:0"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stderr
    assert "exceeds the limit of 20000" in out.stderr and "pool_table_elements" in out.stderr
