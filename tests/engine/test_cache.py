"""The compiled-module cache stays within its bound, least recently used out first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.guests import wat
from wasm_server.engine import Runtime
from wasm_server.engine.cache import entries, prune

KiB = 1024


def fake_entries(directory: Path, sizes: dict[str, int]) -> None:
    """Entries named by letter, used in the order given (the first is the oldest)."""
    directory.mkdir(parents=True, exist_ok=True)
    for age, (name, size) in enumerate(reversed(list(sizes.items()))):
        path = directory / f"{name}.cwasm"
        path.write_bytes(b"x" * size)
        os.utime(path, (1_000_000 - age * 10, 1_000_000 - age * 10))


def names(directory: Path) -> list[str]:
    return [e.path.stem for e in entries(directory)]


def test_prune_keeps_the_most_recently_used_within_the_bound(tmp_path: Path) -> None:
    fake_entries(tmp_path, {"old": 40 * KiB, "mid": 40 * KiB, "new": 40 * KiB})
    assert names(tmp_path) == ["new", "mid", "old"]
    result = prune(tmp_path, 100 * KiB)
    assert names(tmp_path) == ["new", "mid"]
    assert (result.kept, result.removed, result.removed_bytes) == (2, 1, 40 * KiB)
    assert prune(tmp_path, 0).removed == 2 and names(tmp_path) == []


def test_prune_tolerates_entries_vanishing_and_leaves_fresh_temp_files(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    fake_entries(tmp_path, {"a": KiB, "b": KiB})
    (tmp_path / "writer.tmp").write_bytes(b"half")  # another worker mid-write
    real_unlink = Path.unlink

    def raced(self: Path, missing_ok: bool = False) -> None:
        real_unlink(self)  # another worker removed it first …
        real_unlink(self, missing_ok=missing_ok)  # … so ours finds nothing

    monkeypatch.setattr(Path, "unlink", raced)
    assert prune(tmp_path, 0).removed == 0
    monkeypatch.undo()
    assert names(tmp_path) == [] and (tmp_path / "writer.tmp").exists()
    assert prune(tmp_path / "missing", 0).kept == 0  # no directory yet: nothing to do


def test_a_hit_marks_the_entry_used_and_a_write_prunes(tmp_path: Path) -> None:
    mods = [wat.guest(extra=f'(func (export "f{i}"))') for i in range(3)]
    rt = Runtime(tmp_path, (), pool_size=0, cache_max_size=10**9)
    try:
        for m in mods:
            rt.cache.load(m, "m")
        first = rt.cache.key(mods[0])
        for e in entries(tmp_path):
            os.utime(e.path, (1_000_000, 1_000_000))  # all equally old …
        rt.cache.load(mods[0], "m")  # … then the first is used again
        assert rt.cache.hits == 1 and names(tmp_path)[0] == first
        size = entries(tmp_path)[0].size
        rt.cache.max_size = 2 * size + size // 2  # room for two
        rt.cache.load(wat.guest(extra='(func (export "g"))'), "m")  # a new entry prunes the least recently used
    finally:
        rt.close()
    kept = names(tmp_path)
    assert len(kept) == 2 and first in kept


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wasm_server.cli.main", "cache", *args],
                          capture_output=True, text=True, timeout=60)


def test_cache_info_and_prune_commands(tmp_path: Path) -> None:
    fake_entries(tmp_path / "modules", {"old": 700 * KiB, "new": 700 * KiB})
    info = run_cli("info", "--cache-dir", str(tmp_path))
    assert info.returncode == 0 and "2 module(s), 1.4 MiB (bound 512 MiB)" in info.stdout
    pruned = run_cli("prune", "--cache-dir", str(tmp_path), "--max-size", "1MiB")
    assert pruned.returncode == 0 and "removed 1 module(s)" in pruned.stdout
    assert names(tmp_path / "modules") == ["new"]
    cfg = tmp_path / "runtime.toml"
    cfg.write_text(f'[server]\ncache_dir = "{tmp_path}"\n')
    assert "removed 1 module(s)" in run_cli("prune", "--config", str(cfg), "--max-size", "0").stdout
    assert names(tmp_path / "modules") == []
    bad = run_cli("prune", "--cache-dir", str(tmp_path), "--max-size", "lots")
    assert bad.returncode == 2 and "cache_max_size" in bad.stderr
