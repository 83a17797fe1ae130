"""The studio API without sockets: guards, routes, static files, SSE through a sink."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wasm_server.protocol.http1 import Request
from wasm_server.protocol.response import Headers, Response
from wasm_server.studio.api import Guard, StudioApi
from wasm_server.studio.builds import Builder
from wasm_server.studio.deploy import Deployer
from wasm_server.studio.workspace import Workspace

PORT = 8090
HOST = f"127.0.0.1:{PORT}"
MUTATE = (b"x-wasm-server-studio", b"1")


class Sink:
    """A ResponseSink that keeps what was streamed."""

    def __init__(self) -> None:
        self.head: tuple[int, Headers] | None = None
        self.body = b""

    @property
    def started(self) -> bool:
        return self.head is not None

    def start(self, status: int, headers: Headers) -> bool:
        if self.head is not None:
            return False
        self.head = (status, headers)
        return True

    async def write(self, data: bytes) -> bool:
        self.body += data
        return True


def api(tmp_path: Path, *, token: str | None = None, host: str = "127.0.0.1",
        static: Path | None = None) -> StudioApi:
    return StudioApi(Workspace(tmp_path / "ws"), Builder(), Deployer("http://127.0.0.1:9", None),
                     Guard(host, PORT, token), static=static or tmp_path / "no-static")


async def call(studio: StudioApi, method: str, target: str, *headers: tuple[bytes, bytes], body: bytes = b"",
               host: str = HOST, sink: Sink | None = None) -> Response:
    hs = [(b"host", host.encode()), *headers] if host else list(headers)
    req = Request(method.encode(), target.encode(), hs, body, True, "1.1")
    return await studio.respond(req, "127.0.0.1:5000", sink or Sink())


def doc(resp: Response) -> dict[str, object]:
    assert dict(resp.headers)[b"content-type"] == b"application/json"
    value = json.loads(resp.body)
    assert isinstance(value, dict)
    return value


@pytest.mark.parametrize("host", ["evil.example:8090", "127.0.0.1:9999", "localhost", "attacker.test", ""])
async def test_a_foreign_host_header_is_refused_against_dns_rebinding(tmp_path: Path, host: str) -> None:
    resp = await call(api(tmp_path), "GET", "/api/info", host=host)
    assert resp.status == 403 and "DNS rebinding" in str(doc(resp)["error"])


@pytest.mark.parametrize("host", [HOST, f"localhost:{PORT}", f"[::1]:{PORT}", f"LOCALHOST:{PORT}"])
async def test_the_studios_own_names_pass(tmp_path: Path, host: str) -> None:
    resp = await call(api(tmp_path), "GET", "/api/info", host=host)
    assert resp.status == 200 and doc(resp)["auth"] is False


async def test_mutating_calls_need_the_studio_header(tmp_path: Path) -> None:
    studio = api(tmp_path)
    for method, target in (("POST", "/api/services"), ("PUT", "/api/file?service=x&path=a"),
                           ("DELETE", "/api/file?service=x&path=a"), ("POST", "/api/build?service=x")):
        resp = await call(studio, method, target, body=b'{"language": "c", "name": "x"}')
        assert resp.status == 403 and "x-wasm-server-studio: 1" in str(doc(resp)["error"]), target
    assert not (tmp_path / "ws" / "x").exists()
    made = await call(studio, "POST", "/api/services", MUTATE, body=b'{"language": "c", "name": "x"}')
    assert made.status == 201 and doc(made)["service"] == {"id": "x", "name": "x", "language": "c"}


async def test_a_foreign_origin_is_refused_even_with_the_header(tmp_path: Path) -> None:
    studio = api(tmp_path)
    resp = await call(studio, "POST", "/api/services", MUTATE, (b"origin", b"https://evil.example"),
                      body=b'{"language": "c", "name": "x"}')
    assert resp.status == 403 and "cross-site requests are refused" in str(doc(resp)["error"])
    resp = await call(studio, "GET", "/api/services", (b"origin", b"http://localhost:8090"))
    assert resp.status == 403  # another of the studio's names is still another origin
    ok = await call(studio, "GET", "/api/services", (b"origin", f"http://{HOST}".encode()))
    assert ok.status == 200


async def test_off_loopback_every_api_call_needs_the_token(tmp_path: Path) -> None:
    studio = api(tmp_path, token="s3cret", host="192.0.2.10")
    host = f"192.0.2.10:{PORT}"
    missing = await call(studio, "GET", "/api/info", host=host)
    assert missing.status == 401 and "missing Authorization" in str(doc(missing)["error"])
    assert dict(missing.headers)[b"www-authenticate"].startswith(b"Bearer")
    wrong = await call(studio, "GET", "/api/info", (b"authorization", b"Bearer nope"), host=host)
    assert wrong.status == 401 and doc(wrong)["error"] == "wrong token"
    basic = await call(studio, "GET", "/api/info", (b"authorization", b"Basic eDp5"), host=host)
    assert basic.status == 401 and "Bearer <token>" in str(doc(basic)["error"])
    ok = await call(studio, "GET", "/api/info", (b"authorization", b"Bearer s3cret"), host=host)
    assert ok.status == 200 and doc(ok)["auth"] is True
    page = await call(studio, "GET", "/", host=host)  # the page itself asks for the token
    assert page.status == 200


async def test_the_token_in_the_query_opens_only_the_build_event_stream(tmp_path: Path) -> None:
    """EventSource cannot send headers: the build log's stream takes ``&token=``; nothing else does."""
    studio = api(tmp_path, token="s3cret", host="192.0.2.10")
    host = f"192.0.2.10:{PORT}"
    events = await call(studio, "GET", "/api/build/events?build=nope&token=s3cret", host=host)
    assert events.status == 404, events.body  # past the guard: the build is unknown
    wrong = await call(studio, "GET", "/api/build/events?build=nope&token=nope", host=host)
    assert wrong.status == 401 and doc(wrong)["error"] == "wrong token"
    other = await call(studio, "GET", "/api/services?token=s3cret", host=host)
    assert other.status == 401
    posted = await call(studio, "POST", "/api/build?service=x&token=s3cret", MUTATE, host=host)
    assert posted.status == 401


