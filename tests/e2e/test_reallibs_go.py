"""Services written against real Go web frameworks from the Go module proxy (chi, gorilla/mux,
echo, gin), built with ``wasm-server go-build`` and served by ``wasm-server up``: each answers
its routes as the framework documents, and what the framework logs reaches the server log."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import CLI, ROOT, Server

LIBS = ROOT / "tests" / "reallibs" / "go"

ServerFactory = Callable[..., Server]


@pytest.fixture(scope="module", params=["chi", "mux", "echo", "gin"])
def lib(request: pytest.FixtureRequest) -> Path:
    """The service built with go-build (modules come from the Go proxy, as `go build` fetches them)."""
    manifest = LIBS / request.param / "wasm-server.toml"
    proc = subprocess.run([*CLI, "build", str(manifest)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return manifest.parent


def test_framework_routes_and_logs(lib: Path, server_factory: ServerFactory) -> None:
    server = server_factory(lib)
    check = CHECKS[lib.name]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        check(client, server)


def _chi(client: httpx.Client, server: Server) -> None:
    assert client.get("/").text == "chi root\n"
    r = client.get("/api/users/42")
    assert (r.status_code, r.text, r.headers["x-api"]) == (200, "user 42\n", "v1")
    assert client.get("/api/users/abc").status_code == 404  # the {id:[0-9]+} pattern does not match
    assert client.put("/api/users/42").status_code == 405  # chi's MethodNotAllowed
    r = client.post("/api/echo", content=b"posted body")
    assert (r.status_code, r.content) == (201, b"posted body")
    r = client.get("/panic")
    assert r.status_code == 500  # middleware.Recoverer
    # middleware.Logger's access line, log.Printf and the Recoverer's panic report
    server.wait_for_log('"GET http://', "/api/users/42", "chi user 42", "chi handler panicked")


def _mux(client: httpx.Client, server: Server) -> None:
    assert client.get("/").text == "mux root\n"
    assert client.get("/items/7").text == "item 7\n"
    assert client.delete("/items/7").status_code == 204
    assert client.get("/items/x").status_code == 404
    assert client.post("/").status_code == 405
    assert client.get("/search", params={"q": "wasm"}).text == "search wasm\n"
    assert client.get("/search").status_code == 404  # Queries("q", …) is required
    server.wait_for_log("mux item 7")


def _echo(client: httpx.Client, server: Server) -> None:
    assert client.get("/").text == "echo root\n"
    r = client.get("/v1/hello/ana")
    assert (r.status_code, r.json(), r.headers["x-group"]) == (200, {"hello": "ana"}, "v1")
    r = client.post("/v1/greet", json={"name": "bo"})
    assert (r.status_code, r.json()) == (201, {"greeting": "hi bo"})
    r = client.post("/v1/greet", json={})
    assert (r.status_code, r.json()) == (400, {"message": "name is required"})
    assert client.get("/nowhere").json() == {"message": "Not Found"}
    server.wait_for_log("echo hello ana")


def _gin(client: httpx.Client, server: Server) -> None:
    assert client.get("/").text == "gin root\n"
    assert client.get("/v1/things/9").json() == {"id": "9"}
    r = client.post("/v1/orders", json={"item": "tea", "count": 2})
    assert (r.status_code, r.json()) == (201, {"item": "tea", "count": 2})
    assert client.post("/v1/orders", json={"item": "tea", "count": 0}).status_code == 400  # binding:"min=1"
    assert client.get("/panic").status_code == 500  # gin.Recovery
    # gin.Logger's access line ("[GIN] … | 201 | … POST "/v1/orders"") and Recovery's panic report
    server.wait_for_log("[GIN]", '"/v1/orders"', "gin handler panicked")


CHECKS: dict[str, Callable[[httpx.Client, Server], None]] = {"chi": _chi, "mux": _mux, "echo": _echo, "gin": _gin}
