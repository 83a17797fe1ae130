"""Reading ASGI scopes into the seam's values, and the lifespan protocol, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.asgi.conftest import lifespan
from wasm_server.asgi import create_app
from wasm_server.asgi.scope import Connection, route_target
from wasm_server.protocol.response import Response, head_length, header_allowed


def scope(**extra: object) -> dict[str, object]:
    base: dict[str, object] = {"type": "http", "method": "GET", "path": "/", "raw_path": b"/", "query_string": b"",
                               "headers": [], "http_version": "1.1", "root_path": ""}
    return {**base, **extra}


@pytest.mark.parametrize(("path", "raw", "root", "query", "want"), [
    ("/a/b", b"/a/b", "", b"", b"/a/b"),
    ("/a/b", b"/a/b", "", b"x=1&y", b"/a/b?x=1&y"),
    ("/wasm/hello", b"/wasm/hello", "/wasm", b"", b"/hello"),  # Starlette's Mount: full path, mount in root_path
    ("/wasm", b"/wasm", "/wasm", b"q=1", b"/?q=1"),
    ("/wasmy/x", b"/wasmy/x", "/wasm", b"", b"/wasmy/x"),  # not at a segment boundary: kept
    ("/hello", b"/hello", "/proxy", b"", b"/hello"),  # a proxy already cut the prefix
    ("/a b", b"/a%20b", "", b"", b"/a%20b"),  # raw_path keeps the encoding the client sent
    ("/a b", None, "", b"", b"/a%20b"),  # no raw_path: the decoded path is quoted again
])
def test_route_target(path: str, raw: bytes | None, root: str, query: bytes, want: bytes) -> None:
    assert route_target(scope(path=path, raw_path=raw, root_path=root, query_string=query)) == want


def test_connection_reads_headers_client_and_version() -> None:
    conn = Connection.read(scope(method="post", headers=[(b"Host", b"x"), (b"content-length", b"12")],
                                 client=("::1", 5000), http_version="2"))
    assert conn.method == b"POST" and conn.headers == [(b"host", b"x"), (b"content-length", b"12")]
    assert conn.client == "[::1]:5000" and conn.http_version == "2"
    assert conn.declared_length() == 12
    assert Connection.read(scope(client=("127.0.0.1", 1))).client == "127.0.0.1:1"
    assert Connection.read(scope(client=None)).client == ""
    request = conn.request(b"body")
    assert (request.method, request.target, request.body) == (b"POST", b"/", b"body")


@pytest.mark.parametrize(("version", "headers", "none"), [
    ("1.1", [(b"host", b"x")], True),
    ("1.1", [(b"content-length", b"0")], True),
    ("1.1", [(b"content-length", b"3")], False),
    ("1.1", [(b"transfer-encoding", b"chunked")], False),
    ("1.0", [], True),
    ("2", [], False),  # HTTP/2 may send a body with neither header
])
def test_a_request_without_a_body_is_not_read(version: str, headers: list[tuple[bytes, bytes]], none: bool) -> None:
    assert Connection.read(scope(http_version=version, headers=headers)).without_body() is none


@pytest.mark.parametrize("headers", [[(b"a",)], [("a", "b")], "nope"])
def test_malformed_headers_are_a_clear_error(headers: object) -> None:
    with pytest.raises(ValueError, match="ASGI: "):
        Connection.read(scope(headers=headers))


def test_framing_headers_are_the_servers() -> None:
    assert header_allowed((b"content-type", b"text/plain"))
    for name in (b"content-length", b"Transfer-Encoding", b"connection", b"date"):
        assert not header_allowed((name, b"1"))
    assert not header_allowed((b"x-bad", b"a\r\nb"))


def test_head_length_is_what_get_would_carry() -> None:
    assert head_length(Response(200, (), b"abc")) == 3
    assert head_length(Response(200, ((b"Content-Length", b"99"),), b"")) == 99  # HEAD answered without a body
    assert head_length(Response(204)) is None and head_length(Response(304)) is None


async def test_lifespan_loads_then_drains_and_closes(asgi_manifest: Path, tmp_path: Path) -> None:
    app = create_app(asgi_manifest, data_dir=tmp_path / "data")
    sent = await lifespan(app, "startup", "shutdown")
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]
    assert not app.host.loaded


async def test_lifespan_startup_failure_carries_the_reason(tmp_path: Path) -> None:
    (tmp_path / "wasm-server.toml").write_text('[[component]]\nname = "gone"\nsource = "gone.wasm"\nroutes = ["/"]\n')
    sent = await lifespan(create_app(tmp_path, data_dir=tmp_path / "data"), "startup")
    assert len(sent) == 1 and sent[0]["type"] == "lifespan.startup.failed"
    assert "component 'gone': cannot read" in str(sent[0]["message"])
