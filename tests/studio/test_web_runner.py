"""The studio's in-browser runner (wasm_server/studio/web/src/runner.mjs, worker.mjs,
tryrunner.mjs): its node:test suites on real example modules and small WAT guests."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import CLI, EXAMPLES, ROOT
from tests.guests import wat
from tests.guests.wat_js import conn_guest, post_loop_guest, var_guest

WEB = ROOT / "wasm_server" / "studio" / "web"
SLEEPER = ROOT / "tests" / "guests" / "go" / "sleeper"
pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")

# (example, language): what the runner suites load, as <example>-<language>.wasm
C_EXAMPLES = ("hello", "kv-counter", "echo", "tcp-echo", "ws-chat", "wagi-hello", "sse-clock", "dns")
BUILT = [(name, "c") for name in C_EXAMPLES] + [
    (name, lang) for lang in ("cpp", "rust", "go", "ts") for name in ("hello", "kv-counter")
] + [("wagi-hello", "go")]


def _output(example: Path) -> Path:
    """The built module of an example: the `source` its manifest names."""
    match = re.search(r'^source\s*=\s*"([^"]+)"', (example / "wasm-server.toml").read_text(), re.M)
    assert match, f"{example}: no source in wasm-server.toml"
    return example / match.group(1)


@pytest.fixture(scope="module")
def modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The examples the suites need, built, plus the WAT guests."""
    out = tmp_path_factory.mktemp("studio-runner-modules")
    for name, lang in BUILT:
        example = EXAMPLES / name / lang
        started = time.monotonic()
        print(f"building {name}/{lang}", flush=True)
        built = subprocess.run([*CLI, "build", str(example)], cwd=ROOT, capture_output=True, text=True, timeout=900)
        assert built.returncode == 0, built.stdout + built.stderr
        print(f"built {name}/{lang} in {time.monotonic() - started:.1f} s", flush=True)
        shutil.copy(_output(example), out / f"{name}-{lang}.wasm")
    built = subprocess.run([*CLI, "go-build", "-o", str(out / "sleeper-go.wasm")], cwd=SLEEPER, capture_output=True,
                           text=True, timeout=900)
    assert built.returncode == 0, built.stdout + built.stderr
    (out / "conn.wasm").write_bytes(conn_guest())
    (out / "var.wasm").write_bytes(var_guest())
    (out / "post-loop.wasm").write_bytes(post_loop_guest())
    (out / "trap.wasm").write_bytes(wat.guest(wat.TRAP))
    (out / "loop.wasm").write_bytes(wat.guest(wat.LOOP))
    (out / "init-loop.wasm").write_bytes(wat.guest(extra='(func (export "_initialize") (loop $l (br $l)))'))
    (out / "fail.wasm").write_bytes(wat.guest("(return (i64.const -1))"))
    return out


@pytest.mark.timeout(1800)
def test_runner_suites_pass_with_every_test_run(modules: Path) -> None:
    out = subprocess.run(["node", "--test", "test/runner.test.mjs", "test/tryrunner.test.mjs"], cwd=WEB,
                         capture_output=True, text=True, timeout=300,
                         env={"WASM_SERVER_TEST_MODULES": str(modules), "PATH": "/usr/bin:/bin:/usr/local/bin"})
    assert out.returncode == 0, out.stdout + out.stderr
    counts = dict(re.findall(r"^# (pass|fail|skipped) (\d+)$", out.stdout, re.M))
    assert counts["fail"] == "0" and counts["skipped"] == "0" and int(counts["pass"]) >= 34
