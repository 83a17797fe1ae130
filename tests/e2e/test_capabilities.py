"""Host capabilities seen from a real C guest: KV, variables, log, outbound HTTP."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server, free_port
from wasm_server.toolchain import c as cc

GUEST = Path(__file__).resolve().parents[1] / "guests" / "c" / "probe.c"
Factory = Callable[..., Server]


@pytest.fixture(scope="module")
def probe_wasm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("probe") / "probe.wasm"
    assert cc.main(["-o", str(out), str(GUEST)]) == 0
    return out


@pytest.fixture
def probe(server_factory: Factory, probe_wasm: Path, upstream: int, tmp_path: Path) -> Server:
    app = tmp_path / "app"
    app.mkdir()
    (app / "probe.wasm").write_bytes(probe_wasm.read_bytes())
    (app / "wasm-server.toml").write_text(f"""
[[component]]
name = "probe"
source = "probe.wasm"
routes = ["/...", "/users/{{id}}/..."]
key_value_stores = ["default"]
allowed_outbound_hosts = ["http://127.0.0.1:{upstream}", "tcp://127.0.0.1:{upstream}", "udp://127.0.0.1:*"]
variables = {{ greeting = "hello there", empty = "" }}
""")
    return server_factory(app)


def get(s: Server, path: str) -> str:
    r = httpx.get(s.url + path, timeout=10)
    assert r.status_code == 200, r.text
    return r.text


def test_kv_operations(probe: Server) -> None:
    assert get(probe, "/kv/get?a") == "error -1: not found\n"
    assert get(probe, "/kv/set?a=1") == "ok\n"
    assert get(probe, "/kv/set?ab=2") == "ok\n"
    assert get(probe, "/kv/set?b=3") == "ok\n"
    assert get(probe, "/kv/get?a") == "1"
    assert get(probe, "/kv/exists?ab") == "1\n" and get(probe, "/kv/exists?zz") == "0\n"
    assert get(probe, "/kv/keys?a") == "a\nab\n"
    assert get(probe, "/kv/delete?a") == "ok\n" and get(probe, "/kv/exists?a") == "0\n"
    assert get(probe, "/kv/incr?n=5") == "5\n" and get(probe, "/kv/incr?n=-7") == "-2\n"


def test_kv_errors_are_visible_to_the_guest(probe: Server) -> None:
    assert get(probe, "/kv/other?x").startswith("error -2: component 'probe' did not declare key-value store 'other'")
    get(probe, "/kv/set?word=hello")
    assert get(probe, "/kv/incr?word").startswith("error -4: ")
    assert get(probe, "/kv/get?word") == "hello"  # the failed increment changed nothing


def test_variables(probe: Server) -> None:
    assert get(probe, "/var?greeting") == "hello there"
    assert get(probe, "/var?empty") == ""
    assert get(probe, "/var?missing").startswith("error -1")


def test_log_lines_reach_the_server_log_with_the_component_name(probe: Server) -> None:
    get(probe, "/log?hi-from-the-guest")
    import time

    for _ in range(50):
        if "[probe] probe says hi-from-the-guest" in probe.log():
            return
        time.sleep(0.05)
    raise AssertionError(probe.log())


def test_guest_stdout_and_stderr_reach_the_log_with_component_and_request_id(probe: Server) -> None:
    # regression (bug 10a): a native guest's printf/fprintf(stderr) output was thrown away
    r = httpx.get(probe.url + "/print?hello-logs", headers={"x-request-id": "rid-77"}, timeout=10)
    assert r.text == "printed\n"
    probe.wait_for_log("[probe] stdout says hello-logs (stdout, request rid-77)")
    probe.wait_for_log("[probe] stderr says hello-logs (stderr, request rid-77)")
    httpx.get(probe.url + "/print?no-id", timeout=10)
    log = probe.wait_for_log("[probe] stderr says no-id (stderr, request ")
    rid = log.split("[probe] stderr says no-id (stderr, request ")[1].split(")")[0]
    assert rid not in ("", "-")  # the id the host generated for the request


def test_a_guest_flooding_stderr_is_bounded_per_request(probe: Server) -> None:
    r = httpx.get(probe.url + "/flood?2000", headers={"x-request-id": "flood-1"}, timeout=10)
    assert r.text == "flooded\n"
    log = probe.wait_for_log("more bytes of output dropped")
    assert "[probe] flood 00000 " in log and "[probe] flood 00654 " in log
    assert "flood 00656 " not in log  # 64 KiB of 100-byte lines: 655 whole lines and the start of one
    assert "[probe] 134464 more bytes of output dropped: at most 65536 bytes per request are logged " \
           "(request flood-1)" in log
    assert get(probe, "/print?after-the-flood") == "printed\n"  # the next request logs again
    probe.wait_for_log("[probe] stderr says after-the-flood (stderr, request ")


def test_outbound_http_allowed_and_denied(probe: Server, upstream: int) -> None:
    assert get(probe, f"/fetch?http://127.0.0.1:{upstream}/x") == "status 200\nupstream saw /x\n"
    denied = get(probe, "/fetch?http://127.0.0.2:9/")
    assert denied.startswith("error -2: destination http://127.0.0.2:9 is not in allowed_outbound_hosts")
    assert get(probe, f"/fetch?https://127.0.0.1:{upstream}/").startswith("error -2")  # scheme matters
    assert get(probe, "/fetch?not-a-url").startswith("error -4: 'not-a-url' is not an absolute")


def test_request_fields_reach_the_guest(probe: Server) -> None:
    r = httpx.post(probe.url + "/echo?q=1", content=b"body bytes", headers={"X-Custom": "Value"})
    lines = r.text.splitlines()
    assert lines[0] == "POST /echo?q=1"
    assert "x-custom: Value" in lines and lines[-1] == "body bytes"


def test_one_mib_binary_body_round_trips(probe: Server) -> None:
    body = bytes(range(256)) * 4096
    r = httpx.post(probe.url + "/echo", content=body)
    assert r.content.endswith(body)


class UdpEcho:
    """A UDP echo peer on loopback (answers 'echo:' + the datagram)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while True:
            try:
                data, addr = self.sock.recvfrom(2048)
            except OSError:
                return
            self.sock.sendto(b"echo:" + data, addr)


def test_outbound_tcp_and_udp_sockets(probe: Server, upstream: int) -> None:
    # the upstream HTTP server answers a raw "ping" with a 400 page: proof the bytes went both ways
    assert "Bad request syntax ('ping')" in get(probe, f"/tcp?127.0.0.1:{upstream}")
    echo = UdpEcho()
    try:
        assert get(probe, f"/udp?127.0.0.1:{echo.port}") == "got echo:ping\r\n\r\n"
    finally:
        echo.sock.close()


def test_outbound_sockets_are_denied_outside_the_list(probe: Server, upstream: int) -> None:
    assert get(probe, "/tcp?127.0.0.1:9").startswith("error -2: destination tcp://127.0.0.1:9 is not in")
    assert get(probe, "/tcp?localhost:" + str(upstream)).startswith("error -2")  # names are not IPs
    closed = free_port()
    assert get(probe, f"/udp?127.0.0.2:{closed}").startswith("error -2")


def test_route_params_and_matched_prefix_reach_the_guest(probe: Server) -> None:
    assert get(probe, "/users/42/files/a.txt") == (
        "route=/users/{id}/... base=/users/42 path_info=/files/a.txt id=42 params=1\n"
    )
    assert get(probe, "/users/7") == "route=/users/{id}/... base=/users/7 path_info= id=7 params=1\n"
