"""The Go SDK as a module in a local proxy directory, instead of a ``replace`` to a path
(issue 12: `wasm-server new go` wrote the checkout's absolute path into go.mod)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from wasm_server.errors import BuildError
from wasm_server.toolchain import go, goproxy
from wasm_server.toolchain.sdk import sdk_dir

#: Go's rule for a semantic version with a pre-release part (golang.org/x/mod/semver)
SEMVER = re.compile(r"^v\d+\.\d+\.\d+-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$")
GO_BUILD = [sys.executable, "-m", "wasm_server.cli.main", "go-build"]


@pytest.fixture
def sdk_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the Go SDK that goproxy uses instead of the real one."""
    copy = tmp_path / "sdk-go"
    shutil.copytree(sdk_dir("go"), copy)
    monkeypatch.setattr(goproxy, "sdk_dir", lambda lang: copy)
    return copy


def toolchain() -> go.Toolchain:
    try:
        return go.pick()
    except BuildError as exc:
        pytest.skip(f"no Go >= 1.24 here: {exc}")


def test_the_version_names_the_package_and_the_sdk_content(sdk_copy: Path) -> None:
    from wasm_server import __version__

    first = goproxy.version()
    assert SEMVER.match(first) and first.startswith(f"v{__version__}-sdk-"), first
    assert goproxy.version() == first  # the same files, the same version
    (sdk_copy / "editor-backup~").write_text("not part of the module")
    assert goproxy.version() == first
    (sdk_copy / "doc.go").write_text((sdk_copy / "doc.go").read_text() + "\n// changed\n")
    assert goproxy.version() != first  # Go caches a version for good: new content needs a new one


def test_publish_writes_a_goproxy_layout_once(sdk_copy: Path, tmp_path: Path) -> None:
    proxy, version = goproxy.publish(tmp_path / "proxy")
    versions = proxy / goproxy.MODULE / "@v"
    assert (versions / "list").read_text() == f"{version}\n"
    assert (versions / f"{version}.mod").read_bytes() == (sdk_copy / "go.mod").read_bytes()
    assert f'"Version":"{version}"' in (versions / f"{version}.info").read_text()
    names = zipfile.ZipFile(versions / f"{version}.zip").namelist()
    prefix = f"{goproxy.MODULE}@{version}/"
    assert all(n.startswith(prefix) for n in names)
    assert {f"{prefix}go.mod", f"{prefix}serve.go", f"{prefix}kv/kv.go"} <= set(names)
    before = (versions / f"{version}.zip").stat().st_mtime_ns
    assert goproxy.publish(tmp_path / "proxy") == (proxy, version)
    assert (versions / f"{version}.zip").stat().st_mtime_ns == before
    (sdk_copy / "doc.go").write_text("// changed\npackage wasmserver\n")
    _, newer = goproxy.publish(tmp_path / "proxy")
    assert (versions / "list").read_text().split() == sorted([version, newer])


def test_goproxy_puts_the_sdk_first_and_keeps_the_users_settings(tmp_path: Path) -> None:
    assert goproxy.goproxy(tmp_path, "") == f"file://{tmp_path}," + "https://proxy.golang.org,direct"
    assert goproxy.goproxy(tmp_path, "https://goproxy.example,off") == f"file://{tmp_path},https://goproxy.example,off"
    assert goproxy.nosumdb("") == goproxy.MODULE
    assert goproxy.nosumdb("corp.example/*") == f"corp.example/*,{goproxy.MODULE}"
    assert goproxy.nosumdb(goproxy.MODULE) == goproxy.MODULE


def test_a_new_go_service_names_no_path_and_builds_after_moving(tmp_path: Path) -> None:
    from wasm_server.cli.new import create

    toolchain()
    svc = create("go", "roamer", tmp_path / "a")
    gomod = (svc / "go.mod").read_text()
    assert "replace" not in gomod and "/" + "sdk/go =>" not in gomod
    assert f"require {goproxy.MODULE} {goproxy.version()}" in gomod
    # `new` pinned the SDK in go.sum, so a plain `go get` of a framework needs no wasm-server env
    assert f"{goproxy.MODULE} {goproxy.version()} h1:" in (svc / "go.sum").read_text()
    moved = svc.rename(tmp_path / "elsewhere")
    out = moved / "roamer.wasm"
    proc = subprocess.run([*GO_BUILD, "-o", str(out)], cwd=moved, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes().startswith(b"\0asm")


def test_go_build_moves_an_old_sdk_requirement_to_this_one(tmp_path: Path) -> None:
    from wasm_server.cli.new import create

    toolchain()
    svc = create("go", "upgraded", tmp_path)
    old = f"require {goproxy.MODULE} {goproxy.version()}"
    (svc / "go.mod").write_text((svc / "go.mod").read_text().replace(old, f"require {goproxy.MODULE} v0.0.1-sdk-old"))
    proc = subprocess.run([*GO_BUILD, "-o", "upgraded.wasm"], cwd=svc, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert f"v0.0.1-sdk-old → {goproxy.version()}" in proc.stderr
    assert old in (svc / "go.mod").read_text()


def test_a_replaced_sdk_is_left_alone(tmp_path: Path) -> None:
    # the repository's examples build against sdk/go through a relative replace
    tc = toolchain()
    gomod = Path(__file__).resolve().parents[2] / "examples" / "hello" / "go" / "go.mod"
    assert go.requires_sdk_module(tc, gomod) is None
    assert go.provide_sdk(tc, gomod) is None
