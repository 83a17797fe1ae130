"""The studio end to end: a real `wasm-server studio` on 127.0.0.1, driven with httpx as the
web app drives it (files, builds read as server-sent events, export/import, deploy)."""

from __future__ import annotations

import io
import os
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.studio.conftest import MUTATE, AdminServer, Studio

Factory = Callable[..., Studio]


def lines_of(events: list[tuple[str, dict[str, object]]]) -> list[str]:
    return [str(data["line"]) for kind, data in events if kind == "log"]


@pytest.mark.timeout(900)  # the first zig build of a test run fills zig's cache
def test_a_c_service_from_the_template_to_a_built_module(studio_factory: Factory, tmp_path: Path) -> None:
    studio = studio_factory()
    c = studio.client
    assert "wasm-server studio on " + studio.url in studio.log()
    made = c.post("/api/services", json={"language": "c", "name": "hello"}, headers=MUTATE)
    assert made.status_code == 201 and made.json()["service"] == {"id": "hello", "name": "hello", "language": "c"}
    assert c.get("/api/services").json() == {"services": [{"id": "hello", "name": "hello", "language": "c"}]}
    files = c.get("/api/files", params={"service": "hello"}).json()["files"]
    assert [f["path"] for f in files] == ["main.c", "wasm-server.toml"]
    main = c.get("/api/file", params={"service": "hello", "path": "main.c"})
    assert main.status_code == 200 and "Hello from hello!" in main.text

    # refused: climbing out, absolute, a symlink pointing outside, build output
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    os.symlink(secret, studio.workspace / "hello" / "leak.c")
    for path, status in (("../../secret.txt", 400), ("/etc/passwd", 400), ("leak.c", 403),
                         ("node_modules/x/index.js", 400)):
        got = c.get("/api/file", params={"service": "hello", "path": path})
        put = c.put("/api/file", params={"service": "hello", "path": path}, content=b"x", headers=MUTATE)
        for r in (got, put):
            assert r.status_code == status and r.json()["error"], (path, r.text)
    assert secret.read_text() == "secret"
    os.unlink(studio.workspace / "hello" / "leak.c")

    # build: the log streams, then done with the module's size
    bid = studio.build("hello")
    events = studio.events(bid)
    kinds = [k for k, _ in events]
    assert kinds[:2] == ["queued", "start"] and kinds[-1] == "done" and "log" in kinds
    assert lines_of(events)[0] == "building hello: wasm-server cc -o hello.wasm main.c"
    done = events[-1][1]
    assert done["ok"] is True and done["diagnostics"] == [], lines_of(events)
    (component,) = done["components"]  # type: ignore[misc]
    assert component["name"] == "hello" and component["built"] is True and component["size"] > 1000
    assert studio.events(bid) == events  # replayed whole to a late subscriber
    module = c.get("/api/module", params={"service": "hello", "component": "hello"})
    assert module.status_code == 200 and module.headers["content-type"] == "application/wasm"
    assert module.content[:4] == b"\0asm" and len(module.content) == component["size"]
    assert c.get("/api/service", params={"service": "hello"}).json()["components"][0]["built"] is True

    # a broken main.c: the diagnostic names main.c and the line
    text = main.text.replace("int64_t visits = 0;", "int64_t visits = 0")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.strip() == "int64_t visits = 0")
    assert c.put("/api/file", params={"service": "hello", "path": "main.c"}, content=text.encode(),
                 headers=MUTATE).status_code == 204
    broken = studio.events(studio.build("hello"))[-1][1]
    assert broken["ok"] is False and "failed (exit" in str(broken["error"])
    assert {"file": "main.c", "line": line, "column": 23, "severity": "error",
            "message": "expected ';' at end of declaration"} in broken["diagnostics"]  # type: ignore[operator]

    # export → import: the same sources under a new name, no build output
    exported = c.get("/api/export", params={"service": "hello"})
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
    assert exported.headers["content-disposition"] == 'attachment; filename="hello.zip"'
    assert sorted(zipfile.ZipFile(io.BytesIO(exported.content)).namelist()) == ["main.c", "wasm-server.toml"]
    imported = c.post("/api/import", params={"name": "copy"}, content=exported.content, headers=MUTATE)
    assert imported.status_code == 201 and imported.json()["service"]["id"] == "copy"
    assert c.get("/api/file", params={"service": "copy", "path": "main.c"}).text == text
    again = c.post("/api/import", params={"name": "copy"}, content=exported.content, headers=MUTATE)
    assert again.status_code == 409
    bad = c.post("/api/import", params={"name": "bad"}, content=b"PK\x03\x04 not really", headers=MUTATE)
    assert bad.status_code == 400 and bad.json()["error"]


