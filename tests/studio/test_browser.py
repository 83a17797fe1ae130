"""The studio in a real browser: Playwright (npm playwright-core) driving Debian's chromium
through tests/browser/studio_flow.mjs, once per ABI v1 language, against a real
``wasm-server studio`` and a real ``wasm-server up --admin`` it deploys to (both on loopback).

Set ``WASM_SERVER_SCREENSHOTS=docs/studio`` to refresh the screenshots docs/studio.md shows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import CLI, ROOT, free_port, wait_port

BROWSER = ROOT / "tests" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TOKEN = "studio-browser-test-token"

# a cold build per language (Rust's and Go's first builds take minutes on 2 cores), three
# builds per flow, and Wasmtime compiling the deployed module
pytestmark = pytest.mark.timeout(1500)


@dataclass
class Studio:
    """A studio and the server it deploys to."""

    url: str
    server_url: str
    workspace: Path


def _spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen(argv, stdout=out, stderr=out, cwd=ROOT,
                                env={**os.environ, "WASM_SERVER_ADMIN_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"})


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: scripts/setup installs Debian's chromium"
    assert (BROWSER / "node_modules" / "playwright-core").is_dir(), "run scripts/setup (npm ci in tests/browser)"
    where = tmp_path_factory.mktemp("studio")
    http_port, admin_port, studio_port = free_port(), free_port(), free_port()
    server = _spawn([*CLI, "up", "--listen", f"127.0.0.1:{http_port}", "--admin", f"127.0.0.1:{admin_port}",
                     "--data-dir", str(where / "data")], where / "server.log")
    studio = _spawn([*CLI, "studio", str(where / "workspace"), "--listen", f"127.0.0.1:{studio_port}",
                     "--admin", f"http://127.0.0.1:{admin_port}", "--server-url", f"http://127.0.0.1:{http_port}"],
                    where / "studio.log")
    try:
        wait_port("127.0.0.1", admin_port, server)
        wait_port("127.0.0.1", studio_port, studio)
        yield Studio(f"http://127.0.0.1:{studio_port}", f"http://127.0.0.1:{http_port}", where / "workspace")
    finally:
        for proc in (studio, server):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _flow(studio: Studio, language: str) -> dict[str, object]:
    env = {**os.environ, "STUDIO_URL": studio.url, "SERVER_URL": studio.server_url, "LANGUAGE": language,
           "CHROMIUM": CHROMIUM}
    shots = os.environ.get("WASM_SERVER_SCREENSHOTS")
    if shots:
        env["SCREENSHOTS"] = str((ROOT / shots).resolve())
    proc = subprocess.run(["node", "studio_flow.mjs"], cwd=BROWSER, env=env, capture_output=True, text=True,
                          timeout=1400)
    assert proc.returncode == 0, f"the {language} flow failed:\n{proc.stderr[-6000:]}"
    report: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(json.dumps(report))  # the step timings (pytest -s shows them; benchmarks/RESULTS.md quotes them)
    return report


@pytest.mark.parametrize("language", ["c", "cpp", "rust", "go", "ts"])
def test_template_to_deployed_service_in_the_browser(studio: Studio, language: str) -> None:
    report = _flow(studio, language)
    assert report["language"] == language
    # the flow checked the live URL itself; check it from here too, with another client
    live = httpx.get(str(report["url"]), timeout=30)
    assert live.status_code == 200 and "Greetings from" in live.text
    assert (studio.workspace / f"hello-{language}" / "wasm-server.toml").is_file()


def test_import_try_a_websocket_and_export_in_the_browser(studio: Studio, tmp_path: Path) -> None:
    """Share (.zip import and export) and a WebSocket tried in the browser, on the repository's
    C echo example (plain routes and a WebSocket route in one component)."""
    source = ROOT / "examples" / "echo" / "c"
    archive = tmp_path / "echo-c.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name in ("main.c", "wasm-server.toml"):
            z.write(source / name, name)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    env = {**os.environ, "STUDIO_URL": studio.url, "ZIP": str(archive), "DOWNLOADS": str(downloads),
           "CHROMIUM": CHROMIUM}
    shots = os.environ.get("WASM_SERVER_SCREENSHOTS")
    if shots:
        env["SCREENSHOTS"] = str((ROOT / shots).resolve())
    proc = subprocess.run(["node", "studio_share.mjs"], cwd=BROWSER, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, f"the share flow failed:\n{proc.stderr[-6000:]}"
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["imported"] == "echo-c"
    with zipfile.ZipFile(report["exported"]) as z:
        names = sorted(z.namelist())
    assert names == ["main.c", "wasm-server.toml"], names  # sources only: no echo.wasm, no .wasm-server/
    assert (studio.workspace / "echo-c" / "echo.wasm").is_file()  # it was built in the workspace
