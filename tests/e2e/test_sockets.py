"""Raw TCP and UDP services driven with clients nobody here wrote: nc, socat, dig."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import EXAMPLES, Server, free_port

Factory = Callable[..., Server]

# the first test here builds every example (built_examples): cold, pion's (webrtc-echo/go) and
# the gallery's componentize-py/-js modules alone take minutes on 2 cores
pytestmark = pytest.mark.timeout(900)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def echo(built_examples: Path, server_factory: Factory) -> tuple[Server, int]:
    port = free_port()
    s = server_factory(EXAMPLES / "tcp-echo" / "c", "--map-port", f"7=127.0.0.1:{port}", listen_check=port)
    return s, port


def test_echo_with_nc_and_socat(echo: tuple[Server, int]) -> None:
    _, port = echo
    out = subprocess.run(["nc", "-q", "1", "127.0.0.1", str(port)], input=b"hello echo\n", capture_output=True,
                         timeout=10)
    assert out.stdout == b"hello echo\n"
    out = subprocess.run(["socat", "-", f"TCP:127.0.0.1:{port}"], input=bytes(range(256)) * 64,
                         capture_output=True, timeout=10)
    assert out.stdout == bytes(range(256)) * 64


def test_many_connections_each_get_their_bytes(echo: tuple[Server, int]) -> None:
    _, port = echo
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(20)]
    for i, s in enumerate(socks):
        s.sendall(f"conn {i}\n".encode())
    for i, s in enumerate(socks):
        assert s.recv(100) == f"conn {i}\n".encode()
        s.close()


def test_half_open_connection_is_closed_and_others_continue(echo: tuple[Server, int]) -> None:
    _, port = echo
    half = socket.create_connection(("127.0.0.1", port), timeout=5)
    half.shutdown(socket.SHUT_WR)
    assert half.recv(10) == b""  # the server closes its side too
    half.close()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"still here")
        assert s.recv(100) == b"still here"


def test_flood_past_max_connections_is_refused_not_crashed(built_examples: Path, server_factory: Factory,
                                                           tmp_path: Path) -> None:
    app = tmp_path / "echo"
    app.mkdir()
    (app / "tcp-echo.wasm").write_bytes((EXAMPLES / "tcp-echo" / "c" / "tcp-echo.wasm").read_bytes())
    (app / "wasm-server.toml").write_text(
        '[[component]]\nname = "echo"\nsource = "tcp-echo.wasm"\n'
        '[[component.tcp]]\nlisten = "127.0.0.1:7"\n[component.connections]\nmax = 5\n'
    )
    port = free_port()
    s = server_factory(app, "--map-port", f"7={port}", listen_check=port)
    held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(5)]
    for h in held:
        h.sendall(b"x")
        assert h.recv(1) == b"x"
    extra = socket.create_connection(("127.0.0.1", port), timeout=5)
    assert extra.recv(10) == b""  # refused: closed at once
    extra.close()
    held[0].close()
    time.sleep(0.2)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as again:
        again.sendall(b"y")
        assert again.recv(1) == b"y"
    for h in held[1:]:
        h.close()
    assert "connections is the limit" in s.log()


def dig(port: int, *args: str) -> str:
    out = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+time=2", "+tries=1", *args],
                         capture_output=True, text=True, timeout=15)
    return out.stdout


@pytest.fixture
def dns(built_examples: Path, server_factory: Factory) -> int:
    port = free_udp_port()
    server_factory(EXAMPLES / "dns" / "c", "--map-port", f"53=127.0.0.1:{port}", listen_check=None)
    time.sleep(1.0)
    return port


def test_dns_answers_a_aaaa_txt(dns: int) -> None:
    assert dig(dns, "hello.wasm.test", "A", "+short").strip() == "192.0.2.10"
    assert dig(dns, "hello.wasm.test", "AAAA", "+short").strip() == "2001:db8::10"
    assert dig(dns, "HeLLo.Wasm.Test", "TXT", "+short").strip() == '"hello from wasm"'


def test_dns_flags_nxdomain_and_nodata(dns: int) -> None:
    full = dig(dns, "hello.wasm.test", "A")
    assert "status: NOERROR" in full and "flags: qr aa rd;" in full and "ANSWER: 1" in full
    assert "status: NXDOMAIN" in dig(dns, "nope.wasm.test", "A")
    nodata = dig(dns, "hello.wasm.test", "MX")
    assert "status: NOERROR" in nodata and "ANSWER: 0" in nodata


def test_dns_bad_packets_get_formerr_or_silence_and_the_server_lives(dns: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1.0)
        s.sendto(b"\x12\x34\x01", ("127.0.0.1", dns))  # shorter than a header: dropped
        with pytest.raises(TimeoutError):
            s.recvfrom(512)
        truncated = b"\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05hel"
        s.sendto(truncated, ("127.0.0.1", dns))
        reply, _ = s.recvfrom(512)
        assert reply[:2] == b"\xab\xcd" and reply[3] & 0x0F == 1  # FORMERR
        loop = b"\xab\xce\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01"
        s.sendto(loop, ("127.0.0.1", dns))  # a compression pointer to itself
        reply, _ = s.recvfrom(512)
        assert reply[3] & 0x0F == 1
    assert dig(dns, "hello.wasm.test", "A", "+short").strip() == "192.0.2.10"


def test_dns_compressed_question_is_understood(dns: int) -> None:
    # header + "hello.wasm.test" written as a pointer to a name placed after the question
    name = b"\x05hello\x04wasm\x04test\x00"
    q = b"\x00\x07\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + b"\xc0\x12" + b"\x00\x01\x00\x01" + name
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2.0)
        s.sendto(q, ("127.0.0.1", dns))
        reply, _ = s.recvfrom(512)
    assert reply[3] & 0x0F == 0 and reply[6:8] == b"\x00\x01" and reply.endswith(bytes([192, 0, 2, 10]))


def test_conflicting_listeners_are_refused(tmp_path: Path, built_examples: Path) -> None:
    from tests.e2e.conftest import CLI

    app = tmp_path / "two"
    app.mkdir()
    wasm = (EXAMPLES / "tcp-echo" / "c" / "tcp-echo.wasm").read_bytes()
    parts = []
    for name in ("one", "two"):
        (app / f"{name}.wasm").write_bytes(wasm)
        parts.append(f'[[component]]\nname = "{name}"\nsource = "{name}.wasm"\n'
                     '[[component.tcp]]\nlisten = "0.0.0.0:7"\n')
    (app / "wasm-server.toml").write_text("\n".join(parts))
    out = subprocess.run([*CLI, "up", str(app), "--no-build"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "conflicts with" in out.stderr and "--map-port" in out.stderr


def test_rust_echo_with_socat(built_examples: Path, server_factory: Factory) -> None:
    port = free_port()
    server_factory(EXAMPLES / "tcp-echo" / "rust", "--map-port", f"7=127.0.0.1:{port}", listen_check=port)
    out = subprocess.run(["socat", "-", f"TCP:127.0.0.1:{port}"], input=b"from rust\n" * 1000,
                         capture_output=True, timeout=10)
    assert out.stdout == b"from rust\n" * 1000


@pytest.fixture
def resp(built_examples: Path, server_factory: Factory) -> int:
    port = free_port()
    server_factory(EXAMPLES / "resp-kv" / "rust", "--map-port", f"6379=127.0.0.1:{port}", listen_check=port)
    return port


def cli(port: int, *args: str, stdin: bytes | None = None) -> str:
    out = subprocess.run(["redis-cli", "-p", str(port), *args], input=stdin, capture_output=True, timeout=15)
    return out.stdout.decode()


def test_resp_commands_with_redis_cli(resp: int) -> None:
    assert cli(resp, "PING") == "PONG\n"
    assert cli(resp, "ECHO", "hi there") == "hi there\n"
    assert cli(resp, "SET", "greeting", "hello world") == "OK\n"
    assert cli(resp, "GET", "greeting") == "hello world\n"
    assert cli(resp, "GET", "missing") == "\n"
    assert cli(resp, "INCR", "n") == "1\n" and cli(resp, "INCR", "n") == "2\n"
    assert "not an integer" in cli(resp, "INCR", "greeting")
    assert sorted(cli(resp, "KEYS", "*").split()) == ["greeting", "n"]
    assert cli(resp, "KEYS", "g*") == "greeting\n"
    assert cli(resp, "EXISTS", "greeting", "n", "nope") == "2\n"
    assert cli(resp, "DEL", "n", "nope") == "1\n" and cli(resp, "EXISTS", "n") == "0\n"
    assert "unknown command" in cli(resp, "FLUSHALL")


def test_resp_binary_safe_values_and_pipelining(resp: int) -> None:
    value = bytes(range(256))
    with socket.create_connection(("127.0.0.1", resp), timeout=5) as s:
        frames = b"".join(
            b"*3\r\n$3\r\nSET\r\n$1\r\n" + bytes([65 + i]) + b"\r\n$256\r\n" + value + b"\r\n" for i in range(10)
        ) + b"*2\r\n$3\r\nGET\r\n$1\r\nC\r\n"
        for i in range(0, len(frames), 7):  # split mid-frame: the guest buffers per connection
            s.sendall(frames[i : i + 7])
        expected = b"+OK\r\n" * 10 + b"$256\r\n" + value + b"\r\n"
        got = b""
        while len(got) < len(expected):
            chunk = s.recv(65536)
            assert chunk
            got += chunk
        assert got == expected


def test_resp_garbage_frame_gets_an_error_and_a_close(resp: int) -> None:
    with socket.create_connection(("127.0.0.1", resp), timeout=5) as s:
        s.sendall(b"*1\r\n$x\r\n")
        assert s.recv(1000).startswith(b"-ERR Protocol error")
        assert s.recv(1000) == b""
    assert cli(resp, "PING") == "PONG\n"


def _resp_command(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def _recv_exactly(s: socket.socket, n: int) -> bytes:
    got = b""
    while len(got) < n:
        chunk = s.recv(65536)
        assert chunk, f"closed after {got!r}"
        got += chunk
    return got


def test_resp_pipelined_batch_split_across_reads_gets_every_reply_in_order(resp: int) -> None:
    # a pipeline of writes and reads of the same keys, cut into pieces that arrive as separate
    # reads (each piece is sent after the previous one was surely read): every reply, in order,
    # and each GET sees the SET before it in the same pipeline
    commands, expected = [], b""
    for i in range(40):
        key, value = b"split:%d" % (i % 5), b"v%d-" % i + bytes(range(i % 7, 40))
        commands += [_resp_command(b"SET", key, value), _resp_command(b"GET", key), _resp_command(b"INCR", b"split:n")]
        expected += b"+OK\r\n" + b"$%d\r\n%s\r\n" % (len(value), value) + b":%d\r\n" % (i + 1)
    stream = b"".join(commands)
    with socket.create_connection(("127.0.0.1", resp), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for start in range(0, len(stream), 997):  # a prime: pieces end anywhere in a frame
            s.sendall(stream[start:start + 997])
            time.sleep(0.01)
        assert _recv_exactly(s, len(expected)) == expected


def test_resp_partial_command_at_a_read_boundary_is_answered_when_complete(resp: int) -> None:
    first = _resp_command(b"SET", b"partial", b"hello world")
    with socket.create_connection(("127.0.0.1", resp), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(b"*1\r\n$4\r\nPING\r\n" + first[:-7])  # a whole PING, then a SET cut inside its value
        assert _recv_exactly(s, 7) == b"+PONG\r\n"  # answered although a partial command follows it
        time.sleep(0.3)
        s.setblocking(False)
        with pytest.raises(BlockingIOError):
            s.recv(100)  # nothing for the incomplete SET
        s.setblocking(True)
        s.sendall(first[-7:] + _resp_command(b"GET", b"partial"))
        assert _recv_exactly(s, 5 + 17) == b"+OK\r\n$11\r\nhello world\r\n"


def test_resp_with_redis_benchmark(resp: int) -> None:
    out = subprocess.run(["redis-benchmark", "-p", str(resp), "-t", "set,get", "-n", "2000", "-P", "16", "-q"],
                         capture_output=True, text=True, timeout=120)
    assert "SET:" in out.stdout and "GET:" in out.stdout


def test_workers_share_tcp_and_http_ports(built_examples: Path, server_factory: Factory) -> None:
    import httpx

    port = free_port()
    s = server_factory(EXAMPLES / "gallery", "--workers", "2", "--map-port", f"7=127.0.0.1:{port}",
                       "--map-port", f"53=127.0.0.1:{free_udp_port()}", "--map-port", f"6379=127.0.0.1:{free_port()}",
                       "--map-port", f"3478=127.0.0.1:{free_udp_port()}",
                       "--map-port", f"3479=127.0.0.1:{free_udp_port()}")
    pids = set()
    for _ in range(40):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(b"ping")
            assert c.recv(10) == b"ping"
        assert httpx.get(s.url + "/hello/c").status_code == 200
    out = subprocess.run(["pgrep", "-P", str(s.proc.pid)], capture_output=True, text=True)
    pids = set(out.stdout.split())
    assert len(pids) == 2  # two workers under the supervisor
    counts = [int(httpx.post(s.url + "/count/c").text) for _ in range(10)]
    assert counts == sorted(counts) and len(set(counts)) == 10  # one KV file, atomic across workers
    assert s.stop() == 0


@pytest.fixture
def tcp_probe(server_factory: Factory, tmp_path: Path) -> int:
    from wasm_server.toolchain import c as cc

    app = tmp_path / "probe"
    app.mkdir()
    source = Path(__file__).parents[1] / "guests" / "c" / "tcp_probe.c"
    assert cc.main(["-o", str(app / "probe.wasm"), str(source)]) == 0
    (app / "wasm-server.toml").write_text('[[component]]\nname = "probe"\nsource = "probe.wasm"\n'
                                          '[[component.tcp]]\nlisten = "127.0.0.1:1"\n')
    port = free_port()
    server_factory(app, "--map-port", f"1={port}", listen_check=port)
    return port


def test_state_is_per_connection_and_a_trap_closes_only_its_connection(tcp_probe: int) -> None:
    a = socket.create_connection(("127.0.0.1", tcp_probe), timeout=5)
    b = socket.create_connection(("127.0.0.1", tcp_probe), timeout=5)
    a.sendall(b"x")
    assert a.recv(100) == b"1:x"
    a.sendall(b"y")
    assert a.recv(100) == b"2:y"
    b.sendall(b"z")
    assert b.recv(100) == b"1:z"  # b's instance has its own counter
    b.sendall(b"trap")
    assert b.recv(100) == b""  # b is closed …
    a.sendall(b"w")
    assert a.recv(100) == b"3:w"  # … a is not, and kept its state
    a.sendall(b"peer")
    assert a.recv(100).decode().startswith("peer 127.0.0.1:")
    a.sendall(b"bye")
    assert a.recv(100) == b""
    a.close()
    b.close()