async def test_a_wildcard_listener_accepts_any_host_but_needs_the_token(tmp_path: Path) -> None:
    studio = api(tmp_path, token="s3cret", host="0.0.0.0")
    refused = await call(studio, "GET", "/api/info", host="studio.lan:8090")
    assert refused.status == 401
    ok = await call(studio, "GET", "/api/info", (b"authorization", b"Bearer s3cret"), host="studio.lan:8090")
    assert ok.status == 200


async def test_unknown_routes_and_methods(tmp_path: Path) -> None:
    studio = api(tmp_path)
    missing = await call(studio, "GET", "/api/nothing")
    assert missing.status == 404 and "no studio API /api/nothing" in str(doc(missing)["error"])
    wrong = await call(studio, "DELETE", "/api/info", MUTATE)
    assert wrong.status == 405


async def test_errors_of_handlers_are_json(tmp_path: Path) -> None:
    studio = api(tmp_path)
    for target, status in (("/api/files", 400), ("/api/files?service=nope", 404),
                           ("/api/file?service=..&path=x", 400), ("/api/build/events?build=zz", 404),
                           ("/api/logs?app=x&limit=many", 400)):
        resp = await call(studio, "GET", target)
        assert resp.status == status and doc(resp)["error"], target
    bad = await call(studio, "POST", "/api/services", MUTATE, body=b"[1]")
    assert bad.status == 400 and "JSON object" in str(doc(bad)["error"])


async def test_files_api_round_trip_and_refusals(tmp_path: Path) -> None:
    studio = api(tmp_path)
    await call(studio, "POST", "/api/services", MUTATE, body=b'{"language": "c", "name": "s"}')
    put = await call(studio, "PUT", "/api/file?service=s&path=inc/x.h", MUTATE, body=b"#define X 1\n")
    assert put.status == 204
    got = await call(studio, "GET", "/api/file?service=s&path=inc/x.h")
    assert got.status == 200 and got.body == b"#define X 1\n"
    assert dict(got.headers)[b"content-type"] == b"text/plain; charset=utf-8"
    files = doc(await call(studio, "GET", "/api/files?service=s"))["files"]
    assert [f["path"] for f in files] == ["inc/x.h", "main.c", "wasm-server.toml"]  # type: ignore[index]
    for path in ("../../x", "/etc/passwd", "node_modules/a.js"):
        resp = await call(studio, "PUT", f"/api/file?service=s&path={path}", MUTATE, body=b"x")
        assert resp.status == 400 and doc(resp)["error"]
    gone = await call(studio, "DELETE", "/api/file?service=s&path=inc/x.h", MUTATE)
    assert gone.status == 204
    assert (await call(studio, "GET", "/api/file?service=s&path=inc/x.h")).status == 404


