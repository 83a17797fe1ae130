"""Regressions of issue 11 on the request/response seam, against real servers and clients:
HEAD for every responder, the guest's own x-request-id, one router for every deployed app,
readiness during the drain, WAGI WebSocket routes refused at load, the access log."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import CLI, Server, free_port
from tests.e2e.test_admin import TOKEN, auth, upload
from tests.e2e.wat_app import write_app
from tests.guests import wat
from wasm_server.abi_codec import GuestResponse, encode_response

Factory = Callable[..., Server]


def answering(text: str, headers: list[tuple[bytes, bytes]] | None = None, body: str | None = None) -> bytes:
    return wat.guest(response=encode_response(GuestResponse(200, headers or [], (body if body is not None
                                                                                   else text).encode())))


def raw_request(port: int, request: bytes) -> bytes:
    """Send one request and read until the server closes (Connection: close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


# -- HEAD ----------------------------------------------------------------------------


def test_head_of_a_guest_answer_keeps_the_guests_length_without_a_body(server_factory: Factory,
                                                                        tmp_path: Path) -> None:
    # what Go's http.FileServer does for HEAD: the file's Content-Length, no body
    app = write_app(tmp_path / "a", {"files": (answering("", [(b"content-length", b"16")], ""), 'routes = ["/f"]'),
                                     "hello": (answering("hello there"), 'routes = ["/h"]')})
    s = server_factory(app)
    head = raw_request(s.port, b"HEAD /f HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert b"content-length: 16\r\n" in head and head.endswith(b"\r\n\r\n")
    get = httpx.get(f"{s.url}/h")
    head = raw_request(s.port, b"HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert f"content-length: {len(get.content)}\r\n".encode() in head and head.endswith(b"\r\n\r\n")


def test_admin_healthz_answers_head_without_a_body(server_factory: Factory, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WASM_SERVER_ADMIN_TOKEN", TOKEN)
    port = free_port()
    app = write_app(tmp_path / "a", {"a": (answering("a"), 'routes = ["/a"]')})
    server_factory(app, "--admin", f"127.0.0.1:{port}")
    get = httpx.get(f"http://127.0.0.1:{port}/healthz")
    head = raw_request(port, b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and head.endswith(b"\r\n\r\n")
    assert f"content-length: {len(get.content)}\r\n".encode() in head


# -- request ids ----------------------------------------------------------------------


def test_the_guests_own_request_id_is_kept_alone(server_factory: Factory, tmp_path: Path) -> None:
    app = write_app(tmp_path / "a", {"own": (answering("x", [(b"X-Request-Id", b"guest-42")]), 'routes = ["/own"]'),
                                     "plain": (answering("y"), 'routes = ["/plain"]')})
    s = server_factory(app)
    own = httpx.get(f"{s.url}/own")
    assert own.headers.get_list("x-request-id") == ["guest-42"]
    plain = httpx.get(f"{s.url}/plain")
    assert len(plain.headers.get_list("x-request-id")) == 1  # the host's id, when the guest sets none


# -- one router for every deployed app --------------------------------------------------


@pytest.fixture
def admin_with_catch_all(server_factory: Factory, tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> tuple[Server, str]:
    monkeypatch.setenv("WASM_SERVER_ADMIN_TOKEN", TOKEN)
    port = free_port()
    app = write_app(tmp_path / "alpha", {"alpha": (answering("alpha"), 'routes = ["/..."]')})
    return server_factory(app, "--admin", f"127.0.0.1:{port}"), f"http://127.0.0.1:{port}"


def manifest(name: str, route: str) -> str:
    return f'[[component]]\nname = "{name}"\nsource = "{name}.wasm"\nroutes = ["{route}"]\n'


def test_a_catch_all_in_one_app_does_not_shadow_another_apps_route(
        admin_with_catch_all: tuple[Server, str]) -> None:
    s, url = admin_with_catch_all
    # "beta" sorts after "alpha": the old first-match-in-name-order router sent /api to alpha
    r = httpx.put(f"{url}/v1/apps/beta", json=upload(manifest("api", "/api"), {"api.wasm": answering("beta")}),
                  headers=auth())
    assert r.status_code == 201, r.text
    assert httpx.get(f"{s.url}/api").text == "beta"
    assert httpx.get(f"{s.url}/anything/else").text == "alpha"
    assert httpx.delete(f"{url}/v1/apps/beta", headers=auth()).status_code == 200
    assert httpx.get(f"{s.url}/api").text == "alpha"  # undeploy rebuilds the router


def test_routes_that_clash_across_apps_are_refused_with_409(admin_with_catch_all: tuple[Server, str]) -> None:
    s, url = admin_with_catch_all
    one = httpx.put(f"{url}/v1/apps/one", json=upload(manifest("users", "/users/{id}"),
                                                      {"users.wasm": answering("one")}), headers=auth())
    assert one.status_code == 201, one.text
    two = httpx.put(f"{url}/v1/apps/two", json=upload(manifest("people", "/users/{name}"),
                                                      {"people.wasm": answering("two")}), headers=auth())
    assert two.status_code == 409 and "already served by app 'one'" in two.json()["error"], two.text
    assert httpx.get(f"{s.url}/users/7").text == "one"
    names = {a["name"] for a in httpx.get(f"{url}/v1/apps", headers=auth()).json()["apps"]}
    assert "two" not in names


# -- readiness and liveness --------------------------------------------------------------


def test_readiness_fails_as_soon_as_the_drain_starts_while_liveness_stays(
        server_factory: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WASM_SERVER_ADMIN_TOKEN", TOKEN)
    port = free_port()
    slow = wat.guest("(drop (call $sleep_ms (i32.const 3000)))")
    s = server_factory(write_app(tmp_path / "a", {"slow": (slow, 'routes = ["/slow"]')}),
                       "--admin", f"127.0.0.1:{port}")
    admin = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{admin}/readyz").status_code == 200
    assert {"/healthz", "/readyz"} <= set(httpx.get(f"{admin}/openapi.json").json()["paths"])
    done: list[int] = []
    worker = threading.Thread(target=lambda: done.append(httpx.get(f"{s.url}/slow", timeout=30).status_code))
    worker.start()
    deadline = time.monotonic() + 10
    while not re.search(r'wasm_server_active_instances\{[^}]*component="slow"[^}]*\} 1',
                        httpx.get(f"{admin}/metrics", headers=auth()).text):
        assert time.monotonic() < deadline, "the slow request never started"
        time.sleep(0.05)
    s.proc.send_signal(signal.SIGTERM)
    states = []
    for _ in range(40):
        ready = httpx.get(f"{admin}/readyz")
        live = httpx.get(f"{admin}/healthz")
        states.append((ready.status_code, live.status_code, ready.json()["status"]))
        if ready.status_code == 503:
            break
        time.sleep(0.05)
    assert states[-1] == (503, 200, "draining"), states
    worker.join(30)
    assert done == [200]  # the in-flight request finished during the drain


# -- WAGI cannot hold a WebSocket -----------------------------------------------------------


def test_a_wagi_websocket_route_is_refused_at_load(tmp_path: Path) -> None:
    routes = 'abi = "wagi"\nroutes = [{ path = "/ws", websocket = true }]'
    app = write_app(tmp_path / "w", {"cgi": (wat.WAGI_HELLO, routes)})
    out = subprocess.run([*CLI, "up", str(app), "--no-build", "--listen", f"127.0.0.1:{free_port()}"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stderr
    assert "component 'cgi'" in out.stderr and "/ws" in out.stderr and 'abi = "native"' in out.stderr


# -- access log -----------------------------------------------------------------------------


def test_access_log_has_one_line_per_request(server_factory: Factory, tmp_path: Path) -> None:
    s = server_factory(write_app(tmp_path / "a", {"hello": (answering("hello"), 'routes = ["/hello"]')}))
    r = httpx.get(f"{s.url}/hello?x=1")
    httpx.get(f"{s.url}/missing")
    rid = r.headers["x-request-id"]
    s.stop()
    lines = [ln for ln in s.log().splitlines() if '"GET /' in ln]
    assert len(lines) == 2, s.log()
    assert '"GET /hello?x=1 HTTP/1.1" 200 5 ' in lines[0] and lines[0].endswith(f"hello {rid}")
    assert '"GET /missing HTTP/1.1" 404 ' in lines[1] and lines[1].endswith("- -")


def test_access_log_as_json_and_turned_off(server_factory: Factory, tmp_path: Path) -> None:
    app = write_app(tmp_path / "a", {"hello": (answering("hello"), 'routes = ["/hello"]')})
    s = server_factory(app, "--log-format", "json")
    httpx.get(f"{s.url}/hello")
    s.stop()
    docs = [json.loads(ln) for ln in s.log().splitlines() if ln.startswith("{")]
    access = [d for d in docs if d.get("type") == "access"]
    assert len(access) == 1 and access[0]["status"] == 200 and access[0]["component"] == "hello"
    assert access[0]["target"] == "/hello" and access[0]["bytes"] == 5 and access[0]["request_id"]
    quiet = server_factory(app, "--no-access-log")
    httpx.get(f"{quiet.url}/hello")
    quiet.stop()
    assert '"GET /hello' not in quiet.log()
