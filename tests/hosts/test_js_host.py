"""The JavaScript host (hosts/js): its node:test suite on real guests, and serve.mjs over HTTP."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import CLI, EXAMPLES, ROOT, free_port
from tests.guests.wat_js import conn_guest, stdio_guest, timer_guest

HOST = ROOT / "hosts" / "js"
# the first test builds eight C examples (module fixture): more than the default 120 s on a cold cache
pytestmark = [pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed"),
              pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight C examples (see the loop) and three WAT guests, in one directory."""
    out = tmp_path_factory.mktemp("js-modules")
    (out / "conn.wasm").write_bytes(conn_guest())
    (out / "stdio.wasm").write_bytes(stdio_guest())
    (out / "timer.wasm").write_bytes(timer_guest())
    for name in ("hello", "kv-counter", "echo", "tcp-echo", "ws-chat", "wagi-hello", "sse-clock", "dns"):
        built = subprocess.run([*CLI, "build", str(EXAMPLES / name / "c")], cwd=ROOT, capture_output=True, text=True,
                               timeout=600)
        assert built.returncode == 0, built.stderr
        shutil.copy(EXAMPLES / name / "c" / f"{name}.wasm", out / f"{name}.wasm")
    return out


def test_node_suite_passes_with_every_test_run(modules: Path) -> None:
    out = subprocess.run(["node", "--test", "test/"], cwd=HOST, capture_output=True, text=True, timeout=120,
                         env={"WASM_SERVER_TEST_MODULES": str(modules), "PATH": "/usr/bin:/bin:/usr/local/bin"})
    assert out.returncode == 0, out.stdout + out.stderr
    counts = dict(re.findall(r"^# (pass|fail|skipped) (\d+)$", out.stdout, re.M))
    assert counts["fail"] == "0" and counts["skipped"] == "0" and int(counts["pass"]) >= 33


def test_serve_mjs_answers_over_http(modules: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(["node", str(HOST / "serve.mjs"), str(modules / "hello.wasm"), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                r = httpx.get(f"{url}/x/y?z=1")
                break
            except httpx.ConnectError:
                subprocess.run(["sleep", "0.05"])
        assert r.status_code == 200 and r.text == "Hello from C\npath: /x/y\n"
        assert int(r.headers["content-length"]) == len(r.content)
    finally:
        proc.terminate()
        proc.wait(10)
