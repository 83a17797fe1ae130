"""A Go guest's stdout and stderr (fmt.Println, the log package) reach the server log (bug 10a)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server
from wasm_server.errors import BuildError
from wasm_server.toolchain import go

GUEST = Path(__file__).resolve().parents[1] / "guests" / "go" / "printer"
Factory = Callable[..., Server]


@pytest.fixture(scope="module")
def printer_wasm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        go.pick()
    except BuildError as exc:
        pytest.skip(f"no Go >= 1.24 here: {exc}")
    out = tmp_path_factory.mktemp("printer") / "printer.wasm"
    cwd = Path.cwd()
    os.chdir(GUEST)
    try:
        assert go.main(["-o", str(out)]) == 0
    finally:
        os.chdir(cwd)
    return out


@pytest.fixture
def printer(server_factory: Factory, printer_wasm: Path, tmp_path: Path) -> Server:
    app = tmp_path / "app"
    app.mkdir()
    (app / "printer.wasm").write_bytes(printer_wasm.read_bytes())
    (app / "wasm-server.toml").write_text("""
[[component]]
name = "printer-go"
source = "printer.wasm"
routes = ["/..."]
instance_reuse = 100
""")
    return server_factory(app)


def test_fmt_and_log_output_is_logged_with_component_and_request_id(printer: Server) -> None:
    r = httpx.get(printer.url + "/hello?q=world", headers={"x-request-id": "go-1"}, timeout=10)
    assert r.text == "printed\n"
    printer.wait_for_log("INFO wasm_server.guest: [printer-go] fmt.Println says /hello (stdout, request go-1)",
             "WARNING wasm_server.guest: [printer-go] stderr logger says world (stderr, request go-1)",
             # the SDK sends the log package to the host's log import, not to stderr
             "INFO wasm_server.guest: [printer-go] log.Printf says world")


def test_lines_are_split_and_a_trailing_partial_line_is_logged_at_the_end(printer: Server) -> None:
    httpx.get(printer.url + "/multi?q=x", headers={"x-request-id": "go-2"}, timeout=10)
    log = printer.wait_for_log(*(f"[printer-go] {t} (stderr, request go-2)" for t in
                              ("line one", "line two", "no newline")))
    assert log.index("line one (stderr") < log.index("line two (stderr") < log.index("no newline (stderr")


def test_head_of_a_go_file_server_file_carries_the_get_length(printer: Server) -> None:
    # issue 11 bug 3: HEAD said content-length: 0 while GET said 16
    get = httpx.get(f"{printer.url}/static/f.txt")
    assert get.status_code == 200 and get.content == b"0123456789abcde\n"
    head = httpx.head(f"{printer.url}/static/f.txt")
    assert head.status_code == 200 and head.headers["content-length"] == "16" and head.content == b""
