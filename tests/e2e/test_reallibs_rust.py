"""Rust services written against real crates from crates.io, built with ``wasm-server
cargo-build`` (rustc-web, the shared std) and served by ``wasm-server up``: the JSON API
example (serde, serde_json, matchit over the KV store) answers its routes, and what it logs
through the SDK, stdout and stderr reaches the server log."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import CLI, EXAMPLES, ROOT, Server

ServerFactory = Callable[..., Server]


@pytest.fixture(scope="module")
def json_api() -> Path:
    """examples/json-api/rust, built (its crates come from crates.io, as cargo fetches them)."""
    manifest = EXAMPLES / "json-api" / "rust" / "wasm-server.toml"
    proc = subprocess.run([*CLI, "build", str(manifest)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return manifest.parent


def test_json_api_routes(json_api: Path, server_factory: ServerFactory) -> None:
    server = server_factory(json_api)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.get("/items").json() == []
        r = client.post("/items", json={"name": "tea", "price_cents": 350, "tags": ["hot"]})
        assert (r.status_code, r.headers["location"]) == (201, "/items/1")
        assert r.headers["content-type"] == "application/json"
        assert r.json() == {"id": 1, "name": "tea", "price_cents": 350, "tags": ["hot"]}
        assert client.post("/items", json={"name": "cake", "price_cents": 500}).json()["tags"] == []
        assert client.get("/items/2").json() == {"id": 2, "name": "cake", "price_cents": 500, "tags": []}
        assert [i["name"] for i in client.get("/items").json()] == ["tea", "cake"]
        assert [i["id"] for i in client.get("/items", params={"name": "ak"}).json()] == [2]
        assert [i["id"] for i in client.get("/items", params={"limit": "1"}).json()] == [1]
        assert client.delete("/items/2").status_code == 204
        r = client.get("/items/2")
        assert (r.status_code, r.json()) == (404, {"error": "no item 2"})
        assert client.get("/nowhere").status_code == 404
        r = client.put("/items")
        assert (r.status_code, r.headers["allow"]) == (405, "GET, POST")


def test_json_api_refuses_bad_bodies_with_json_errors(json_api: Path, server_factory: ServerFactory) -> None:
    server = server_factory(json_api)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        r = client.post("/items", content=b"{not json", headers={"content-type": "application/json"})
        assert (r.status_code, r.headers["content-type"]) == (400, "application/json")
        assert r.json()["error"].startswith("invalid JSON: ")
        r = client.post("/items", json={"name": "tea", "price_cents": -1})  # serde: u64
        assert r.status_code == 400 and "invalid value" in r.json()["error"]
        r = client.post("/items", json={"name": "tea", "price_cents": 1, "colour": "red"})  # deny_unknown_fields
        assert r.status_code == 400 and "unknown field `colour`" in r.json()["error"]
        r = client.post("/items", json={"name": " ", "price_cents": 1})
        assert (r.status_code, r.json()) == (422, {"error": "name must be 1 to 100 characters"})
        assert client.get("/items", params={"limit": "x"}).json() == {"error": 'limit must be a number, not "x"'}
        assert client.get("/items").json() == []  # nothing bad was stored


def test_json_api_logs_reach_the_server_log(json_api: Path, server_factory: ServerFactory) -> None:
    server = server_factory(json_api)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.post("/items", json={"name": "tea", "price_cents": 350}).status_code == 201
        assert client.delete("/items/1").status_code == 204
    log = server.wait_for_log("[json-api-rust] created item 1",  # wasm_server::log::info
                              '[json-api-rust] item 1 is "tea" (stdout',  # println!
                              "[json-api-rust] deleted item 1 (stderr")  # eprintln!
    assert "WARNING wasm_server.guest: [json-api-rust] deleted item 1" in log
