"""examples/stun/go — a STUN server on pion/stun in the Go SDK's PacketConn — under a real
``wasm-server up``, asked by pion's own STUN client built natively (examples/stun/client):
every XOR-MAPPED-ADDRESS is the client's real source address and port, over IPv4 and IPv6."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import CLI, EXAMPLES, ROOT, Server, start_server
from wasm_server.toolchain import go

# the module fixtures build the guest and pion's native client from a cold Go cache in CI (and
# Wasmtime compiles the module) before the first test: more than pytest's 120 s default
pytestmark = pytest.mark.timeout(600)

STUN = EXAMPLES / "stun"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pion's STUN client, built natively from the Go module proxy."""
    out = tmp_path_factory.mktemp("stunclient") / "stunclient"
    proc = subprocess.run([go.pick().go, "build", "-o", str(out), "."], cwd=STUN / "client", capture_output=True,
                          text=True, timeout=600, env={**os.environ, "GOTOOLCHAIN": "local"})
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def wasm() -> Path:
    proc = subprocess.run([*CLI, "build", str(STUN / "go" / "wasm-server.toml")], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return STUN / "go" / "stun.wasm"


@pytest.fixture(scope="module")
def server(wasm: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int, int]]:
    """The example's module on three listeners, 127.0.0.1, ::1 and a dual-stack [::]:
    (IPv4 port, IPv6 port, dual-stack port)."""
    app = tmp_path_factory.mktemp("stun-app")
    p4, p6, dual = free_udp_port("127.0.0.1"), free_udp_port("::1"), free_udp_port("::")
    (app / "wasm-server.toml").write_text(
        f'[[component]]\nname = "stun-go"\nsource = "{wasm}"\n'
        f'[[component.udp]]\nlisten = "127.0.0.1:{p4}"\n[[component.udp]]\nlisten = "[::1]:{p6}"\n'
        f'[[component.udp]]\nlisten = "[::]:{dual}"\n')
    s = start_server(app, app / "data", listen_check=None)
    yield p4, p6, dual
    s.stop()


def free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def ask(client: Path, target: str, n: int = 1) -> dict[str, object]:
    proc = subprocess.run([str(client), "-server", target, "-n", str(n)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out: dict[str, object] = json.loads(proc.stdout)
    return out


def test_an_ipv4_client_of_a_dual_stack_listener_is_mapped_as_ipv4(client: Path,
                                                                  server: tuple[int, int, int]) -> None:
    # the host sees [::ffff:127.0.0.1]:port; the answer must carry the IPv4 address (family 1)
    out = ask(client, f"127.0.0.1:{server[2]}", n=20)
    assert out["mapped"] == out["local"] and str(out["local"]).startswith("127.0.0.1:")


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_binding_answers_the_clients_own_address(client: Path, server: tuple[int, int, int], host: str) -> None:
    port = server[1] if ":" in host else server[0]
    shown = f"[{host}]" if ":" in host else host
    out = ask(client, f"{shown}:{port}", n=200)
    # the client checked all 200 answers; the last one is printed
    assert out["mapped"] == out["local"] and str(out["local"]).startswith(f"{shown}:")


def test_what_is_not_a_binding_request_gets_no_answer(client: Path, server: tuple[int, int, int]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        s.sendto(b"not stun at all", ("127.0.0.1", server[0]))
        with pytest.raises(TimeoutError):
            s.recv(100)
    assert ask(client, f"127.0.0.1:{server[0]}")["requests"] == 1  # and the server still answers


def test_the_examples_manifest_with_its_port_mapped(client: Path, wasm: Path, tmp_path: Path) -> None:
    port = free_udp_port("127.0.0.1")
    s: Server = start_server(STUN / "go", tmp_path / "data", "--map-port", f"3478=127.0.0.1:{port}",
                             listen_check=None)
    try:
        assert f"udp://127.0.0.1:{port}" in s.log() and "(manifest: udp://0.0.0.0:3478)" in s.log()
        out = ask(client, f"127.0.0.1:{port}")
        assert out["mapped"] == out["local"]
    finally:
        s.stop()
