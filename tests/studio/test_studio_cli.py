"""`wasm-server studio`: its help, and the refusal to listen off loopback without a token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from wasm_server.studio.serve import is_loopback

CLI = [sys.executable, "-m", "wasm_server.cli.main"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "WASM_SERVER_ADMIN_TOKEN"}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, env={**base, **(env or {})})


def test_help_names_every_option_and_the_security_rule() -> None:
    out = run("studio", "--help")
    assert out.returncode == 0
    for word in ("--listen", "--admin", "--token", "--server-url", "--builds", "--build-timeout", "DIR",
                 "loopback", "docs/studio.md"):
        assert word in out.stdout, word
    assert "wasm-server studio [DIR]" in run("--help").stdout


def test_a_non_loopback_listen_without_a_token_is_refused(tmp_path: Path) -> None:
    out = run("studio", str(tmp_path / "ws"), "--listen", "0.0.0.0:0")
    assert out.returncode == 2
    assert "needs the admin token (--token or $WASM_SERVER_ADMIN_TOKEN)" in out.stderr
    assert "Traceback" not in out.stderr


def test_bad_options_are_refused_clearly(tmp_path: Path) -> None:
    assert "invalid choice" in run("studio", "--builds", "3").stderr
    bad = run("studio", str(tmp_path), "--listen", "nowhere")
    assert bad.returncode == 2 and "is not HOST:PORT" in bad.stderr


def test_is_loopback() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.2", "example.com"))
