"""A real `wasm-server studio` (and, for deploys, a real `wasm-server up --admin`) on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import CLI, ROOT, free_port, wait_port

MUTATE = {"x-wasm-server-studio": "1"}


@dataclass
class Studio:
    """A running studio and an httpx client for it."""

    proc: subprocess.Popen[bytes]
    url: str
    workspace: Path
    log_path: Path
    client: httpx.Client

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def build(self, service: str) -> str:
        r = self.client.post(f"/api/build?service={service}", headers=MUTATE)
        assert r.status_code == 202, r.text
        return str(r.json()["build"])

    def events(self, build: str, timeout: float = 600) -> list[tuple[str, dict[str, object]]]:
        """The build's server-sent events until ``done`` (read as a stream, as a browser does)."""
        out: list[tuple[str, dict[str, object]]] = []
        kind = ""
        with self.client.stream("GET", f"/api/build/events?build={build}", timeout=timeout) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    out.append((kind, json.loads(line[6:])))
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.client.close()


def start_studio(workspace: Path, *extra: str, env: dict[str, str] | None = None) -> Studio:
    port = free_port()
    log_path = workspace.parent / f"studio-{port}.log"
    with open(log_path, "wb") as logf:
        proc = subprocess.Popen([*CLI, "studio", str(workspace), "--listen", f"127.0.0.1:{port}", *extra],
                                stdout=logf, stderr=logf, cwd=ROOT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    try:
        wait_port("127.0.0.1", port, proc)
    except BaseException:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"the studio did not start:\n{log_path.read_text(errors='replace')}") from None
    url = f"http://127.0.0.1:{port}"
    return Studio(proc, url, workspace, log_path, httpx.Client(base_url=url, timeout=60))


@pytest.fixture
def studio_factory(tmp_path: Path) -> Iterator[Callable[..., Studio]]:
    started: list[Studio] = []

    def factory(*extra: str, workspace: Path | None = None, env: dict[str, str] | None = None) -> Studio:
        s = start_studio(workspace or tmp_path / "ws", *extra, env=env)
        started.append(s)
        return s

    yield factory
    for s in started:
        s.stop()


@dataclass
class AdminServer:
    """`wasm-server up --admin` serving only what is deployed to it."""

    proc: subprocess.Popen[bytes]
    url: str
    admin_url: str
    token: str


@pytest.fixture
def admin_server(tmp_path: Path) -> Iterator[AdminServer]:
    token = "studio-test-token"
    port, admin = free_port(), free_port()
    log_path = tmp_path / "up.log"
    with open(log_path, "wb") as logf:
        proc = subprocess.Popen([*CLI, "up", "--listen", f"127.0.0.1:{port}", "--admin", f"127.0.0.1:{admin}",
                                 "--data-dir", str(tmp_path / "up-data")], stdout=logf, stderr=logf, cwd=ROOT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", "WASM_SERVER_ADMIN_TOKEN": token})
    try:
        wait_port("127.0.0.1", admin, proc)
        yield AdminServer(proc, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin}", token)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
