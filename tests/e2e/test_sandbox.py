"""The sandbox: no files, environment or network unless the manifest grants them, and
allowed_outbound_hosts holding against the usual bypass attempts."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server
from wasm_server.toolchain import c as cc

Factory = Callable[..., Server]
GUEST = Path(__file__).resolve().parents[1] / "guests" / "c" / "probe.c"


class Recorder(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:
        Recorder.seen.append(self.path)
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("location", "http://127.0.0.2:9/secret")
            self.send_header("content-length", "0")
            self.end_headers()
            return
        body = b"upstream ok"
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def upstream() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def probe_wasm(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("probe") / "probe.wasm"
    assert cc.main(["-o", str(out), str(GUEST)]) == 0
    return out.read_bytes()


def probe_app(root: Path, wasm: bytes, lines: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "probe.wasm").write_bytes(wasm)
    (root / "wasm-server.toml").write_text(f'[[component]]\nname = "probe"\nsource = "probe.wasm"\n'
                                           f'routes = ["/..."]\n{lines}\n')
    return root


def get(s: Server, path: str) -> str:
    r = httpx.get(s.url + path, timeout=10)
    assert r.status_code == 200, r.text
    return r.text


@pytest.fixture
def locked(server_factory: Factory, probe_wasm: bytes, upstream: int, tmp_path: Path) -> Server:
    """A guest allowed exactly one destination, http://127.0.0.1:<upstream>, and nothing else."""
    return server_factory(probe_app(tmp_path / "locked", probe_wasm,
                                    f'allowed_outbound_hosts = ["http://127.0.0.1:{upstream}"]'))


def test_no_environment_and_no_files_by_default(locked: Server) -> None:
    assert get(locked, "/env") == "0 variables\n"
    for path in ("/etc/passwd", "/proc/self/environ", ".", "../../etc/hosts"):
        assert get(locked, f"/read?{path}").startswith(f"cannot open {path}:")
    assert get(locked, "/write?/tmp/escape").startswith("cannot open /tmp/escape:")
    assert not Path("/tmp/escape").exists()


@pytest.mark.parametrize("url", [
    "http://2130706433:{port}/",              # 127.0.0.1 as one decimal number
    "http://0x7f000001:{port}/",              # ... in hex
    "http://127.1:{port}/",                   # ... shortened
    "http://[::ffff:127.0.0.1]:{port}/",      # ... as an IPv4-mapped IPv6 address
    "http://[::1]:{port}/",                   # the IPv6 loopback
    "http://localhost:{port}/",               # a name for it
    "http://127.0.0.1:{port}@127.0.0.2:9/",   # userinfo: the real host is 127.0.0.2
    "http://127.0.0.2:{port}/",               # another loopback address
    "https://127.0.0.1:{port}/",              # another scheme
    "http://127.0.0.1:9/",                    # another port
])
def test_allow_list_bypass_attempts_are_denied_without_a_request(locked: Server, upstream: int, url: str) -> None:
    before = len(Recorder.seen)
    answer = get(locked, "/fetch?" + url.format(port=upstream))
    assert answer.startswith("error -2: "), answer
    assert len(Recorder.seen) == before


def test_redirects_are_not_followed_past_the_list(locked: Server, upstream: int) -> None:
    answer = get(locked, f"/fetch?http://127.0.0.1:{upstream}/redirect")
    assert answer == "status 302\n"  # the guest sees the redirect and decides; the host never follows it
    assert "/secret" not in Recorder.seen


def test_a_host_name_resolving_to_a_private_address_needs_an_explicit_grant(
        server_factory: Factory, probe_wasm: bytes, upstream: int, tmp_path: Path) -> None:
    rule = f'allowed_outbound_hosts = ["http://localhost:{upstream}", "tcp://localhost:{upstream}"]'
    strict = server_factory(probe_app(tmp_path / "strict", probe_wasm, rule))
    answer = get(strict, f"/fetch?http://localhost:{upstream}/")
    assert answer.startswith("error -2: localhost resolves to the non-public address"), answer
    assert get(strict, f"/tcp?localhost:{upstream}").startswith("error -2: localhost resolves to")
    trusting = server_factory(probe_app(tmp_path / "trusting", probe_wasm, rule + "\nallow_private_networks = true"))
    assert get(trusting, f"/fetch?http://localhost:{upstream}/named") == "status 200\nupstream ok"
    assert "/named" in Recorder.seen


def test_read_only_directory_grant(server_factory: Factory, probe_wasm: bytes, tmp_path: Path) -> None:
    static = tmp_path / "granted" / "static"
    static.mkdir(parents=True)
    (static / "hello.txt").write_text("hello from a granted file\n")
    s = server_factory(probe_app(tmp_path / "granted", probe_wasm,
                                 'files = [{ source = "static", path = "/static" }]'))
    assert get(s, "/read?/static/hello.txt") == "read: hello from a granted file\n"
    assert get(s, "/write?/static/hello.txt").startswith("cannot open /static/hello.txt:")
    assert get(s, "/write?/static/new.txt").startswith("cannot open /static/new.txt:")
    assert get(s, "/read?/static/../../../../etc/passwd").startswith("cannot open")
    assert (static / "hello.txt").read_text() == "hello from a granted file\n"
    assert not (static / "new.txt").exists()


def test_kv_stores_of_one_component_are_invisible_to_another(server_factory: Factory, probe_wasm: bytes,
                                                             tmp_path: Path) -> None:
    app = tmp_path / "two"
    app.mkdir()
    (app / "probe.wasm").write_bytes(probe_wasm)
    (app / "wasm-server.toml").write_text(
        '[[component]]\nname = "owner"\nsource = "probe.wasm"\nroutes = ["/owner/..."]\n'
        'key_value_stores = ["default"]\n'
        '[[component]]\nname = "other"\nsource = "probe.wasm"\nroutes = ["/other/..."]\n')
    s = server_factory(app)
    assert get(s, "/owner/kv/set?secret=42") == "ok\n"
    assert get(s, "/other/kv/get?secret").startswith("error -2: component 'other' did not declare")
    assert get(s, "/other/kv/incr?secret").startswith("error -2")
