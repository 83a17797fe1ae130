"""Standard wasi:http/proxy components under `wasm-server up` (the wasi-http executor).

Guests: the benchmark's WAT hello (a component made for other platforms, unchanged) and a
componentize-py component (tests/e2e/wasi_http_guest), both built once and cached
(tests/e2e/wasi_http_guests.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e import wasi_http_guests
from tests.e2e.conftest import Server

Factory = Callable[..., Server]


@pytest.fixture(scope="module")
def py_guest() -> Path:
    return wasi_http_guests.python_guest()


def _app(tmp_path: Path, wasm: Path, lines: str) -> Path:
    app = tmp_path / "app"
    app.mkdir(exist_ok=True)
    (app / "guest.wasm").write_bytes(wasm.read_bytes())
    (app / "wasm-server.toml").write_text(f'[[component]]\nname = "guest"\nsource = "guest.wasm"\n{lines}\n')
    return app


@pytest.fixture
def py_server(server_factory: Factory, py_guest: Path, upstream: int, tmp_path: Path) -> Server:
    return server_factory(_app(tmp_path, py_guest, f"""abi = "wasi-http"
routes = ["/..."]
key_value_stores = ["default"]
allowed_outbound_hosts = ["http://127.0.0.1:{upstream}"]
variables = {{ greeting = "hello there" }}
[component.limits]
timeout = "60s"
concurrency = 100
"""))


def test_wat_hello_built_for_other_platforms_runs_unchanged(server_factory: Factory, tmp_path: Path) -> None:
    # no abi key: the component is recognised from its header
    s = server_factory(_app(tmp_path, wasi_http_guests.wat_hello(), 'routes = ["/hello/..."]'))
    r = httpx.get(s.url + "/hello/there?x=1")
    assert r.status_code == 200
    assert r.text == "Hello from C\npath: /hello/there\n"  # it prints the path without the query
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert "x-request-id" in r.headers


def test_python_hello_and_echo(py_server: Server) -> None:
    r = httpx.get(py_server.url + "/greet?a=b")
    assert r.status_code == 200 and r.text == "Hello from Python\npath: /greet?a=b\n"
    r = httpx.post(py_server.url + "/echo", content=b"ping \x00\xff pong")
    assert r.status_code == 200 and r.content == b"ping \x00\xff pong"


def test_request_headers_reach_the_guest_without_hop_by_hop_ones(py_server: Server) -> None:
    r = httpx.get(py_server.url + "/headers", headers={"X-Test": "yes", "Connection": "keep-alive"})
    lines = r.text.splitlines()
    assert "x-test: yes" in lines
    assert not any(line.startswith("connection:") for line in lines)


def test_the_guest_learns_its_route_from_spin_headers_a_client_cannot_forge(py_server: Server) -> None:
    # Spin's names: Spin-built guests and the Python/JS SDK helpers read the path below the prefix there
    r = httpx.get(py_server.url + "/headers", headers={"Spin-Path-Info": "/forged", "spin-base-path": "/x"})
    lines = r.text.splitlines()
    assert "spin-path-info: /headers" in lines
    assert "spin-matched-route: /..." in lines
    assert "spin-base-path: /" in lines
    assert not any(line.endswith(("/forged", "/x")) for line in lines)
    assert any(line.startswith("spin-client-addr: 127.0.0.1:") for line in lines)


def test_one_mebibyte_echo_round_trips_intact(py_server: Server) -> None:
    body = bytes(range(256)) * 4096
    r = httpx.post(py_server.url + "/echo", content=body, timeout=60)
    assert r.status_code == 200
    assert r.content == body


def test_a_big_response_body_streams_to_the_client(py_server: Server) -> None:
    with httpx.stream("GET", py_server.url + "/big?3000000", timeout=60) as r:
        assert r.status_code == 200
        assert r.headers.get("transfer-encoding") == "chunked"  # passed on while the guest wrote it
        assert sum(len(c) for c in r.iter_bytes()) == 3_000_000


def test_trap_is_500_and_the_next_request_is_served(py_server: Server) -> None:
    r = httpx.get(py_server.url + "/trap")
    assert r.status_code == 500
    assert httpx.get(py_server.url + "/x").status_code == 200
    py_server.wait_for_log("RuntimeError: boom", "component 'guest' failed")


def test_forbidden_headers_are_rejected(py_server: Server) -> None:
    assert httpx.get(py_server.url + "/forbidden?connection").text == "rejected HeaderError_Forbidden"
    assert httpx.get(py_server.url + "/forbidden?transfer-encoding").text == "rejected HeaderError_Forbidden"
    assert httpx.get(py_server.url + "/forbidden?bad(name").text == "rejected HeaderError_InvalidSyntax"
    assert httpx.get(py_server.url + "/forbidden?x-fine").text == "accepted"


def test_kv_through_wasm_server_host_kv(py_server: Server) -> None:
    assert httpx.get(py_server.url + "/kv?a").text == "hits=1 last=/kv?a"
    assert httpx.get(py_server.url + "/kv?b").text == "hits=2 last=/kv?b"
    assert httpx.get(py_server.url + "/kv-undeclared").text == "kv error Error_Denied"


def test_variables_and_stdout(py_server: Server) -> None:
    assert httpx.get(py_server.url + "/var").text == "greeting=hello there"
    assert httpx.get(py_server.url + "/print").text == "printed"
    py_server.wait_for_log("[stdout] hello from stdout")


def test_outbound_allow_list_is_enforced(py_server: Server, upstream: int) -> None:
    allowed = httpx.get(py_server.url + f"/fetch?127.0.0.1:{upstream}/up", timeout=30).text
    assert allowed == "fetched 200 upstream saw /up\n"
    denied = httpx.get(py_server.url + "/fetch?127.0.0.2:9/x", timeout=30).text
    assert denied == "refused ErrorCode_HttpRequestDenied()"


def test_64_concurrent_waiting_requests_do_not_block_each_other(py_server: Server) -> None:
    # each request waits (polling a monotonic-clock pollable) until all 64 have arrived: if one
    # suspended guest blocked the others, the first would wait forever and time out (504)
    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=64)) as client:
            return await asyncio.gather(*(client.get(py_server.url + "/barrier?64") for _ in range(64)))

    responses = asyncio.run(run())
    assert [r.status_code for r in responses] == [200] * 64
    assert {r.text for r in responses} == {"all arrived"}


def test_reused_instances_serve_many_requests(server_factory: Factory, py_guest: Path, tmp_path: Path) -> None:
    s = server_factory(_app(tmp_path, py_guest, 'routes = ["/..."]\ninstance_reuse = 100'))
    for i in range(5):
        r = httpx.get(s.url + f"/n{i}")
        assert r.status_code == 200 and r.text.endswith(f"path: /n{i}\n")
    assert httpx.get(s.url + "/trap").status_code == 500
    assert httpx.get(s.url + "/after").status_code == 200


def test_core_module_with_wasi_http_abi_is_refused(server_factory: Factory, tmp_path: Path) -> None:
    from tests.guests import wat

    app = tmp_path / "app"
    app.mkdir()
    (app / "m.wasm").write_bytes(wat.guest())
    (app / "wasm-server.toml").write_text('[[component]]\nname = "m"\nsource = "m.wasm"\nabi = "wasi-http"\n'
                                          'routes = ["/..."]\n')
    with pytest.raises(RuntimeError, match="needs a WebAssembly component"):
        server_factory(app)


def _reuse_app(server_factory: Factory, py_guest: Path, tmp_path: Path) -> Server:
    return server_factory(_app(tmp_path, py_guest, 'routes = ["/..."]\ninstance_reuse = 100\n'
                                                   'key_value_stores = ["default"]'))


def test_a_guest_that_cannot_serve_twice_turns_reuse_off(server_factory: Factory, py_guest: Path,
                                                         tmp_path: Path) -> None:
    # like a componentize-js guest ("respondWith can't be called twice"): the second request in a
    # reused instance fails before answering; it is run again in a fresh one, and reuse stops
    s = _reuse_app(server_factory, py_guest, tmp_path)
    for _ in range(3):
        r = httpx.get(s.url + "/once")
        assert r.status_code == 200 and r.text == "first in this instance"
    s.wait_for_log("now serve one request each")


def test_a_failed_request_with_side_effects_is_not_run_again(server_factory: Factory, py_guest: Path,
                                                             tmp_path: Path) -> None:
    s = _reuse_app(server_factory, py_guest, tmp_path)
    assert httpx.get(s.url + "/once-kv").status_code == 200
    assert httpx.get(s.url + "/once-kv").status_code == 500  # it wrote to KV before failing
    assert httpx.get(s.url + "/once-kv").status_code == 200  # reuse is off now: a fresh instance


def test_files_are_refused_for_components(server_factory: Factory, tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    app = _app(tmp_path, wasi_http_guests.wat_hello(), 'routes = ["/..."]\nfiles = [{ source = "../static", '
                                                        'path = "/static" }]')
    with pytest.raises(RuntimeError, match="`files` is not served to wasi-http components yet"):
        server_factory(app)
