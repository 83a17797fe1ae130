"""The Rust SDK: cargo test (codec vs the shared vectors) and a module build."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import wasmtime

from wasm_server.errors import BuildError
from wasm_server.toolchain import rust

ROOT = Path(__file__).resolve().parents[2]


def toolchain() -> rust.Toolchain:
    try:
        return rust.pick()
    except BuildError as exc:
        pytest.fail(f"scripts/setup should have installed a Rust toolchain: {exc}")


def test_cargo_test_passes_the_shared_vectors() -> None:
    tc = toolchain()
    env = {**os.environ, **tc.env, "CARGO_TARGET_DIR": str(rust.TARGET_DIR / "native"), "CARGO_NET_OFFLINE": "true"}
    out = subprocess.run([tc.cargo, "test", "--manifest-path", str(ROOT / "sdk" / "rust" / "Cargo.toml"),
                          "--", "--nocapture"], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "checked 4 request and 4 response vectors" in out.stdout


def test_cargo_build_makes_a_small_module(tmp_path: Path) -> None:
    out = tmp_path / "hello.wasm"
    manifest = ROOT / "examples" / "hello" / "rust" / "Cargo.toml"
    assert rust.main(["--manifest-path", str(manifest), "-o", str(out)]) == 0
    module = wasmtime.Module(wasmtime.Engine(), out.read_bytes())
    exports = {e.name: e for e in module.exports}
    assert {"memory", "wasm_server_abi_version", "wasm_server_alloc", "wasm_server_handle"} <= set(exports)
    memory = exports["memory"].type
    assert isinstance(memory, wasmtime.MemoryType) and memory.limits.min <= 4


def test_missing_output_flag_is_a_clear_error() -> None:
    with pytest.raises(BuildError, match="missing -o"):
        rust.main(["--manifest-path", str(ROOT / "examples" / "hello" / "rust" / "Cargo.toml")])
