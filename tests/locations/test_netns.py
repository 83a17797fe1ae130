"""The two-location network: a reaches b only through the latency proxy, and nothing is left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.locations.latency_proxy import control
from tests.locations.netns import NetnsError, Network, remove_leftovers, why_unavailable

ROOT = Path(__file__).resolve().parents[2]
REASON = why_unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

# connect from inside a namespace; print "ok <reply>" or the error's class
CONNECT = """
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) as s:
        s.sendall(b"hi")
        print("ok", s.recv(100).decode())
except OSError as exc:
    print(type(exc).__name__)
"""
ECHO = """
import socketserver, sys
class H(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(b"echo:" + self.request.recv(100))
socketserver.TCPServer.allow_reuse_address = True
with socketserver.TCPServer((sys.argv[1], 5000), H) as s:
    print("ready", flush=True)
    s.serve_forever()
"""


def namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


def test_a_reaches_b_only_through_the_proxy_and_close_removes_everything(tmp_path: Path) -> None:
    net = Network()
    net.create()
    procs: list[subprocess.Popen[str]] = []
    try:
        a, b = net.location("a"), net.location("b")
        assert {a.netns, b.netns, net.wan} <= namespaces()
        echo = subprocess.Popen(net.exec(b.netns, [sys.executable, "-c", ECHO, b.address]),
                                stdout=subprocess.PIPE, text=True)
        procs.append(echo)
        sock = tmp_path / "wan.sock"
        proxy = subprocess.Popen(net.exec(net.wan, [
            sys.executable, "-m", "tests.locations.latency_proxy", "--delay-ms", "20", "--control", str(sock),
            "--route", f"{b.face}:5000={b.address}:5000"]), cwd=ROOT, stdout=subprocess.PIPE, text=True)
        procs.append(proxy)
        assert echo.stdout is not None and echo.stdout.readline().strip() == "ready"
        assert proxy.stdout is not None and proxy.stdout.readline().strip() == "ready"

        def connect_from_a(host: str) -> str:
            out = subprocess.run(net.exec(a.netns, [sys.executable, "-c", CONNECT, host, "5000"]),
                                 capture_output=True, text=True, timeout=30)
            return out.stdout.strip()

        assert connect_from_a(b.face) == "ok echo:hi"  # through the wan namespace's proxy
        assert connect_from_a(b.address) != "ok echo:hi"  # no route to b itself: unreachable
        control(sock, "cut")
        assert connect_from_a(b.face) == "ConnectionRefusedError"
        control(sock, "heal")
        assert connect_from_a(b.face) == "ok echo:hi"
    finally:
        for p in procs:
            p.kill()
            p.wait()
            if p.stdout is not None:
                p.stdout.close()
        net.close()
    assert not {a.netns, b.netns, net.wan} & namespaces()


def test_a_failed_setup_removes_what_it_made() -> None:
    net = Network(token=f"wl{os.getpid()}x{'beef'}")
    net.create()
    clash = Network(token=net.token)  # the same names again: the second `ip netns add` fails
    try:
        with pytest.raises(NetnsError, match="netns add"):
            clash.create()
        assert clash.created == []
    finally:
        net.close()
    assert not any(n.startswith(net.token) for n in namespaces())


def test_leftovers_of_a_dead_run_are_removed_and_live_ones_kept() -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    stale = f"wl{dead.stdout.strip()}x0bad-wan"  # that pid has exited
    live = Network()
    subprocess.run(["ip", "netns", "add", stale], check=True)
    orphan = subprocess.Popen(["ip", "netns", "exec", stale, "sleep", "600"])  # what a killed run left running
    live.create()
    try:
        assert stale in remove_leftovers()
        assert stale not in namespaces() and live.wan in namespaces()
        assert orphan.wait(10) == -9  # killed, so the namespace really goes
    finally:
        live.close()
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()
        subprocess.run(["ip", "netns", "del", stale], capture_output=True)
