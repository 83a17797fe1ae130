"""Filesystem grants: a guest sees no files unless the manifest lists a directory
(``files = [{ source = "static", path = "/static" }]``), and what it sees is read-only."""

from __future__ import annotations

from pathlib import Path

import wasmtime

Grants = tuple[tuple[Path, str], ...]


def grant(cfg: wasmtime.WasiConfig, grants: Grants) -> wasmtime.WasiConfig:
    """Preopen each granted directory read-only in ``cfg``; returns ``cfg``."""
    for source, guest in grants:
        cfg.preopen_dir(str(source), guest, fs_mutable=False)
    return cfg


def wasi_config(grants: Grants) -> wasmtime.WasiConfig:
    """The WASI context of a native instance: no args, no environment, no stdin, and
    only the granted directories."""
    return grant(wasmtime.WasiConfig(), grants)
