"""Real servers on loopback, started the way users start them (`wasm-server up`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CLI = [sys.executable, "-m", "wasm_server.cli.main"]


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_port(host: str, port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"server did not listen on {host}:{port}")


@dataclass
class Server:
    """A running ``wasm-server up`` process."""

    proc: subprocess.Popen[bytes]
    url: str
    port: int
    data_dir: Path
    log_path: Path
    log_file: Any

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, *texts: str, timeout: float = 5.0) -> str:
        """The log once every one of ``texts`` is in it (guest output reaches it asynchronously)."""
        deadline = time.monotonic() + timeout
        while not all(t in (log := self.log()) for t in texts):
            if time.monotonic() > deadline:
                raise AssertionError(f"{texts!r} not all in the server log:\n{log}")
            time.sleep(0.05)
        return log

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        return self.proc.returncode


def start_server(path: Path, data_dir: Path, *extra: str, listen: list[str] | None = None,
                 listen_check: int | bool | None = True) -> Server:
    """Start ``wasm-server up``; waits for the HTTP port, or for ``listen_check`` (a TCP
    port to wait on), or for the start-up line when it is None (UDP-only apps)."""
    port = free_port()
    listens = listen or [f"127.0.0.1:{port}"]
    args = [*CLI, "up", str(path), "--no-build", "--data-dir", str(data_dir)]
    for addr in listens:
        args += ["--listen", addr]
    log_path = data_dir.parent / f"server-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    logf = open(log_path, "wb")
    proc = subprocess.Popen([*args, *extra], stdout=logf, stderr=logf, cwd=ROOT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    first = listens[0]
    host, _, p = first.rpartition(":")
    try:
        if listen_check is True:
            wait_port(host.strip("[]"), int(p), proc)
        elif isinstance(listen_check, int):
            wait_port("127.0.0.1", listen_check, proc)
        else:
            deadline = time.monotonic() + 60
            while b"wasm-server serving" not in log_path.read_bytes():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("no start-up line")
                time.sleep(0.05)
    except BaseException:
        proc.kill()
        proc.wait()
        logf.close()
        raise RuntimeError(f"server did not start:\n{log_path.read_text(errors='replace')}") from None
    return Server(proc, f"http://{first}", int(p), data_dir, log_path, logf)


@pytest.fixture(scope="session")
def built_examples() -> Path:
    """Build every example once per test session (zig's first build takes a while).

    Not the Python and JavaScript ones (wasi:http components, about a minute each to build):
    tests/sdk/test_wasi_http_guests.py and the parity suite build those they serve, and the
    gallery builds its /hello/python and /hello/js."""
    manifests = [m for m in sorted(EXAMPLES.glob("*/*/wasm-server.toml")) if m.parent.name not in ("python", "js")]
    for manifest in [*manifests, EXAMPLES / "gallery" / "wasm-server.toml"]:
        proc = subprocess.run([*CLI, "build", str(manifest)], cwd=ROOT, capture_output=True, text=True,
                              timeout=900)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return EXAMPLES


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[object]:
    servers: list[Server] = []

    def factory(path: Path, *extra: str, data_dir: Path | None = None,
                listen: list[str] | None = None, listen_check: int | bool | None = True) -> Server:
        s = start_server(path, data_dir or tmp_path / "data", *extra, listen=listen, listen_check=listen_check)
        servers.append(s)
        if "--admin" in extra:  # the admin listener opens after the app's: wait for it too
            host, _, port = extra[extra.index("--admin") + 1].rpartition(":")
            wait_port(host.strip("[]"), int(port), s.proc)
        return s

    yield factory
    for s in servers:
        s.stop(signal.SIGKILL, timeout=5)


class Upstream(BaseHTTPRequestHandler):
    """An outbound destination for guests: ``upstream saw <path>`` on every GET."""

    #: the ``traceparent`` header of each request, in order (None when it had none)
    traceparents: list[str | None] = []

    def do_GET(self) -> None:
        Upstream.traceparents.append(self.headers.get("traceparent"))
        body = f"upstream saw {self.path}\n".encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def upstream() -> Iterator[int]:
    """The port of an :class:`Upstream` on 127.0.0.1 (a module's own ``upstream`` fixture wins)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()