def test_the_guards_against_a_real_studio(studio_factory: Factory) -> None:
    studio = studio_factory()
    url = studio.url
    rebinding = httpx.get(f"{url}/api/info", headers={"host": "attacker.example:80"})
    assert rebinding.status_code == 403 and "DNS rebinding" in rebinding.json()["error"]
    no_header = httpx.post(f"{url}/api/services", json={"language": "c", "name": "x"})
    assert no_header.status_code == 403 and "x-wasm-server-studio" in no_header.json()["error"]
    cross = httpx.post(f"{url}/api/services", json={"language": "c", "name": "x"},
                       headers={**MUTATE, "origin": "https://evil.example"})
    assert cross.status_code == 403 and "cross-site" in cross.json()["error"]
    assert not (studio.workspace / "x").exists()
    page = httpx.get(url + "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_off_loopback_the_studio_needs_the_token_on_every_call(studio_factory: Factory, tmp_path: Path) -> None:
    import subprocess

    from tests.e2e.conftest import CLI, ROOT, free_port, wait_port

    port = free_port()
    with open(tmp_path / "wild.log", "wb") as logf:
        proc = subprocess.Popen([*CLI, "studio", str(tmp_path / "ws"), "--listen", f"0.0.0.0:{port}",
                                 "--token", "tok"], stdout=logf, stderr=logf, cwd=ROOT)
    try:
        wait_port("127.0.0.1", port, proc)
        url = f"http://127.0.0.1:{port}"
        refused = httpx.get(f"{url}/api/info")
        assert refused.status_code == 401 and "missing Authorization" in refused.json()["error"]
        ok = httpx.get(f"{url}/api/info", headers={"authorization": "Bearer tok"})
        assert ok.status_code == 200 and ok.json()["auth"] is True
    finally:
        proc.terminate()
        proc.wait(30)
    assert "every API call needs the admin token" in (tmp_path / "wild.log").read_text()


@pytest.mark.timeout(300)
def test_a_full_queue_is_429_and_a_build_past_its_time_is_killed(studio_factory: Factory) -> None:
    studio = studio_factory("--build-timeout", "3")
    c = studio.client
    assert c.post("/api/services", json={"language": "c", "name": "stuck"}, headers=MUTATE).status_code == 201
    main = studio.workspace / "stuck" / "main.c"
    main.unlink()
    os.mkfifo(main)  # the compiler blocks opening it: a build that never ends by itself
    first = studio.build("stuck")
    queued = []
    for _ in range(8):  # the queue holds 8 behind the running build
        r = c.post("/api/build", params={"service": "stuck"}, headers=MUTATE)
        assert r.status_code == 202
        queued.append(r.json()["position"])
    assert queued == list(range(1, 9))
    full = c.post("/api/build", params={"service": "stuck"}, headers=MUTATE)
    assert full.status_code == 429 and "queue is full" in full.json()["error"]
    with c.stream("GET", "/api/build/events", params={"build": first}) as r:  # a browser that leaves early
        assert next(r.iter_lines()) == "event: queued"
    started = time.monotonic()
    done = studio.events(first)[-1][1]
    assert done["ok"] is False and done["error"] == "the build took longer than 3 s and was stopped"
    assert time.monotonic() - started < 120  # killed, not waited for
    # the slot is free again: the next build started
    nxt = c.post("/api/build", params={"service": "stuck"}, headers=MUTATE)
    assert nxt.status_code == 202 and nxt.json()["position"] == 8


@pytest.mark.timeout(900)
def test_deploy_serves_the_greeting_and_a_redeploy_serves_the_new_one(
        studio_factory: Factory, admin_server: AdminServer) -> None:
    studio = studio_factory("--admin", admin_server.admin_url, "--token", admin_server.token,
                            "--server-url", admin_server.url)
    c = studio.client
    info = c.get("/api/info").json()
    assert info["admin"] == {"url": admin_server.admin_url, "token": True} and info["server_url"] == admin_server.url
    assert c.post("/api/services", json={"language": "c", "name": "greeter"}, headers=MUTATE).status_code == 201
    unbuilt = c.post("/api/deploy", params={"service": "greeter"}, json={}, headers=MUTATE)
    assert unbuilt.status_code == 409 and "build first" in unbuilt.json()["error"]
    assert studio.events(studio.build("greeter"))[-1][1]["ok"] is True

    deployed = c.post("/api/deploy", params={"service": "greeter"}, json={"app": "greet"}, headers=MUTATE)
    assert deployed.status_code == 200, deployed.text
    d = deployed.json()
    assert d["app"] == "greet" and d["base"] == "/greet" and d["routes"] == ["/greet/..."]
    assert d["urls"] == [f"{admin_server.url}/greet/"]
    live = httpx.get(d["urls"][0])
    assert live.status_code == 200 and live.text.startswith("Hello from greeter!")
    assert "you asked for /" in live.text

    path = {"service": "greeter", "path": "main.c"}
    text = c.get("/api/file", params=path).text.replace("Hello from", "Greetings from")
    assert c.put("/api/file", params=path, content=text.encode(), headers=MUTATE).status_code == 204
    stale = c.post("/api/deploy", params={"service": "greeter"}, json={"app": "greet"}, headers=MUTATE)
    assert stale.status_code == 409  # edited since the build: not deployed silently
    assert studio.events(studio.build("greeter"))[-1][1]["ok"] is True
    again = c.post("/api/deploy", params={"service": "greeter"}, json={"app": "greet"}, headers=MUTATE)
    assert again.status_code == 200 and again.json()["version"] == d["version"] + 1
    assert httpx.get(d["urls"][0]).text.startswith("Greetings from greeter!")

    logs = c.get("/api/logs", params={"app": "greet", "limit": "10"})
    assert logs.status_code == 200 and isinstance(logs.json()["lines"], list)
    unknown = c.get("/api/logs", params={"app": "nothing-here"})
    assert unknown.status_code == 502 and "answered 404" in unknown.json()["error"]


def test_deploy_to_an_admin_api_that_refuses_is_502_with_its_message(studio_factory: Factory,
                                                                    admin_server: AdminServer) -> None:
    studio = studio_factory("--admin", admin_server.admin_url, "--token", "wrong-token")
    c = studio.client
    assert c.post("/api/services", json={"language": "c", "name": "w"}, headers=MUTATE).status_code == 201
    (studio.workspace / "w" / "w.wasm").write_bytes(b"\0asm\1\0\0\0")
    r = c.post("/api/deploy", params={"service": "w"}, json={}, headers=MUTATE)
    assert r.status_code == 502 and "answered 401: wrong admin token" in r.json()["error"]
