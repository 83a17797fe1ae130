"""Crash consistency: `kill -9` the server (every worker) again and again while clients
increment a KV counter; after each restart every acknowledged increment is there,
nothing was invented, and the SQLite file passes its integrity check."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.e2e.conftest import Server
from tests.e2e.wat_app import write_app
from tests.guests import wat

Factory = Callable[..., Server]
ROUNDS = 3
CLIENTS = 4


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (the worker processes of a --workers server)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def kill_all(server: Server) -> None:
    """SIGKILL the workers and the parent at once: nothing gets to clean up."""
    for pid in [*children(server.proc.pid), server.proc.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    server.proc.wait(10)
    deadline = time.monotonic() + 10
    while children(server.proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def stored(data: Path) -> int:
    db = sqlite3.connect(data / "kv.sqlite3")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute("SELECT value FROM kv WHERE key = ?", (b"counter",)).fetchall()
        return int(rows[0][0]) if rows else 0
    finally:
        db.close()


def test_acknowledged_increments_survive_repeated_kill_9(server_factory: Factory, tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", {
        "counter": (wat.guest(wat.INCR), 'routes = ["/count"]\nkey_value_stores = ["default"]'),
    })
    data = tmp_path / "data"
    acknowledged = attempted = 0
    for _ in range(ROUNDS):
        server = server_factory(app, "--workers", "2", data_dir=data)
        stop = threading.Event()
        counts: list[tuple[int, int]] = []

        def client(url: str = server.url, stop: threading.Event = stop,
                   counts: list[tuple[int, int]] = counts) -> None:
            ok = tried = 0
            with httpx.Client(timeout=5) as c:
                while not stop.is_set():
                    tried += 1
                    try:
                        if c.post(f"{url}/count").status_code == 200:
                            ok += 1
                    except httpx.HTTPError:
                        pass  # in flight when the server died: not acknowledged
            counts.append((ok, tried))

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        kill_all(server)  # mid-traffic
        stop.set()
        for t in threads:
            t.join(10)
        acknowledged += sum(ok for ok, _ in counts)
        attempted += sum(tried for _, tried in counts)
        value = stored(data)
        assert acknowledged <= value <= attempted, (acknowledged, value, attempted)
    assert acknowledged > 50  # the test did exercise the store


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (in a container nobody may reap an orphan)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_end_when_the_supervisor_is_killed(server_factory: Factory, tmp_path: Path) -> None:
    """`kill -9` of the supervisor alone (the OOM killer's choice): its workers must not go on
    serving the ports with nobody to stop them; they shut down and the port closes."""
    app = write_app(tmp_path / "app", {
        "counter": (wat.guest(wat.INCR), 'routes = ["/count"]\nkey_value_stores = ["default"]'),
    })
    server = server_factory(app, "--workers", "2", data_dir=tmp_path / "data")
    deadline = time.monotonic() + 30
    while len(workers := children(server.proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(workers) == 2
    assert httpx.post(f"{server.url}/count").status_code == 200
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)
    deadline = time.monotonic() + 30  # a bound on waiting, not a measure: shutdown takes well under a second
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_running(pid) for pid in workers), "a worker outlived its supervisor"
    try:
        httpx.get(server.url, timeout=2)
    except httpx.TransportError:
        pass
    else:
        raise AssertionError("the port still answers after the supervisor and its workers are gone")
