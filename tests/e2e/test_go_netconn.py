"""The Go SDK's net.PacketConn and net.Listener under a real ``wasm-server up``
(guest: tests/guests/go/netconn): goroutines a datagram wakes run before the event
returns, and timers and read deadlines fire between events through the host's
TIMER wake-up (docs/abi.md, ``wake_after``), over IPv4 and IPv6."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import CLI, ROOT, Server, free_port, start_server

# the module fixtures build the guest and pion's native client from a cold Go cache in CI (and
# Wasmtime compiles the module) before the first test: more than pytest's 120 s default
pytestmark = pytest.mark.timeout(600)

GUEST = ROOT / "tests" / "guests" / "go" / "netconn"


@pytest.fixture(scope="module")
def netconn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, int, int, int]]:
    """One server for the module: (server, UDP port on 127.0.0.1, on ::1, TCP port)."""
    proc = subprocess.run([*CLI, "build", str(GUEST / "wasm-server.toml")], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    u4, u6, tcp = free_port(), free_port("::1"), free_port()
    tmp = tmp_path_factory.mktemp("netconn")
    server = start_server(GUEST, tmp / "data", "--map-port", f"40001={u4}", "--map-port", f"40003={u6}",
                          "--map-port", f"40002={tcp}")
    yield server, u4, u6, tcp
    server.stop()


def udp(host: str) -> socket.socket:
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, 0))
    s.settimeout(5)
    return s


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_packetconn_echoes_from_a_goroutine_blocked_in_readfrom(netconn: tuple[Server, int, int, int],
                                                                 host: str) -> None:
    _, u4, u6, _ = netconn
    port = u6 if ":" in host else u4
    with udp(host) as s:
        for i in range(20):
            s.sendto(f"echo:{i}".encode(), (host, port))
            data, addr = s.recvfrom(100)
            assert (data, addr[:2]) == (str(i).encode(), (host, port))
        s.sendto(b"addr", (host, port))
        local, peer = s.recv(200).decode().split()
        shown = f"[{host}]" if ":" in host else host
        assert local == f"127.0.0.1:{u4}"  # LocalAddr: the first listener as bound (after --map-port)
        assert peer == f"{shown}:{s.getsockname()[1]}"  # the sender as ReadFrom returned it


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_a_timer_fires_between_datagrams(netconn: tuple[Server, int, int, int], host: str) -> None:
    _, u4, u6, _ = netconn
    port = u6 if ":" in host else u4
    with udp(host) as s:
        start = time.monotonic()
        s.sendto(b"later:x", (host, port))
        # no other datagram arrives: only the host's TIMER event can run the sleeping goroutine
        assert s.recv(100) == b"late:x"
        assert time.monotonic() - start >= 0.15


def test_a_read_deadline_fires_between_datagrams(netconn: tuple[Server, int, int, int]) -> None:
    _, u4, _, _ = netconn
    with udp("127.0.0.1") as s:
        start = time.monotonic()
        s.sendto(b"watch", ("127.0.0.1", u4))
        assert s.recv(100) == b"idle"  # the server loop's 300 ms read deadline passed
        assert time.monotonic() - start >= 0.3


def test_an_http_instance_learns_the_udp_listeners_addresses(netconn: tuple[Server, int, int, int]) -> None:
    server, u4, u6, _ = netconn
    r = httpx.get(server.url + "/addrs")
    assert r.text.splitlines() == [f"127.0.0.1:{u4}", f"[::1]:{u6}"]


def test_listener_accepts_tcp_connections_as_net_conns(netconn: tuple[Server, int, int, int]) -> None:
    _, _, _, tcp = netconn
    with socket.create_connection(("127.0.0.1", tcp), timeout=5) as c:
        f = c.makefile("rb")
        assert f.readline().decode().split() == ["hi", f"127.0.0.1:{c.getsockname()[1]}", f"127.0.0.1:{tcp}"]
        c.sendall(b"ping\n")
        assert f.readline() == b"ping\n"
        c.shutdown(socket.SHUT_WR)  # io.Copy sees io.EOF and the guest closes
        assert f.read() == b""
