"""``wasm-server ts-build`` in a service with npm packages, an asconfig.json and asc flags
(issue 12, item 3): bare imports from node_modules, asconfig.json and transforms honoured,
npm install when package.json changes, which asc builds, and clear errors without Node/npm.

Everything here runs offline (packages are local directories or ``file:`` dependencies),
except the fallback that installs the SDK's asc from npm into the user cache."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import wasmtime

from tests.sdk.test_ts_sdk import FakeHost
from wasm_server.errors import BuildError
from wasm_server.toolchain import assemblyscript as ts
from wasm_server.toolchain import sdk, ts_npm

SDK = sdk.sdk_dir("assemblyscript")
pytestmark = pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                                reason="Node.js and npm are needed to compile AssemblyScript")

HANDLER = ('import {{ Request, Response, serve }} from "wasm-server";\n{imports}\n'
           "function handle(req: Request): Response {{ return Response.text({body}); }}\nserve(handle);\n")


def service(root: Path, body: str = '"hi"', imports: str = "", entry: str = "assembly/index.ts") -> Path:
    """A service directory whose one handler answers ``body`` (an AssemblyScript expression)."""
    src = root / entry
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_text(HANDLER.format(imports=imports, body=body))
    return root


def package(directory: Path, files: dict[str, str], manifest: dict[str, object] | None = None) -> None:
    """An npm package directory: its files and a package.json."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    (directory / "package.json").write_text(json.dumps(manifest or {"name": directory.name, "version": "1.0.0"}))


def build(project: Path, monkeypatch: pytest.MonkeyPatch, *argv: str, out: str = "app.wasm") -> Path:
    """``wasm-server ts-build -o app.wasm …`` run in ``project``, as ``wasm-server up`` runs it."""
    monkeypatch.chdir(project)
    assert ts.main(["-o", out, *argv]) == 0
    return project / out


def answer(wasm: Path) -> bytes:
    return FakeHost(wasm).request("GET", "/").body


def initial_pages(wasm: Path) -> int:
    memory = next(e.type for e in wasmtime.Module(wasmtime.Engine(), wasm.read_bytes()).exports
                  if e.name == "memory")
    assert isinstance(memory, wasmtime.MemoryType)
    return memory.limits.min


# ---- npm packages ----------------------------------------------------------------------


def test_a_bare_import_resolves_from_node_modules_and_the_packages_own_dependencies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = service(tmp_path / "svc", 'greeting() + " " + shout("x") + " " + VERSION',
                  'import { greeting } from "greet";\nimport { shout } from "greet/loud";\n'
                  'import { VERSION } from "@scope/tiny";')
    modules = svc / "node_modules"
    # greet imports words: its own copy under greet/node_modules, and punct: hoisted beside it
    package(modules / "greet", {
        "index.ts": 'import { HELLO } from "words";\nimport { BANG } from "punct";\n'
                    "export function greeting(): string { return HELLO + BANG; }\n",
        "loud/index.ts": "export function shout(s: string): string { return s.toUpperCase(); }\n"})
    package(modules / "greet" / "node_modules" / "words", {"index.ts": 'export const HELLO = "hello";\n'})
    package(modules / "punct", {"index.ts": 'export const BANG = "!";\n'})
    package(modules / "@scope" / "tiny", {"index.ts": 'export const VERSION = "v1";\n'})
    assert answer(build(svc, monkeypatch)) == b"hello! X v1"


def test_a_missing_package_fails_with_ascs_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    svc = service(tmp_path / "svc", "nothing()", 'import { nothing } from "not-installed";')
    with pytest.raises(BuildError, match="asc failed"):
        build(svc, monkeypatch)
    assert "not-installed" in capsys.readouterr().err


