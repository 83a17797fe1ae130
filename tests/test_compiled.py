"""The mypyc-compiled request path and its pure-Python fallback (wasm_server/__init__.py).

scripts/setup compiles :data:`wasm_server.COMPILED` in place; ``WASM_SERVER_PURE_PYTHON=1``
runs their sources instead (scripts/test runs the protocol, routing and codec tests that way
too), and a source changed since its compilation runs as Python rather than the stale build.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import wasm_server
from wasm_server import COMPILED, PURE_ENV, _SourceFallback, compiled_is_current

ROOT = Path(__file__).resolve().parent.parent
PURE = os.environ.get(PURE_ENV, "") not in ("", "0")
WHICH = "import wasm_server, sys; mods = wasm_server.compiled_modules(); " \
        "print(','.join(mods)); print(','.join(sys.modules[m].__file__ for m in wasm_server.COMPILED))"


def _loaded(pure: bool) -> tuple[list[str], list[str]]:
    env = {k: v for k, v in os.environ.items() if k != PURE_ENV}
    if pure:
        env[PURE_ENV] = "1"
    out = subprocess.run([sys.executable, "-c", WHICH], env=env, cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stderr == "", out.stderr  # no "changed since it was compiled" warning
    compiled, files = out.stdout.splitlines()
    return [m for m in compiled.split(",") if m], files.split(",")


def test_the_checkout_is_compiled_from_its_present_sources() -> None:
    # scripts/setup recompiles whenever a compiled source changed; a stale build would run as Python
    assert compiled_is_current(), "the mypyc build is missing or stale: run scripts/setup"


def test_by_default_every_hot_module_is_the_compiled_one() -> None:
    compiled, files = _loaded(pure=False)
    assert compiled == list(COMPILED)
    assert all(f.endswith(".so") for f in files), files


def test_the_environment_variable_forces_the_python_sources() -> None:
    compiled, files = _loaded(pure=True)
    assert compiled == []
    assert files == [str(ROOT / (m.replace(".", "/") + ".py")) for m in COMPILED]


def test_this_process_runs_what_the_environment_asks_for() -> None:
    # the suite runs compiled, and its fast part again under WASM_SERVER_PURE_PYTHON=1 (scripts/test)
    assert wasm_server.compiled_modules() == (() if PURE else COMPILED)


def _all_current() -> dict[str, str]:
    return {m: hashlib.sha256((ROOT / (m.replace(".", "/") + ".py")).read_bytes()).hexdigest() for m in COMPILED}


def test_a_source_changed_since_compilation_runs_as_python(capsys: pytest.CaptureFixture[str]) -> None:
    name = "wasm_server.protocol.http1"
    stale = _SourceFallback(pure=False, recorded={**_all_current(), name: "0" * 64})
    spec = stale.find_spec(name, None)
    assert spec is not None and spec.origin == str(ROOT / "wasm_server/protocol/http1.py")
    assert "http1.py changed since compiled" in capsys.readouterr().err


def test_one_changed_source_makes_every_compiled_module_run_as_python() -> None:
    # compiled modules of one group call each other's compiled code directly: a changed
    # protocol/http1.py must not leave net/http.py calling the old parser
    stale = _SourceFallback(pure=False, recorded={**_all_current(), "wasm_server.protocol.http1": "0" * 64})
    spec = stale.find_spec("wasm_server.net.http", None)
    assert spec is not None and spec.origin == str(ROOT / "wasm_server/net/http.py")


def test_a_current_build_is_left_to_the_ordinary_finder() -> None:
    current = _SourceFallback(pure=False, recorded=_all_current())
    assert current.find_spec("wasm_server.routing.router", None) is None
    assert _SourceFallback(pure=True, recorded=None).find_spec("wasm_server.routing.router", None) is not None
    assert current.find_spec("wasm_server.config", None) is None  # never compiled: not its business
