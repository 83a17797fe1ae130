"""The per-user cache directory every part of wasm-server writes to.

``$XDG_CACHE_HOME`` when set, else ``~/.cache``, else (no home, e.g. a service account
without one) the temp directory: compiled modules, Rust's std sysroot and shared target
dir, the Go SDK's module proxy and ts-build's asc live under ``<that>/wasm-server``."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache() -> Path:
    """The user's cache base directory (``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"])
    if os.environ.get("HOME"):
        return Path(os.environ["HOME"]) / ".cache"
    import tempfile  # only here: it imports shutil, random, bz2 and lzma (start-up time)

    return Path(tempfile.gettempdir())


def wasm_server_cache() -> Path:
    """``<user cache>/wasm-server``."""
    return user_cache() / "wasm-server"
