"""A TypeScript service built on a real npm library (issue 12, item 6): the ``new ts`` template
uses json-as (an AssemblyScript JSON library with a compiler transform), fetched from the npm
registry by ``wasm-server build`` (ts-build runs ``npm install``), then served by a real server."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import CLI, ROOT, Server
from wasm_server.toolchain import sdk

Factory = Callable[..., Server]
pytestmark = pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                                reason="Node.js and npm are needed to compile AssemblyScript")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``wasm-server new ts shop`` built with ``wasm-server build`` (npm install, json-as, asc)."""
    parent = tmp_path_factory.mktemp("ts-json")
    made = subprocess.run([*CLI, "new", "ts", "shop", "--dir", str(parent)], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert made.returncode == 0, made.stderr
    built = subprocess.run([*CLI, "build", str(parent / "shop")], capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "installing the npm packages of shop" in built.stderr
    return parent / "shop"


def test_the_template_pins_the_sdks_assemblyscript_and_writes_nothing_absolute(shop: Path) -> None:
    manifest = json.loads((shop / "package.json").read_text())
    sdk_pin = json.loads((sdk.sdk_dir("assemblyscript") / "package.json").read_text())["devDependencies"]
    assert manifest["devDependencies"]["assemblyscript"] == sdk_pin["assemblyscript"]
    assert "json-as" in manifest["devDependencies"]
    for name in ("package.json", "asconfig.json", "tsconfig.json", "wasm-server.toml", "assembly/index.ts"):
        text = (shop / name).read_text()
        assert str(ROOT) not in text and str(sdk.sdk_root()) not in text, name
    assert (shop / "node_modules" / "json-as" / "package.json").is_file()


def test_json_bodies_parse_into_classes_and_answers_are_json(shop: Path, server_factory: Factory) -> None:
    server = server_factory(shop)
    hello = httpx.get(server.url + "/there", timeout=10)
    assert hello.status_code == 200 and "Hello from shop!" in hello.text and "/there (visit 1)" in hello.text
    first = httpx.post(server.url + "/order", content=b'{"name":"tea","quantity":2}', timeout=10)
    assert first.status_code == 200 and first.headers["content-type"] == "application/json"
    assert first.json() == {"item": "tea", "quantity": 2, "total": 2}
    # field order and white space are the sender's; a field the class lacks is skipped
    second = httpx.post(server.url + "/order", timeout=10,
                        content=b'{ "quantity": 3, "note": "fresh", "name": "cake" }')
    assert second.json() == {"item": "cake", "quantity": 3, "total": 5}
    refused = httpx.post(server.url + "/order", content=b'{"name":"","quantity":1}', timeout=10)
    assert refused.status_code == 400 and refused.json() == {"error": "need a name and a positive quantity"}
    # malformed JSON: json-as aborts, the SDK logs why, the request fails alone
    broken = httpx.post(server.url + "/order", content=b'{"name": tea', timeout=10)
    assert broken.status_code == 500
    assert httpx.get(server.url + "/", timeout=10).status_code == 200
    server.wait_for_log("INFO wasm_server.guest: [shop] ordered 2 tea",
                        "INFO wasm_server.guest: [shop] ordered 3 cake",
                        "ERROR wasm_server.guest: [shop] abort: ")
