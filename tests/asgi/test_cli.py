"""`uvicorn wasm_server.asgi:app` and friends as users start them: real processes on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ROOT, free_port, wait_port

pytestmark = pytest.mark.timeout(600)


def run_server(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:  # the child has its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", *argv], cwd=ROOT, stdout=out, stderr=out,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", **env})


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


@pytest.mark.parametrize("argv", [
    ["uvicorn", "wasm_server.asgi:app", "--lifespan", "on"],
    ["uvicorn", "--factory", "wasm_server.asgi:create_app_from_env", "--lifespan", "on"],
    ["hypercorn", "wasm_server.asgi:app"],
], ids=["uvicorn-app", "uvicorn-factory", "hypercorn-app"])
def test_served_from_the_environment(argv: list[str], asgi_manifest: Path, tmp_path: Path) -> None:
    port = free_port()
    bind = ["--bind", f"127.0.0.1:{port}"] if argv[0] == "hypercorn" else ["--host", "127.0.0.1", "--port", str(port)]
    env = {"WASM_SERVER_MANIFEST": str(asgi_manifest), "WASM_SERVER_DATA_DIR": str(tmp_path / "data")}
    log = tmp_path / "server.log"
    proc = run_server([*argv, *bind], env, log)
    try:
        wait_port("127.0.0.1", port, proc)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            hello = client.get("/hello/env")
            count = client.post("/count")
    finally:
        code = stop(proc)
    assert hello.text == "Hello from C\npath: /env\n"
    assert count.text == "1\n"
    assert (tmp_path / "data").is_dir()  # $WASM_SERVER_DATA_DIR holds the KV store, as for `up`
    # uvicorn re-raises the SIGTERM it handled once it has shut down
    assert code in (0, -signal.SIGTERM), log.read_text()
    if argv[0] == "uvicorn":
        assert "Application shutdown complete." in log.read_text()


def test_the_factory_without_a_manifest_says_what_to_set(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "WASM_SERVER_MANIFEST"}
    proc = subprocess.run([sys.executable, "-m", "uvicorn", "--factory", "wasm_server.asgi:create_app_from_env",
                           "--port", str(free_port())], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "set WASM_SERVER_MANIFEST to the app's manifest" in proc.stderr


def test_a_failed_start_up_stops_the_server(tmp_path: Path) -> None:
    (tmp_path / "wasm-server.toml").write_text('[[component]]\nname = "gone"\nsource = "gone.wasm"\nroutes = ["/"]\n')
    env = {**os.environ, "WASM_SERVER_MANIFEST": str(tmp_path), "WASM_SERVER_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run([sys.executable, "-m", "uvicorn", "wasm_server.asgi:app", "--lifespan", "on",
                           "--port", str(free_port())], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "component 'gone': cannot read" in proc.stderr and "gone.wasm" in proc.stderr
