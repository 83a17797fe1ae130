"""``wasm-server new rust`` writes a service that depends on nothing's location: no absolute
path in any file it writes or in the Cargo.lock the first build makes (the SDK comes from the
installation at build time), so the directory builds and serves after it is moved."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.e2e.conftest import CLI, ROOT, Server
from wasm_server.toolchain.sdk import sdk_dir

ServerFactory = Callable[..., Server]


def run(*args: str, cwd: Path) -> str:
    proc = subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stderr


def assert_nothing_absolute(service: Path, *places: Path) -> None:
    for f in service.rglob("*"):
        if f.is_file() and f.suffix != ".wasm":
            text = f.read_text()
            for place in places:
                assert str(place) not in text, f"{f} names {place}"
            assert "{{" not in text, f"{f}: a placeholder left unfilled"
            assert not re.search(r"^\s*path\s*=", text, re.M), f"{f} has a path dependency"
            quoted = re.findall(r"[\"'](/[^\"']*)[\"']", text)  # routes ("/...") are fine, files are not
            assert not [q for q in quoted if Path(q).exists()], f"{f} names a path on this machine"


def test_new_rust_service_builds_and_serves_after_it_is_moved(tmp_path: Path, server_factory: ServerFactory) -> None:
    first = tmp_path / "first"
    first.mkdir()
    run("new", "rust", "moved-svc", cwd=first)
    service = first / "moved-svc"
    assert_nothing_absolute(service, ROOT, sdk_dir("rust"), tmp_path)
    run("build", str(service / "wasm-server.toml"), cwd=service)  # writes Cargo.lock
    assert_nothing_absolute(service, ROOT, sdk_dir("rust"), tmp_path)
    assert 'name = "wasm-server"' in (service / "Cargo.lock").read_text()
    moved = tmp_path / "elsewhere" / "moved-svc"
    moved.parent.mkdir()
    shutil.move(service, moved)
    run("build", "--force", str(moved / "wasm-server.toml"), cwd=moved)  # the same Cargo.lock, elsewhere
    server = server_factory(moved)
    r = httpx.get(f"{server.url}/somewhere", timeout=30)
    assert (r.status_code, r.text) == (200, "Hello from moved-svc!\nyou asked for /somewhere (visit 1)\n")
