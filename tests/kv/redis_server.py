"""One real redis-server (Debian's) on a loopback port for the whole test session."""

from __future__ import annotations

import atexit
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

_server: tuple[subprocess.Popen[bytes], str] | None = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_url() -> str:
    """The URL of the session's Redis, started on first use (skips the test if redis-server is absent)."""
    global _server
    if _server is None:
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is not installed (scripts/setup installs it)")
        port = _free_port()
        workdir = tempfile.mkdtemp(prefix="kv-redis-")
        proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no", "--dir", workdir],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        _server = (proc, f"redis://127.0.0.1:{port}/0")

        def stop(p: subprocess.Popen[bytes] = proc, d: str = workdir) -> None:
            p.kill()
            p.wait()
            shutil.rmtree(d, ignore_errors=True)

        atexit.register(stop)
    return _server[1]
