"""The admin API and the deploy/undeploy/ls/logs commands, against a real server."""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import CLI, ROOT, Server, free_port
from tests.e2e.wat_app import write_app
from tests.guests import wat
from wasm_server.abi_codec import GuestResponse, encode_response

Factory = Callable[..., Server]
TOKEN = "test-token-123"


def guest(text: str) -> bytes:
    return wat.guest(wat.LOG_INFO, response=encode_response(GuestResponse(200, [], text.encode())))


@pytest.fixture
def admin(server_factory: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Server, str]:
    monkeypatch.setenv("WASM_SERVER_ADMIN_TOKEN", TOKEN)
    port = free_port()
    empty = write_app(tmp_path / "base", {"base": (guest("base"), 'routes = ["/base"]')})
    s = server_factory(empty, "--admin", f"127.0.0.1:{port}")
    return s, f"http://127.0.0.1:{port}"


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def upload(manifest: str, files: dict[str, bytes]) -> dict[str, object]:
    return {"manifest": manifest, "files": {k: base64.b64encode(v).decode() for k, v in files.items()}}


HELLO = '[[component]]\nname = "hello"\nsource = "hello.wasm"\nroutes = ["/hello"]\n'


def test_every_call_needs_the_token_and_401_says_why(admin: tuple[Server, str]) -> None:
    _, url = admin
    missing = httpx.get(f"{url}/v1/apps")
    assert missing.status_code == 401 and "missing Authorization" in missing.json()["error"]
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = httpx.get(f"{url}/v1/apps", headers=auth("nope"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "wrong admin token"
    for path in ("/metrics", "/v1/apps/x", "/v1/apps/x/logs"):
        assert httpx.get(url + path).status_code == 401
    assert httpx.put(f"{url}/v1/apps/x", json={}).status_code == 401
    assert httpx.get(f"{url}/healthz").json()["status"] == "ok"  # the health check needs none
    assert httpx.get(f"{url}/openapi.json").json()["openapi"].startswith("3.")


def test_deploy_serve_redeploy_undeploy(admin: tuple[Server, str]) -> None:
    s, url = admin
    r = httpx.put(f"{url}/v1/apps/greeter", json=upload(HELLO, {"hello.wasm": guest("v1")}), headers=auth())
    assert r.status_code == 201 and r.json()["version"] == 1
    assert httpx.get(f"{s.url}/hello").text == "v1"
    assert httpx.get(f"{s.url}/base").text == "base"  # the command line's app still serves
    r = httpx.put(f"{url}/v1/apps/greeter", json=upload(HELLO, {"hello.wasm": guest("v2")}), headers=auth())
    assert r.json()["version"] == 2 and httpx.get(f"{s.url}/hello").text == "v2"
    listed = httpx.get(f"{url}/v1/apps", headers=auth()).json()["apps"]
    assert {a["name"] for a in listed} == {"base", "greeter"}
    status = httpx.get(f"{url}/v1/apps/greeter", headers=auth()).json()
    assert status["components"][0]["requests"] >= 1
    assert httpx.delete(f"{url}/v1/apps/greeter", headers=auth()).status_code == 200
    assert httpx.get(f"{s.url}/hello").status_code == 404
    assert httpx.delete(f"{url}/v1/apps/greeter", headers=auth()).status_code == 404


def _leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def test_a_module_over_the_apps_body_limit_deploys(admin: tuple[Server, str]) -> None:
    """A Go service's module is ~8.6 MB, ~11.5 MB as base64 JSON: over the 10 MiB limit of the
    apps' listener, which the admin listener used too (the studio's Go deploy got a reset)."""
    s, url = admin
    name = b"padding"
    payload = bytes([len(name)]) + name + b"\0" * (12 * 1024 * 1024)
    big = guest("big") + b"\x00" + _leb128(len(payload)) + payload  # a custom section
    body = upload(HELLO, {"hello.wasm": big})
    r = httpx.put(f"{url}/v1/apps/big", json=body, headers=auth(), timeout=120)
    assert r.status_code == 201, r.text
    assert httpx.get(f"{s.url}/hello").text == "big"


def test_redeploys_under_load_drop_no_request(admin: tuple[Server, str]) -> None:
    """Clients keep requesting while the app is replaced five times: every request gets a 200
    from one whole version (the studio's Deploy button relies on this)."""
    s, url = admin
    assert httpx.put(f"{url}/v1/apps/greeter", json=upload(HELLO, {"hello.wasm": guest("v0")}),
                     headers=auth()).status_code == 201
    seen: list[tuple[int, str]] = []
    done = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=s.url, timeout=30) as c:
            while not done.is_set() and len(seen) < 20_000:  # bounded, whatever happens
                r = c.get("/hello")
                seen.append((r.status_code, r.text))

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for version in range(1, 6):
            r = httpx.put(f"{url}/v1/apps/greeter", json=upload(HELLO, {"hello.wasm": guest(f"v{version}")}),
                          headers=auth(), timeout=60)
            assert r.status_code == 201, r.text
    finally:
        done.set()
        for t in threads:
            t.join()
    assert seen, "no request ran during the redeploys"
    assert {status for status, _ in seen} == {200}, sorted({x for x in seen if x[0] != 200})[:5]
    assert {text for _, text in seen} <= {f"v{n}" for n in range(6)}
    assert httpx.get(f"{s.url}/hello").text == "v5"


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"manifest": HELLO, "files": {"hello.wasm": base64.b64encode(b"not wasm").decode()}}, 400,
     "not a WebAssembly module"),
    ({"manifest": "this is = not [toml", "files": {}}, 400, "does not validate"),
    ({"manifest": HELLO, "files": {}}, 400, "lacks hello.wasm"),
    ({"manifest": HELLO, "files": {"../escape.wasm": ""}}, 400, "relative path inside"),
    ({"nothing": 1}, 400, "expected JSON"),
    ({"manifest": HELLO, "files": {"hello.wasm": "@@@"}}, 400, "expected JSON"),
    ({"manifest": HELLO.replace("/hello", "/base"),
      "files": {"hello.wasm": base64.b64encode(wat.guest()).decode()}}, 409, "already served by app 'base'"),
    ({"manifest": HELLO, "files": {"hello.wasm": base64.b64encode(wat.guest(version=9)).decode()}}, 422,
     "ABI version 9"),
])
def test_bad_uploads_are_refused_with_the_reason_and_nothing_changes(admin: tuple[Server, str], body: object,
                                                                     status: int, message: str) -> None:
    s, url = admin
    r = httpx.put(f"{url}/v1/apps/bad", json=body, headers=auth())
    assert r.status_code == status and message in r.json()["error"], r.text
    assert httpx.get(f"{url}/v1/apps/bad", headers=auth()).status_code == 404
    assert httpx.get(f"{s.url}/base").text == "base"