def test_package_json_is_installed_with_progress_and_again_only_when_it_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    svc = service(tmp_path / "svc", "word()", 'import { word } from "local-words";')
    package(svc / "vendor" / "local-words", {"index.ts": 'export function word(): string { return "one"; }\n'},
            {"name": "local-words", "version": "1.0.0"})
    manifest = {"name": "svc", "private": True, "dependencies": {"local-words": "file:./vendor/local-words"}}
    (svc / "package.json").write_text(json.dumps(manifest))
    assert answer(build(svc, monkeypatch)) == b"one"
    assert "installing the npm packages of svc (npm install" in capsys.readouterr().err
    assert (svc / "package-lock.json").is_file()
    build(svc, monkeypatch)
    assert "installing" not in capsys.readouterr().err  # node_modules is up to date
    (svc / "vendor" / "local-words" / "index.ts").write_text('export function word(): string { return "two"; }\n')
    manifest["description"] = "changed"
    (svc / "package.json").write_text(json.dumps(manifest))
    assert answer(build(svc, monkeypatch)) == b"two"
    assert "installing the npm packages of svc" in capsys.readouterr().err
    shutil.rmtree(svc / "node_modules")  # a fresh clone: lock, no node_modules
    assert answer(build(svc, monkeypatch)) == b"two"
    assert "(npm ci in" in capsys.readouterr().err


def test_the_editor_link_lets_tsconfig_find_the_sdk_without_an_absolute_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = service(tmp_path / "svc")
    (svc / "node_modules").mkdir()
    build(svc, monkeypatch)
    assert (svc / ts.EDITOR_LINK / "index.ts").resolve() == (SDK / "assembly" / "index.ts").resolve()


# ---- asconfig.json and asc flags ------------------------------------------------------------


def test_asconfig_json_options_targets_and_entries_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = service(tmp_path / "svc", '"from src"', entry="src/main.ts")
    (svc / "asconfig.json").write_text(json.dumps({
        "entries": ["src/main.ts"], "options": {"initialMemory": 3},
        "targets": {"release": {"shrinkLevel": 2}, "roomy": {"initialMemory": 5}}}))
    wasm = build(svc, monkeypatch)
    assert answer(wasm) == b"from src" and initial_pages(wasm) == 3
    # --target picks a target; its options come before the file's
    assert initial_pages(build(svc, monkeypatch, "--target", "roomy", out="roomy.wasm")) == 5
    # a flag on the command line wins over asconfig.json, as with asc
    assert initial_pages(build(svc, monkeypatch, "--initialMemory", "4", out="flag.wasm")) == 4


def test_asconfig_json_extends_is_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = service(tmp_path / "svc")
    (svc / "base.json").write_text(json.dumps({"options": {"initialMemory": 2}}))
    (svc / "asconfig.json").write_text(json.dumps({"extends": "./base.json"}))
    assert initial_pages(build(svc, monkeypatch)) == 2


TRANSFORM = """
export default class Marker {
  afterParse(parser) {
    const mine = parser.sources.filter(s => s.internalPath.startsWith("assembly/")).map(s => s.internalPath);
    this.log("transform saw " + mine.join(","));
  }
}
"""


@pytest.mark.parametrize("where", ["asconfig", "flag"])
def test_a_transform_runs_from_asconfig_or_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str], where: str) -> None:
    svc = service(tmp_path / "svc")
    (svc / "marker.mjs").write_text(TRANSFORM)
    argv: list[str] = []
    if where == "asconfig":
        (svc / "asconfig.json").write_text(json.dumps({"options": {"transform": ["./marker.mjs"]}}))
    else:
        argv = ["--transform", "./marker.mjs"]
    assert answer(build(svc, monkeypatch, *argv)) == b"hi"
    assert "transform saw assembly/index" in capsys.readouterr().err


@pytest.mark.parametrize(("config", "option"), [
    ({"exportStart": "_start"}, "exportStart"), ({"importMemory": True}, "importMemory"),
    ({"noExportMemory": True}, "noExportMemory"), ({"use": ["abort=my/abort"]}, "use 'abort=my/abort'")])
def test_asconfig_options_the_server_cannot_run_are_refused_by_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: dict[str, object], option: str) -> None:
    svc = service(tmp_path / "svc")
    (svc / "asconfig.json").write_text(json.dumps({"targets": {"release": config}}))
    with pytest.raises(BuildError, match=rf"asconfig\.json sets {option}.*remove it"):
        build(svc, monkeypatch)


