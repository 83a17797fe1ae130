"""WAGI: a plain WASI program answering CGI-style, as deislabs/wagi runs it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server
from wasm_server.toolchain import c as cc

GUEST = Path(__file__).resolve().parents[1] / "guests" / "c" / "wagi_probe.c"
Factory = Callable[..., Server]


@pytest.fixture(scope="module")
def wagi_wasm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wagi") / "probe.wasm"
    assert cc.main(["--wagi", "-o", str(out), str(GUEST)]) == 0
    return out


@pytest.fixture
def wagi(server_factory: Factory, wagi_wasm: Path, tmp_path: Path) -> Server:
    app = tmp_path / "app"
    app.mkdir()
    (app / "probe.wasm").write_bytes(wagi_wasm.read_bytes())
    (app / "wasm-server.toml").write_text(
        '[[component]]\nname = "wagi-probe"\nsource = "probe.wasm"\nabi = "wagi"\nroutes = ["/cgi/..."]\n'
    )
    return server_factory(app)


def test_cgi_environment(wagi: Server) -> None:
    r = httpx.get(wagi.url + "/cgi/a/b?env", headers={"X-Test": "yes"})
    env = dict(line.split("=", 1) for line in r.text.splitlines())
    assert env["REQUEST_METHOD"] == "GET" and env["SCRIPT_NAME"] == "/cgi" and env["PATH_INFO"] == "/a/b"
    assert env["QUERY_STRING"] == "env" and env["HTTP_X_TEST"] == "yes" and env["X_MATCHED_ROUTE"] == "/cgi/..."
    assert env["argv1"] == "env"  # query parameters are also argv, as in WAGI


def test_body_on_stdin(wagi: Server) -> None:
    r = httpx.post(wagi.url + "/cgi/echo", content=b"posted body")
    assert r.status_code == 200 and r.text == "posted body"


def test_location_without_status_is_302(wagi: Server) -> None:
    r = httpx.get(wagi.url + "/cgi?redirect")
    assert r.status_code == 302 and r.headers["location"] == "/elsewhere"


def test_status_header_sets_the_status(wagi: Server) -> None:
    r = httpx.get(wagi.url + "/cgi?teapot")
    assert r.status_code == 418 and r.text == "short and stout\n" and "status" not in r.headers


def test_nonzero_exit_is_500_and_stderr_reaches_the_log(wagi: Server) -> None:
    assert httpx.get(wagi.url + "/cgi?fail").status_code == 500
    for _ in range(50):
        log = wagi.log()
        if "[wagi-probe] wagi probe ran" in log and "exited with status 3" in log:
            return
        time.sleep(0.05)
    raise AssertionError(wagi.log())