async def test_service_describes_its_components(tmp_path: Path) -> None:
    studio = api(tmp_path)
    root = tmp_path / "ws" / "svc"
    root.mkdir(parents=True)
    (root / "wasm-server.toml").write_text(
        '[[component]]\nname = "web"\nsource = "web.wasm"\nroutes = ["/...", { path = "/ws", websocket = true }]\n'
        'key_value_stores = ["default"]\nallowed_outbound_hosts = ["https://api.example.com"]\n'
        'variables = { greeting = "hi" }\n[component.limits]\ntimeout = "2s"\n'
        '[[component]]\nname = "echo"\nsource = "echo.wasm"\nabi = "wagi"\nroutes = ["/echo"]\n')
    d = doc(await call(studio, "GET", "/api/service?service=svc"))
    assert d["manifest_error"] is None
    web, echo = d["components"]  # type: ignore[misc]
    assert web == {"name": "web", "abi": "native", "kind": "websocket", "source": "web.wasm", "built": False,
                   "routes": ["/...", "/ws"], "websocket_routes": ["/ws"], "stores": ["default"],
                   "variables": {"greeting": "hi"},
                   "allowed_outbound_hosts": ["https://api.example.com:443"], "timeout_ms": 2000}
    assert echo["kind"] == "http" and echo["abi"] == "wagi"
    (root / "wasm-server.toml").write_text("[[component]]\nname = 1\n")
    broken = doc(await call(studio, "GET", "/api/service?service=svc"))
    assert "expected a non-empty string" in str(broken["manifest_error"]) and broken["components"] == []
    assert (await call(studio, "GET", "/api/module?service=svc&component=web")).status == 409


async def test_module_serves_the_built_wasm(tmp_path: Path) -> None:
    studio = api(tmp_path)
    await call(studio, "POST", "/api/services", MUTATE, body=b'{"language": "c", "name": "s"}')
    missing = await call(studio, "GET", "/api/module?service=s&component=s")
    assert missing.status == 404 and "not built yet" in str(doc(missing)["error"])
    (tmp_path / "ws" / "s" / "s.wasm").write_bytes(b"\0asm\1\0\0\0")
    got = await call(studio, "GET", "/api/module?service=s&component=s")
    assert got.status == 200 and got.body == b"\0asm\1\0\0\0"
    assert dict(got.headers)[b"content-type"] == b"application/wasm"
    assert (await call(studio, "GET", "/api/module?service=s&component=other")).status == 404


async def test_build_events_stream_as_sse_through_the_sink(tmp_path: Path) -> None:
    import sys

    studio = api(tmp_path)
    studio.builder.command_for = lambda comp, root: [sys.executable, "-c", "open('s.wasm', 'wb').write(b'x')"]
    await call(studio, "POST", "/api/services", MUTATE, body=b'{"language": "c", "name": "s"}')
    started = doc(await call(studio, "POST", "/api/build?service=s", MUTATE))
    assert started["position"] == 0
    sink = Sink()
    resp = await call(studio, "GET", f"/api/build/events?build={started['build']}", sink=sink)
    assert resp.streamed and sink.head is not None and sink.head[0] == 200
    assert dict(sink.head[1])[b"content-type"].startswith(b"text/event-stream")
    blocks = sink.body.decode().strip().split("\n\n")
    kinds = [b.split("\n")[0] for b in blocks]
    assert kinds[:2] == ["event: queued", "event: start"] and kinds[-1] == "event: done"
    done = json.loads(blocks[-1].split("\n")[1].removeprefix("data: "))
    assert done["ok"] is True and done["components"] == [{"name": "s", "built": True, "size": 1}]


async def test_without_static_the_page_says_how_to_build_it(tmp_path: Path) -> None:
    studio = api(tmp_path)
    page = await call(studio, "GET", "/")
    assert page.status == 200 and b"scripts/setup" in page.body and b"not built" in page.body
    assert (await call(studio, "GET", "/assets/app.js")).status == 404


async def test_static_files_with_their_types(tmp_path: Path) -> None:
    static = tmp_path / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text("<!doctype html><title>studio</title>")
    (static / "assets" / "app-1234.js").write_text("console.log(1)")
    (static / "assets" / "app.css").write_text("body{}")
    (tmp_path / "secret").write_text("no")
    studio = api(tmp_path, static=static)
    page = await call(studio, "GET", "/")
    headers = dict(page.headers)
    assert page.body.startswith(b"<!doctype html>") and headers[b"cache-control"] == b"no-cache"
    assert headers[b"content-type"] == b"text/html; charset=utf-8"
    js = await call(studio, "GET", "/assets/app-1234.js")
    assert js.status == 200 and dict(js.headers)[b"content-type"] == b"text/javascript; charset=utf-8"
    css = await call(studio, "GET", "/assets/app.css")
    assert dict(css.headers)[b"content-type"] == b"text/css; charset=utf-8"
    for target in ("/assets/../../secret", "/assets/%2e%2e/%2e%2e/secret", "/assets/", "/secret", "/static/x"):
        assert (await call(studio, "GET", target)).status == 404, target
