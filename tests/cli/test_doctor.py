"""``wasm-server doctor``: every language's toolchain, found or with the command that installs it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from wasm_server.cli import doctor
from wasm_server.cli.main import main
from wasm_server.cli.new import languages
from wasm_server.errors import ConfigError
from wasm_server.toolchain import c, go
from wasm_server.toolchain.status import ToolStatus

ZIG = ToolStatus("c", "zig cc", found=True, version="0.17.1", path="/x/ziglang", install="pip install 'wasm-server[c]'")
NO_GO = ToolStatus("go", "go", found=False, install="pip install 'wasm-server[go]'", note="no Go ≥ 1.24 found")


@pytest.fixture
def fake_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "CHECKS", (lambda: ZIG, lambda: NO_GO))


def test_every_template_language_has_a_doctor_line() -> None:
    listed = {s.language for s in doctor.statuses()}
    assert set(languages()) <= listed  # every template language has a doctor line


def test_the_report_names_what_is_found_and_how_to_install_what_is_not(
        fake_checks: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 0  # without names it only reports
    out = capsys.readouterr().out
    assert "c     ok       zig cc 0.17.1: /x/ziglang" in out
    assert "go    MISSING  go; install it with: pip install 'wasm-server[go]'" in out
    assert "no Go ≥ 1.24 found" in out


def test_a_missing_language_asked_for_fails(fake_checks: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "c"]) == 0
    assert main(["doctor", "c", "go"]) == 1
    capsys.readouterr()
    assert main(["doctor", "nim"]) == ConfigError.exit_code
    assert "doctor knows no language nim (known: c, go)" in capsys.readouterr().err


def test_json_holds_every_field(fake_checks: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--json", "go"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["toolchains"] == [{"language": "go", "tool": "go", "found": False, "version": None, "path": None,
                                     "install": "pip install 'wasm-server[go]'", "note": "no Go ≥ 1.24 found"}]
    assert Path(report["sdks"]).is_dir()


def test_aliases_name_the_same_language() -> None:
    assert [doctor.canonical(x) for x in ("C++", "typescript", "assemblyscript", "Go")] == ["cpp", "ts", "ts", "go"]


def test_a_failing_check_is_reported_missing_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> ToolStatus:
        raise OSError("permission denied")

    monkeypatch.setattr(doctor, "CHECKS", (broken,))
    [status] = doctor.statuses()
    assert not status.found and "permission denied" in status.note


def test_c_without_ziglang_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(c, "available", lambda: False)
    status = c.status()
    assert (status.found, status.install) == (False, "pip install 'wasm-server[c]'")


def test_c_with_ziglang_reports_its_version() -> None:
    if not c.available():
        pytest.fail("ziglang is a dev dependency: scripts/setup installs it")
    status = c.status()
    assert status.found and status.version and status.version[0].isdigit()


def test_go_missing_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WASM_SERVER_GO", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(go, "LOCAL_GO", str(tmp_path / "no-go"))
    monkeypatch.setattr(go, "_go_bin", lambda: None)
    monkeypatch.setattr(go.sys, "executable", str(tmp_path / "python"))
    status = go.status()
    assert (status.found, status.install) == (False, "pip install 'wasm-server[go]'")
    assert "no Go ≥ 1.24 found" in status.note


def test_go_bin_in_this_environment_comes_before_the_machines_go(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # `pip install 'wasm-server[go]'` asked for go-bin; a Go on PATH must not shadow it
    from tests.sdk.test_go_sdk import fake_go

    packaged = fake_go(tmp_path / "site-packages" / "go" / "bin", "1.27.3")
    monkeypatch.delenv("WASM_SERVER_GO", raising=False)
    monkeypatch.setenv("PATH", str(fake_go(tmp_path / "usr" / "bin", "1.26.1").parent))
    monkeypatch.setattr(go, "_go_bin", lambda: packaged)
    tc = go.pick()
    assert (tc.go, tc.version) == (str(packaged), (1, 27)) and "go-bin" in tc.why
    status = go.status()
    assert (status.found, status.version, status.path) == (True, "1.27", str(packaged))


def test_go_bin_is_found_inside_its_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "go"
    (package / "bin").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "VERSION").write_text("go1.27.3\n")
    (package / "bin" / "go").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "go", raising=False)
    assert go._go_bin() == package / "bin" / "go"
