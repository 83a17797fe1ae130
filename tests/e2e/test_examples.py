"""The examples and the gallery, built by `wasm-server build` and served by `wasm-server up`."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import CLI, ROOT, Server, free_port, start_server

Factory = Callable[..., Server]

# the first test here builds every example (built_examples): cold, pion's (webrtc-echo/go) and
# the gallery's componentize-py/-js modules alone take minutes on 2 cores
pytestmark = pytest.mark.timeout(900)


def loopback_ports() -> list[str]:
    """--map-port flags keeping the gallery's raw listeners (7, 53, 6379, 3478, 3479) on loopback test ports."""
    import socket

    def udp() -> int:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    return ["--map-port", f"7=127.0.0.1:{free_port()}", "--map-port", f"53=127.0.0.1:{udp()}",
            "--map-port", f"6379=127.0.0.1:{free_port()}", "--map-port", f"3478=127.0.0.1:{udp()}",
            "--map-port", f"3479=127.0.0.1:{udp()}"]


@pytest.fixture
def gallery(built_examples: Path, server_factory: Factory) -> Server:
    return server_factory(built_examples / "gallery", *loopback_ports())


def test_index_lists_every_example(gallery: Server) -> None:
    r = httpx.get(gallery.url + "/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for path in ("/hello/c", "/hello/cpp", "/hello/rust", "/hello/go", "/hello/ts", "/hello/python", "/hello/js",
                 "/count/c", "/count/cpp",
                 "/count/rust", "/count/go", "/count/ts", "/wagi/c", "/wagi/go",
                 "/api/rust/items", "/webrtc"):
        assert f'href="{path}"' in r.text


GREETINGS = [("/hello/c", "Hello from C"), ("/hello/cpp", "Hello from C++"), ("/hello/rust", "Hello from Rust"),
             ("/hello/go", "Hello from Go"),
             ("/hello/ts", "Hello from TypeScript"), ("/hello/python", "Hello from Python"),
             ("/hello/js", "Hello from JavaScript"), ("/wagi/c", "Hello from C (WAGI)"),
             ("/wagi/go", "Hello from Go (WAGI)")]


@pytest.mark.parametrize(("path", "greeting"), GREETINGS)
def test_hello_in_every_language_echoes_the_path(gallery: Server, path: str, greeting: str) -> None:
    r = httpx.get(f"{gallery.url}{path}/some/where?x=1")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert r.text.splitlines() == [greeting, "path: /some/where"]


def test_rust_json_api_under_its_gallery_mount(gallery: Server) -> None:
    r = httpx.post(f"{gallery.url}/api/rust/items", json={"name": "tea", "price_cents": 350})
    assert (r.status_code, r.headers["location"]) == (201, f"/api/rust/items/{r.json()['id']}")
    assert httpx.get(gallery.url + r.headers["location"]).json()["name"] == "tea"


def test_hello_with_curl_verbatim_from_the_readme(gallery: Server) -> None:
    out = subprocess.run(["curl", "-s", f"{gallery.url}/hello/c"], capture_output=True, text=True, timeout=10)
    assert out.stdout.startswith("Hello from C\n")


@pytest.mark.parametrize("lang", ["c", "cpp", "rust", "go", "ts"])
def test_counter_increments_and_reads(gallery: Server, lang: str) -> None:
    base = f"{gallery.url}/count/{lang}"
    start = int(httpx.get(base).text)
    assert [int(httpx.post(base).text) for _ in range(3)] == [start + 1, start + 2, start + 3]
    assert int(httpx.get(base).text) == start + 3
    r = httpx.put(base)
    assert r.status_code == 405 and "POST" in r.headers["allow"]


def test_counter_survives_kill_9(built_examples: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = start_server(built_examples / "kv-counter" / "c", data)
    try:
        for _ in range(7):
            assert httpx.post(f"{first.url}/count").status_code == 200
    finally:
        first.stop(9)
    second = start_server(built_examples / "kv-counter" / "rust", data)
    try:
        assert httpx.get(f"{second.url}/count").text == "7\n"  # same store, other language
    finally:
        second.stop()


@pytest.mark.parametrize("lang", ["c", "cpp", "rust", "go", "ts"])
def test_new_template_builds_and_serves(tmp_path: Path, lang: str) -> None:
    made = subprocess.run([*CLI, "new", lang, "my-svc", "--dir", str(tmp_path)], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert made.returncode == 0, made.stderr
    built = subprocess.run([*CLI, "build", str(tmp_path / "my-svc")], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    s = start_server(tmp_path / "my-svc", tmp_path / "data")
    try:
        r = httpx.get(f"{s.url}/there")
        assert r.status_code == 200 and "Hello from my-svc!" in r.text and "/there (visit 1)" in r.text
    finally:
        s.stop()


def test_new_refuses_bad_names_and_languages(tmp_path: Path) -> None:
    for args in (["new", "cobol", "x"], ["new", "c", "Bad Name"]):
        out = subprocess.run([*CLI, *args, "--dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 2 and out.stderr.startswith("error:") and "Traceback" not in out.stderr


def test_up_builds_stale_components_with_progress(tmp_path: Path) -> None:
    made = subprocess.run([*CLI, "new", "c", "fresh", "--dir", str(tmp_path)], capture_output=True, timeout=60)
    assert made.returncode == 0
    out = subprocess.run([*CLI, "build", str(tmp_path / "fresh")], capture_output=True, text=True, timeout=600)
    assert "building fresh:" in out.stderr and "built fresh" in out.stderr
    again = subprocess.run([*CLI, "build", str(tmp_path / "fresh")], capture_output=True, text=True, timeout=600)
    assert "0 component(s) built, 1 up to date" in again.stderr
    (tmp_path / "fresh" / "main.c").touch()
    (tmp_path / "fresh" / "fresh.wasm").touch()  # module newer than source: still up to date
    assert "1 up to date" in subprocess.run([*CLI, "build", str(tmp_path / "fresh")], capture_output=True,
                                            text=True, timeout=600).stderr


def test_version_and_help() -> None:
    v = subprocess.run([*CLI, "--version"], capture_output=True, text=True, timeout=30)
    assert v.stdout.startswith("wasm-server ")
    h = subprocess.run([*CLI, "--help"], capture_output=True, text=True, timeout=30)
    assert "up [PATH]" in h.stdout and "new LANG NAME" in h.stdout