def test_metrics_and_logs_per_component(admin: tuple[Server, str]) -> None:
    s, url = admin
    for _ in range(3):
        httpx.get(f"{s.url}/base")
    text = httpx.get(f"{url}/metrics", headers=auth()).text
    assert 'wasm_server_requests_total{app="base",component="base"} 3' in text
    assert 'wasm_server_request_duration_seconds_count{app="base",component="base"} 3' in text
    assert "# TYPE wasm_server_request_duration_seconds histogram" in text
    counter = ('[[component]]\nname = "counter"\nsource = "c.wasm"\nroutes = ["/count"]\n'
               'key_value_stores = ["default"]\n')
    assert httpx.put(f"{url}/v1/apps/kv", json=upload(counter, {"c.wasm": wat.guest(wat.INCR)}),
                     headers=auth()).status_code == 201
    for _ in range(2):
        httpx.post(f"{s.url}/count")
    text = httpx.get(f"{url}/metrics", headers=auth()).text
    assert 'wasm_server_kv_operations_total{app="kv",component="counter"} 2' in text
    lines = httpx.get(f"{url}/v1/apps/base/logs?limit=2", headers=auth()).json()["lines"]
    assert len(lines) == 2 and lines[-1]["component"] == "base" and "default" in lines[-1]["message"]


def test_cli_deploy_ls_logs_undeploy(admin: tuple[Server, str], tmp_path: Path) -> None:
    s, url = admin
    app = write_app(tmp_path / "cliapp", {"hello": (guest("from the cli"), 'routes = ["/cli"]')})
    env = {**os.environ, "WASM_SERVER_ADMIN_TOKEN": TOKEN, "WASM_SERVER_ADMIN_URL": url}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, env=env, cwd=ROOT)

    out = cli("deploy", str(app), "--name", "fromcli", "--no-build")
    assert out.returncode == 0 and "deployed fromcli version 1: /cli" in out.stdout, out.stderr
    assert httpx.get(f"{s.url}/cli").text == "from the cli"
    assert "fromcli" in cli("ls").stdout
    assert "[hello]" in cli("logs", "fromcli").stdout
    assert cli("undeploy", "fromcli").returncode == 0
    refused = subprocess.run([*CLI, "ls"], capture_output=True, text=True, timeout=60,
                             env={**env, "WASM_SERVER_ADMIN_TOKEN": "wrong"})
    assert refused.returncode != 0 and "401: wrong admin token" in refused.stderr


def test_deployments_survive_a_restart(server_factory: Factory, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WASM_SERVER_ADMIN_TOKEN", TOKEN)
    data = tmp_path / "data"
    admin_port = free_port()
    s1 = server_factory(write_app(tmp_path / "b1", {"base": (guest("b"), 'routes = ["/b"]')}),
                        "--admin", f"127.0.0.1:{admin_port}", data_dir=data)
    r = httpx.put(f"http://127.0.0.1:{admin_port}/v1/apps/kept", json=upload(HELLO, {"hello.wasm": guest("kept")}),
                  headers=auth())
    assert r.status_code == 201
    s1.stop()
    admin_port2 = free_port()
    s2 = server_factory(write_app(tmp_path / "b2", {"base": (guest("b"), 'routes = ["/b"]')}),
                        "--admin", f"127.0.0.1:{admin_port2}", data_dir=data)
    assert httpx.get(f"{s2.url}/hello").text == "kept"
