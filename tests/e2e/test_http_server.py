"""A real `wasm-server up` on loopback, driven with curl, httpx and raw sockets."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import CLI, Server, free_port
from tests.e2e.wat_app import fault_app, write_app
from tests.guests import wat

Factory = Callable[..., Server]


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    return fault_app(tmp_path / "app")


@pytest.fixture
def server(server_factory: Factory, app_dir: Path) -> Server:
    return server_factory(app_dir)


def raw(server: Server, data: bytes, *, read_until_close: bool = True, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(data)
        if not read_until_close:
            return s.recv(65536)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_hello_with_curl(server: Server) -> None:
    out = subprocess.run(["curl", "-s", "-i", f"{server.url}/hello/x"], capture_output=True, timeout=10)
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"content-length: 2" in head.lower() and body == b"hi"


def test_keep_alive_reuses_one_connection(server: Server) -> None:
    ports = set()
    with httpx.Client(base_url=server.url) as client:
        for _ in range(20):
            r = client.get("/hello")
            assert r.status_code == 200 and r.text == "hi"
            ports.add(r.extensions["network_stream"].get_extra_info("client_addr"))
    assert len(ports) == 1


def test_pipelined_requests_answered_in_order(server: Server) -> None:
    data = raw(server, b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\n"
                       b"GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", data)
    assert statuses == [b"200", b"404", b"200"]


def test_chunked_request_body_and_expect_continue(server: Server) -> None:
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Transfer-Encoding: chunked",
                          "-H", "Expect: 100-continue", "--data-binary", "@-", f"{server.url}/hello"],
                         input=b"x" * 5000, capture_output=True, timeout=10)
    assert out.stdout == b"200"


def test_head_has_headers_but_no_body(server: Server) -> None:
    data = raw(server, b"HEAD /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200") and b"content-length: 2" in data and data.endswith(b"\r\n\r\n")


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /hello HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 20000 + b"\r\n\r\n", b"431"),
        (b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 20000000\r\n\r\n", b"413"),
        (b"BLAH\r\n\r\n", b"400"),
        (b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", b"400"),
    ],
)
def test_bad_requests_get_clear_errors(server: Server, request_bytes: bytes, status: bytes) -> None:
    data = raw(server, request_bytes)
    assert data.split(b" ")[1] == status
    assert httpx.get(f"{server.url}/hello").status_code == 200  # the server is fine


def test_no_route_is_404_and_wrong_method_is_405(server: Server) -> None:
    assert httpx.get(f"{server.url}/nowhere").status_code == 404
    r = httpx.post(f"{server.url}/only-get")
    assert r.status_code == 405 and "GET" in r.headers["allow"]


def test_trap_is_500_and_the_next_request_succeeds(server: Server) -> None:
    r = httpx.get(f"{server.url}/trap")
    assert r.status_code == 500 and "trap" in r.text
    assert httpx.get(f"{server.url}/trap").status_code == 500
    assert httpx.get(f"{server.url}/hello").status_code == 200
    assert "component 'trap' failed" in server.log()


def test_malformed_guest_response_is_502(server: Server) -> None:
    assert httpx.get(f"{server.url}/bad").status_code == 502
    assert "malformed response" in server.log()


def test_infinite_loop_504_within_deadline_while_others_answer(server: Server) -> None:
    async def scenario() -> tuple[int, float, int]:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            started = time.monotonic()
            looping = asyncio.ensure_future(client.get("/loop"))
            answered = 0
            while not looping.done():
                r = await client.get("/hello")
                assert r.status_code == 200
                answered += 1
                await asyncio.sleep(0.02)
            return (await looping).status_code, time.monotonic() - started, answered

    status, took, answered = asyncio.run(scenario())
    assert status == 504
    assert took < 1.0 + 1.0  # deadline + 1 s
    assert answered >= 5


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_memory_growth_is_capped_and_rss_stays_bounded(server: Server) -> None:
    httpx.get(f"{server.url}/grow")
    before = rss_kib(server.proc.pid)
    for _ in range(20):
        assert httpx.get(f"{server.url}/grow").status_code == 500
    growth_mib = (rss_kib(server.proc.pid) - before) / 1024
    assert growth_mib < 8 * 3  # 20 guests × 8 MiB would be 160 MiB if memory leaked
    assert httpx.get(f"{server.url}/hello").status_code == 200


def test_undeclared_store_is_an_error_the_guest_sees(server: Server) -> None:
    # the WAT guest ignores kv_incr's error code and answers normally: no trap
    assert httpx.get(f"{server.url}/sneaky").status_code == 200


def test_wagi_program(server: Server) -> None:
    r = httpx.get(f"{server.url}/wagi")
    assert r.status_code == 201 and r.text == "hello wagi\n"


def test_kv_write_survives_kill_9(server_factory: Factory, app_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "kvdata"
    first = server_factory(app_dir, data_dir=data)
    for _ in range(5):
        assert httpx.post(f"{first.url}/count").status_code == 200
    first.stop(9)
    second = server_factory(app_dir, data_dir=data)
    assert httpx.post(f"{second.url}/count").status_code == 200
    second.stop()
    rows = sqlite3.connect(data / "kv.sqlite3").execute("SELECT value FROM kv WHERE key = ?", (b"counter",)).fetchall()
    assert rows and int(rows[0][0]) == 6


def test_ipv4_and_ipv6_listeners_at_once(server_factory: Factory, app_dir: Path) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    p4, p6 = free_port(), free_port("::1")
    s = server_factory(app_dir, listen=[f"127.0.0.1:{p4}", f"[::1]:{p6}"])
    assert httpx.get(f"http://127.0.0.1:{p4}/hello").text == "hi"
    assert httpx.get(f"http://[::1]:{p6}/hello").text == "hi"
    s.stop()


def test_sigterm_finishes_in_flight_requests_and_refuses_new(server_factory: Factory, app_dir: Path) -> None:
    s = server_factory(app_dir)

    async def scenario() -> int:
        async with httpx.AsyncClient(base_url=s.url, timeout=10) as client:
            slow = asyncio.ensure_future(client.get("/loop"))  # runs until its 1 s deadline
            await asyncio.sleep(0.3)
            s.proc.send_signal(15)
            r = await slow
            return r.status_code

    assert asyncio.run(scenario()) == 504  # answered, not dropped
    assert s.proc.wait(10) == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{s.url}/hello")


def test_curl_is_available() -> None:
    assert shutil.which("curl"), "scripts/setup installs curl"


@pytest.mark.parametrize(
    ("wasm", "message"),
    [
        (wat.guest(version=2), "uses wasm-server ABI version 2; this server supports version 1"),
        (b"definitely not wasm", "not a WebAssembly module"),
        (wat.WAGI_HELLO, 'use abi = "wagi"'),
    ],
)
def test_bad_modules_are_refused_at_load_with_exit_2(tmp_path: Path, wasm: bytes, message: str) -> None:
    app = write_app(tmp_path / "bad", {"bad": (wasm, 'routes = ["/..."]')})
    out = subprocess.run([*CLI, "up", str(app), "--no-build", "--listen", f"127.0.0.1:{free_port()}"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def test_port_in_use_is_a_clear_error(server: Server, app_dir: Path) -> None:
    out = subprocess.run([*CLI, "up", str(app_dir), "--no-build", "--listen", f"127.0.0.1:{server.port}"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and f"cannot listen on http://127.0.0.1:{server.port}" in out.stderr


def test_slow_client_gets_408_and_the_server_keeps_serving(server_factory: Factory, app_dir: Path,
                                                           tmp_path: Path) -> None:
    cfg = tmp_path / "server.toml"
    cfg.write_text("[server]\nrequest_timeout = 1\n")
    s = server_factory(app_dir, "--config", str(cfg))
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as slow:
        slow.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        for _ in range(3):  # trickle a header now and then
            time.sleep(0.4)
            try:
                slow.sendall(b"X-Slow: 1\r\n")
            except OSError:
                break
        data = slow.recv(1000)
        assert data.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 5
    assert httpx.get(f"{s.url}/hello").status_code == 200


def test_overload_is_503_with_retry_after_and_other_components_keep_answering(server_factory: Factory,
                                                                              tmp_path: Path) -> None:
    app = write_app(tmp_path / "busy", {
        "slow": (wat.guest(wat.SLEEP_300MS), 'routes = ["/slow"]\n[component.limits]\nconcurrency = 2\nqueue = 2'),
        "hello": (wat.guest(), 'routes = ["/hello"]'),
    })
    s = server_factory(app)

    async def burst() -> tuple[list[httpx.Response], httpx.Response]:
        async with httpx.AsyncClient(timeout=10) as client:
            slow = [asyncio.ensure_future(client.get(f"{s.url}/slow")) for _ in range(10)]
            await asyncio.sleep(0.1)
            hello = await client.get(f"{s.url}/hello")
            return list(await asyncio.gather(*slow)), hello

    slow, hello = asyncio.run(burst())
    assert hello.status_code == 200  # answered while "slow" was saturated
    codes = sorted(r.status_code for r in slow)
    assert codes == [200] * 4 + [503] * 6  # 2 running + 2 queued; the rest refused at once
    refused = next(r for r in slow if r.status_code == 503)
    assert refused.headers["retry-after"] == "1"
    assert "overloaded" in s.log() or "concurrent requests" in s.log()


def test_connections_past_the_limit_get_503_and_the_open_ones_keep_working(server_factory: Factory,
                                                                           app_dir: Path) -> None:
    s = server_factory(app_dir, "--max-connections", "5")
    held = [socket.create_connection(("127.0.0.1", s.port), timeout=5) for _ in range(5)]
    try:
        time.sleep(0.2)  # let the server register them
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", s.port), timeout=5) as extra:
                answer = extra.recv(4096)
            assert answer.startswith(b"HTTP/1.1 503") and b"retry-after: 1" in answer
        held[0].sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        assert held[0].recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        for c in held:
            c.close()
    time.sleep(0.2)
    assert httpx.get(f"{s.url}/hello").status_code == 200  # capacity is back once they closed
    assert "connection limit (5) reached" in s.log()


def test_every_response_carries_a_request_id_and_a_given_one_is_kept(server: Server) -> None:
    first, second = httpx.get(f"{server.url}/hello"), httpx.get(f"{server.url}/hello")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert httpx.get(f"{server.url}/hello", headers={"x-request-id": "abc-123"}).headers["x-request-id"] == "abc-123"
    failed = httpx.get(f"{server.url}/trap", headers={"x-request-id": "trace-me"})
    assert failed.status_code == 500
    assert "(request trace-me)" in server.log()  # the failure can be found by its id


def test_json_logs_are_one_object_per_line(server_factory: Factory, app_dir: Path) -> None:
    import json

    s = server_factory(app_dir, "--log-format", "json")
    httpx.get(f"{s.url}/trap")
    docs = [json.loads(line) for line in s.log().splitlines() if line.startswith("{")]
    failure = next(d for d in docs if "failed" in d["message"])
    assert failure["level"] == "error" and failure["component"] == "trap" and failure["time"].endswith("Z")
