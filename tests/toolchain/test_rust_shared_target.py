"""Two Rust crates with the same name built at once into the shared target dir.

Every guest build shares ``~/.cache/wasm-server/rust-target`` (the SDK and common crates compile
once), so two crates named alike (a studio service made from the template and the example of the
same name) write the same ``release/<crate>.wasm``. A build copying its module out while the
other's cargo run overwrote it gave a service the other one's module (seen in the full suite:
the Rust SDK tests' hello answered with the studio test's greeting). Worse, cargo keys a root
crate's fingerprint by its name and relative paths: the second crate's build was "fresh" and
got the first one's module even one build after the other (toolchain/rust.py target_dir)."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.conftest import CLI

pytestmark = pytest.mark.timeout(900)


def _twin(where: Path, greeting: str) -> Path:
    subprocess.run([*CLI, "new", "rust", "twin"], cwd=where, check=True, capture_output=True, timeout=120)
    crate = where / "twin"
    lib = crate / "src" / "lib.rs"
    lib.write_text(lib.read_text().replace("Hello from", greeting))
    return crate


def _build(crate: Path) -> bytes:
    out = crate / "twin.wasm"
    proc = subprocess.run([*CLI, "cargo-build", "-o", str(out)], cwd=crate, capture_output=True, text=True,
                          timeout=800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out.read_bytes()


def test_same_named_crates_built_at_once_each_get_their_own_module(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    crates = {"Bonjour from": _twin(tmp_path / "a", "Bonjour from"), "Hallo from": _twin(tmp_path / "b", "Hallo from")}
    for greeting, crate in crates.items():  # one after the other: cargo took the second for the first
        module = _build(crate)
        assert greeting.encode() in module, f"one after the other: {greeting}"
    for round_ in range(3):
        for crate in crates.values():  # a change each round, so cargo really rebuilds both
            lib = crate / "src" / "lib.rs"
            lib.write_text(lib.read_text() + f"\n// round {round_}\n")
        with ThreadPoolExecutor(2) as pool:
            built = dict(zip(crates, pool.map(_build, crates.values()), strict=True))
        for greeting, module in built.items():
            other = next(g for g in crates if g != greeting)
            assert greeting.encode() in module and other.encode() not in module, f"round {round_}: {greeting}"
