"""`wasm-server up` of a plain HTTP app imports only what serving it needs (issue 13, start-up time).

Each test runs the real CLI entry point in a fresh interpreter, answers one request on
loopback, stops it with SIGTERM and lists ``sys.modules``: which modules were imported is
what start-up time is made of, and unlike a timing it is the same on every machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import free_port
from tests.e2e.wat_app import write_app
from tests.guests import wat

# Runs `main(["up", ...])` as the console script does; a thread sends one GET over a raw socket
# (http.client or urllib would import the very modules under test), then SIGTERMs the process.
_UP_ONCE = r"""
import json, os, signal, socket, sys, threading, time
from wasm_server.cli.main import main

app, port, data = sys.argv[1], int(sys.argv[2]), sys.argv[3]
status = []

def poke():
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not status:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"GET /hello HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
                status.append(s.recv(12).decode())
        except OSError:
            time.sleep(0.02)
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=poke, daemon=True).start()
code = main(["up", app, "--no-build", "--listen", f"127.0.0.1:{port}", "--data-dir", data])
modules = sorted(sys.modules)
print(json.dumps({"code": code, "status": status, "modules": modules}))
"""

#: optional or heavy modules a plain HTTP app does not need: TLS, cluster, admin, raw sockets,
#: reload, deploy/toolchains, outbound HTTP clients, and stdlib packages that cost tens of ms
NOT_FOR_PLAIN_UP = [
    "wasm_server.net.tls", "wasm_server.net.tcp", "wasm_server.net.udp", "wasm_server.net.session",
    "wasm_server.pubsub.redis", "wasm_server.kv.redis", "wasm_server.cli.control", "wasm_server.cli.reload",
    "wasm_server.cli.devcert", "wasm_server.admin", "wasm_server.cluster", "wasm_server.appregistry",
    "wasm_server.deployments", "cassandra",
    "wasm_server.toolchain", "httpx", "redis", "cryptography", "yaml",
    "importlib.metadata", "email", "zipfile", "tempfile", "urllib.request", "http.client",
    # the parsers of other subcommands (cli/main.py builds only the one named) and what
    # argparse's default help formatter imports (shutil, and with it bz2 and lzma)
    "wasm_server.cli.client", "wasm_server.cli.cache", "shutil", "bz2", "lzma",
]


def _up_once(app: Path, data: Path, cache: Path) -> dict[str, object]:
    env = {"PATH": "/usr/bin:/bin", "WASM_SERVER_CACHE_DIR": str(cache), "HOME": str(data)}
    out = subprocess.run([sys.executable, "-c", _UP_ONCE, str(app), str(free_port()), str(data)],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _loaded(modules: list[str], name: str) -> bool:
    return name in modules or any(m.startswith(name + ".") for m in modules)


def test_plain_up_does_not_import_optional_modules(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", {"hello": (wat.guest(), 'routes = ["/hello/..."]')})
    _up_once(app, tmp_path / "data", tmp_path / "cache")  # the first start fills the compiled-module cache
    result = _up_once(app, tmp_path / "data", tmp_path / "cache")
    assert result["code"] == 0 and result["status"] == ["HTTP/1.1 200"]
    modules = result["modules"]
    assert isinstance(modules, list)
    assert "wasm_server.app" in modules and "wasmtime" in modules  # it did load the app this way
    assert [m for m in NOT_FOR_PLAIN_UP if _loaded(modules, m)] == []


def test_version_and_help_do_not_load_the_engine() -> None:
    for flag in ("--version", "--help"):
        code = ("import json, sys\nfrom wasm_server.cli.main import main\n"
                f"try:\n    main([{flag!r}])\nexcept SystemExit:\n    pass\nprint(json.dumps(sorted(sys.modules)))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
        modules = json.loads(out.stdout.strip().splitlines()[-1])
        heavy = ["wasmtime", "asyncio", "wasm_server.engine", "wasm_server.config", "wasm_server.manifest",
                 "wasm_server.build", "tomllib"]
        assert [m for m in heavy if _loaded(modules, m)] == [], flag


def test_http_date_is_what_email_utils_formatdate_gave() -> None:
    from email.utils import formatdate

    from wasm_server.protocol.http1 import imf_fixdate

    for seconds in (0, 784111777, 951782400, 1700000000, 2000000000, 4102444799):
        assert imf_fixdate(seconds) == formatdate(seconds, usegmt=True)
