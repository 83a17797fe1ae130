"""Compiling a module is announced and can happen at build time: a 40 MB Go framework module
took Cranelift over two minutes while `up` printed nothing, so the first start looked hung."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.e2e.conftest import CLI, ROOT, Server
from tests.e2e.wat_app import write_app
from tests.guests import wat
from wasm_server.abi_codec import GuestResponse, encode_response


def _app(root: Path) -> tuple[Path, Path, bytes]:
    """An app whose module is new to any cache (its answer is unique), and a runtime config
    with a compile cache of its own."""
    token = uuid.uuid4().hex.encode()
    module = wat.guest(response=encode_response(GuestResponse(200, [], token)))
    app = write_app(root / "app", {"hello": (module, 'routes = ["/..."]')})
    config = root / "runtime.toml"
    config.write_text(f'[server]\ncache_dir = "{root / "cache"}"\n')
    return app, config, token


def test_up_says_it_is_compiling(tmp_path: Path, server_factory: Callable[..., Server]) -> None:
    app, config, token = _app(tmp_path)
    server = server_factory(app, "--config", str(config))
    log = server.wait_for_log("compiling", "not in the compile cache yet", "compiled")
    assert "hello.wasm (component 'hello')" in log
    assert httpx.get(server.url + "/").content == token


def test_build_precompiles_so_up_does_not_compile(tmp_path: Path, server_factory: Callable[..., Server]) -> None:
    app, config, token = _app(tmp_path)
    built = subprocess.run([*CLI, "build", str(app), "--config", str(config)], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    assert f"1 module(s) compiled into {tmp_path / 'cache' / 'modules'}" in built.stderr
    assert list((tmp_path / "cache" / "modules").glob("*.cwasm"))
    server = server_factory(app, "--config", str(config))
    assert httpx.get(server.url + "/").content == token
    assert "compiling" not in server.log()
    again = subprocess.run([*CLI, "build", str(app), "--config", str(config)], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert "0 module(s) compiled" in again.stderr and "1 already there" in again.stderr


def test_build_no_precompile(tmp_path: Path) -> None:
    app, config, _ = _app(tmp_path)
    built = subprocess.run([*CLI, "build", str(app), "--config", str(config), "--no-precompile"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    assert "compiled" not in built.stderr
    assert not (tmp_path / "cache" / "modules").exists()