def test_flags_the_server_cannot_run_are_refused_and_unknown_ones_fail(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = service(tmp_path / "svc")
    with pytest.raises(BuildError, match=r"command line sets exportStart.*_initialize"):
        build(svc, monkeypatch, "--exportStart", "main")
    with pytest.raises(BuildError, match="--baseDir is not supported"):
        build(svc, monkeypatch, "--baseDir", "/")
    with pytest.raises(BuildError, match="asc does not know --fast"):
        build(svc, monkeypatch, "--fast")
    assert not (svc / "app.wasm").exists()


def test_flags_pass_through_to_asc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = service(tmp_path / "svc")
    small = build(svc, monkeypatch, "-Oz", "--noAssert", out="small.wasm")
    fast = build(svc, monkeypatch, out="fast.wasm")  # ts-build's -O3
    assert answer(small) == answer(fast) == b"hi"
    assert small.stat().st_size < fast.stat().st_size
    build(svc, monkeypatch, "--textFile", "app.wat", out="text.wasm")
    assert "wasm_server_handle" in (svc / "app.wat").read_text()


# ---- which asc, and Node/npm -----------------------------------------------------------------


def test_the_services_own_asc_builds_when_it_depends_on_assemblyscript(tmp_path: Path) -> None:
    svc = tmp_path / "svc"
    package(svc, {}, {"name": "svc", "devDependencies": {"assemblyscript": "0.28.20"}})
    package(svc / "node_modules" / "assemblyscript", {}, {"name": "assemblyscript", "version": "0.28.19"})
    (svc / "node_modules" / ".bin").mkdir()
    (svc / "node_modules" / ".bin" / "asc").write_text("")
    assert ts_npm.pick_asc(svc) == svc / "node_modules" / ".bin" / "asc"
    (svc / "node_modules" / "assemblyscript" / "package.json").write_text('{"version": "0.27.31"}')
    with pytest.raises(BuildError, match=r"uses assemblyscript 0\.27\.31.*npm install --save-dev assemblyscript@"):
        ts_npm.pick_asc(svc)
    (svc / "package.json").write_text('{"name": "svc"}')  # no longer a dependency: the SDK's asc
    assert ts_npm.pick_asc(svc) == ts_npm.sdk_asc()


def path_with(tmp_path: Path, *tools: str) -> str:
    """A PATH holding only ``tools`` (links to the real ones)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in tools:
        real = shutil.which(name)
        assert real is not None
        (bin_dir / name).symlink_to(real)
    return str(bin_dir)


def test_missing_npm_or_node_is_a_clear_error_with_the_install_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = service(tmp_path / "svc")
    (svc / "package.json").write_text('{"name": "svc", "private": true}')
    monkeypatch.setenv("PATH", path_with(tmp_path, "node"))
    with pytest.raises(BuildError, match=r"npm is not installed .*: sudo apt-get install nodejs npm"):
        build(svc, monkeypatch)
    (svc / "package.json").unlink()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(BuildError, match=r"node is not installed .*: sudo apt-get install nodejs npm"):
        build(svc, monkeypatch)
    status = ts.status()
    assert not status.found and status.install == "sudo apt-get install nodejs npm"
    assert "node missing, npm missing" in status.note


def test_status_reports_node_npm_and_asc() -> None:
    status = ts.status()
    assert status.found and status.language == "typescript"
    assert status.version == ts_npm.sdk_version()
    assert status.path is not None and Path(status.path).exists()
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert f"node {node.lstrip('v')}, npm " in status.note


def test_without_the_sdks_node_modules_asc_is_installed_once_into_the_user_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A pip-installed package carries the SDK without node_modules (this one fetches from npm)."""
    bare = tmp_path / "site-packages" / "wasm_server" / "_sdk" / "assemblyscript"
    shutil.copytree(SDK, bare, ignore=shutil.ignore_patterns("node_modules", ".wasm-server"))
    monkeypatch.setattr(sdk, "sdk_dir", lambda lang: bare.parent / lang)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    svc = service(tmp_path / "svc")
    assert answer(build(svc, monkeypatch)) == b"hi"
    err = capsys.readouterr().err
    assert "installing AssemblyScript 0.28.20 for the SDK" in err
    installed = list((tmp_path / "cache" / "wasm-server" / "assemblyscript").glob("asc-*/node_modules/.bin/asc"))
    assert len(installed) == 1 and f"({installed[0]})" in err
    build(svc, monkeypatch)
    assert "installing" not in capsys.readouterr().err
    assert not (bare / "node_modules").exists()
    assert ts.status().path == str(installed[0])
