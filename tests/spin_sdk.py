"""Where the tests find PyPI ``spin-sdk`` (its WIT builds components made for Spin).

It is installed by scripts/setup with ``pip install --target`` into the user cache, not
into .venv: componentize-py reads the ``componentize-py.toml`` of every package on its
Python path, and spin-sdk's adds its own copy of the wasi:* WIT, so with spin-sdk in the
same environment every ``wasm-server python`` build fails with "attempting to re-add
package wasi:io@0.2.6".
"""

from __future__ import annotations

from pathlib import Path

from wasm_server.cachedir import wasm_server_cache

VERSION = "5.0.0"
SETUP_HINT = "run scripts/setup (it installs spin-sdk with pip --target into the user cache)"


def target() -> Path:
    """The directory ``pip install --target`` put spin-sdk in."""
    return wasm_server_cache() / f"spin-sdk-{VERSION}"


def wit() -> Path:
    """spin-sdk's WIT directory (its ``deps/`` has the wasi:* packages at 0.2.6)."""
    path = target() / "spin_sdk" / "wit"
    if not path.is_dir():
        raise RuntimeError(f"spin-sdk {VERSION} is missing at {target()}: {SETUP_HINT}")
    return path
