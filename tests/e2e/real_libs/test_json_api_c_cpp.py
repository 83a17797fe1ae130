"""Real libraries in C and C++ guests: examples/json-api/c (jsmn) and examples/json-api/cpp (nlohmann/json).

Both libraries are Debian's header-only packages in /usr/include (scripts/setup installs
libjsmn-dev and nlohmann-json3-dev), reached with ``-I/usr/include``, which the build
wrappers turn into ``-idirafter`` so wasi-libc's and libc++'s own headers still come first.
Each is served mounted under ``/api/<lang>`` (a server per language: they would share the
``default`` store): the same requests must get the same answers, and the guests' log lines
must reach the server log.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import CLI, EXAMPLES, ROOT, Server, start_server

LANGS = ("c", "cpp")
HEADERS = {"c": Path("/usr/include/jsmn.h"), "cpp": Path("/usr/include/nlohmann/json.hpp")}


@dataclass
class Api:
    """A server serving one language's example, and the example's base URL."""

    server: Server
    lang: str

    @property
    def url(self) -> str:
        return f"{self.server.url}/api/{self.lang}"


@pytest.fixture(scope="module", params=LANGS)
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    lang = str(request.param)
    assert HEADERS[lang].exists(), f"{HEADERS[lang]} is missing for the {lang} example: scripts/setup installs it"
    where = tmp_path_factory.mktemp(f"json-api-{lang}")
    manifest = where / "wasm-server.toml"
    manifest.write_text(f'[[include]]\npath = "{EXAMPLES / "json-api" / lang}"\nmount = "/api/{lang}"\n')
    build = subprocess.run([*CLI, "build", str(manifest)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stdout + build.stderr
    s = start_server(manifest, where / "data")
    yield Api(s, lang)
    s.stop()


@pytest.fixture
def api(served: Api) -> str:
    return served.url


def _make(api: str, name: str, price: int, tags: list[str] | None = None) -> dict[str, object]:
    body: dict[str, object] = {"name": name, "price_cents": price}
    if tags is not None:
        body["tags"] = tags
    r = httpx.post(f"{api}/items", json=body)
    assert r.status_code == 201, r.text
    assert r.headers["content-type"] == "application/json"
    item = r.json()
    assert isinstance(item, dict)
    return item


def test_create_read_list_and_delete(api: str) -> None:
    tea = _make(api, "tea", 350, ["hot", "leaf"])
    assert tea["name"] == "tea" and tea["price_cents"] == 350 and tea["tags"] == ["hot", "leaf"]
    ident = tea["id"]
    assert isinstance(ident, int)
    r = httpx.post(f"{api}/items", json={"name": "iced tea", "price_cents": 400})
    assert r.headers["location"] == f"/api/{api.rsplit('/', 1)[1]}/items/{ident + 1}"  # base is the mount
    assert r.json()["tags"] == []
    assert httpx.get(f"{api}/items/{ident}").json() == tea
    names = [i["name"] for i in httpx.get(f"{api}/items").json()]
    assert names[-2:] == ["tea", "iced tea"]  # oldest first
    assert [i["name"] for i in httpx.get(f"{api}/items?name=iced").json()] == ["iced tea"]
    assert len(httpx.get(f"{api}/items?limit=1").json()) == 1
    assert httpx.delete(f"{api}/items/{ident}").status_code == 204
    gone = httpx.get(f"{api}/items/{ident}")
    assert gone.status_code == 404 and gone.json() == {"error": f"no item {ident}"}
    assert httpx.delete(f"{api}/items/{ident}").status_code == 404


def test_strings_round_trip_with_escapes_and_unicode(api: str) -> None:
    name = 'caf\u00e9 "quoted" \\ back\tslash \U0001f375'
    item = _make(api, name, 1, ["a\nb", "\u00fc"])
    assert item["name"] == name and item["tags"] == ["a\nb", "\u00fc"]
    assert httpx.get(f"{api}/items/{item['id']}").json() == item
    raw = httpx.post(f"{api}/items", content=b'{"name": "t\\u00e9 \\ud83c\\udf75", "price_cents": 2}')
    assert raw.status_code == 201 and raw.json()["name"] == "t\u00e9 \U0001f375"


@pytest.mark.parametrize(("body", "status"), [
    (b"not json", 400),
    (b'{"name": "x", "price_cents": 1} trailing', 400),
    (b"[1, 2]", 400),
    (b'{"name": "x"}', 400),
    (b'{"name": 5, "price_cents": 1}', 400),
    (b'{"name": "x", "price_cents": -1}', 400),
    (b'{"name": "x", "price_cents": 1.5}', 400),
    (b'{"name": "x", "price_cents": 1, "colour": "red"}', 400),
    (b'{"name": "x", "price_cents": 1, "tags": [1]}', 400),
    (b'{"name": "x", "price_cents": 1, "tags": "hot"}', 400),
    (b'{"name": "   ", "price_cents": 1}', 422),
    (b'{"name": "' + b"n" * 101 + b'", "price_cents": 1}', 422),
])
def test_bad_bodies_are_refused_with_a_json_error(api: str, body: bytes, status: int) -> None:
    r = httpx.post(f"{api}/items", content=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json" and isinstance(r.json()["error"], str)


def test_methods_paths_and_queries_out_of_the_api(api: str) -> None:
    r = httpx.put(f"{api}/items")
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
    r = httpx.patch(f"{api}/items/1")
    assert r.status_code == 405 and r.headers["allow"] == "GET, DELETE"
    r = httpx.get(f"{api}/nowhere")
    assert r.status_code == 404 and r.json() == {"error": "no route for /nowhere"}
    r = httpx.get(f"{api}/items/abc")
    assert r.status_code == 404 and r.json() == {"error": 'no item "abc"'}
    r = httpx.get(f"{api}/items?limit=ten")
    assert r.status_code == 400 and r.json() == {"error": 'limit must be a number, not "ten"'}
    assert httpx.head(f"{api}/items").status_code == 200


def test_sdk_log_stdout_and_stderr_reach_the_server_log(served: Api, api: str) -> None:
    lang, server = served.lang, served.server
    item = _make(api, "logged", 5)
    assert httpx.delete(f"{api}/items/{item['id']}").status_code == 204
    server.wait_for_log(f"INFO wasm_server.guest: [json-api-{lang}] created item {item['id']}",
                        f'[json-api-{lang}] item {item["id"]} is "logged" (stdout',
                        f"[json-api-{lang}] deleted item {item['id']} (stderr")
