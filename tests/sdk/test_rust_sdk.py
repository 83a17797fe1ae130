"""The Rust SDK: cargo test (codec vs the shared vectors, API), module builds, and
the built examples run under a small local Wasmtime harness with stub imports."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from wasm_server.abi_codec import GuestRequest, GuestResponse, decode_response, encode_request
from wasm_server.errors import BuildError
from wasm_server.toolchain import rust, rust_std

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "sdk" / "rust"

I32, I64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
#: every import of docs/abi.md, as (params, results)
IMPORTS: dict[str, tuple[list[wasmtime.ValType], list[wasmtime.ValType]]] = {
    "result_read": ([I32, I32], [I32]),
    "log": ([I32, I32, I32], []),
    "var_get": ([I32, I32], [I64]),
    "kv_get": ([I32] * 4, [I64]),
    "kv_set": ([I32] * 6, [I32]),
    "kv_delete": ([I32] * 4, [I32]),
    "kv_exists": ([I32] * 4, [I32]),
    "kv_keys": ([I32] * 4, [I64]),
    "kv_incr": ([I32, I32, I32, I32, I64, I32], [I32]),
    "http_send": ([I32, I32], [I64]),
    "conn_send": ([I32] * 3, [I32]),
    "ws_send": ([I32] * 4, [I32]),
    "conn_close": ([I32] * 4, [I32]),
    "conn_peer": ([I32], [I64]),
    "udp_send": ([I32] * 5, [I32]),
    "publish": ([I32] * 4, [I32]),
    "subscribe": ([I32] * 3, [I32]),
    "sleep_ms": ([I32], [I32]),
    "stream_start": ([I32, I32], [I32]),
    "stream_write": ([I32, I32], [I32]),
    "tcp_connect": ([I32] * 3, [I64]),
    "udp_connect": ([I32] * 3, [I64]),
    "sock_send": ([I32] * 3, [I32]),
    "sock_recv": ([I32] * 3, [I64]),
    "sock_close": ([I32], [I32]),
    "wake_after": ([I32], [I32]),
    "udp_listeners": ([], [I64]),
}


def toolchain() -> rust.Toolchain:
    try:
        return rust.pick()
    except BuildError as exc:
        pytest.fail(f"scripts/setup should have installed a Rust toolchain: {exc}")


def build(manifest: Path, out: Path) -> Path:
    assert rust.main(["--manifest-path", str(manifest), "-o", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def modules(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """hello, kv-counter and the `wasm-server new rust` template, built once."""
    from wasm_server.cli.new import create

    out = tmp_path_factory.mktemp("rust-modules")
    crate = create("rust", "my-svc", out)  # every placeholder filled, as `wasm-server new rust` does
    return {
        "hello": build(ROOT / "examples" / "hello" / "rust" / "Cargo.toml", out / "hello.wasm"),
        "kv-counter": build(ROOT / "examples" / "kv-counter" / "rust" / "Cargo.toml", out / "kv-counter.wasm"),
        "template": build(crate / "Cargo.toml", out / "my-svc.wasm"),
    }


def func(export: object) -> wasmtime.Func:
    assert isinstance(export, wasmtime.Func)
    return export


class Guest:
    """One instance of a module, with every `wasm_server` import stubbed in Python."""

    def __init__(self, path: Path, *, initialize: bool = True) -> None:
        self.kv: dict[tuple[str, bytes], bytes] = {}
        self.denied_stores: set[str] = set()
        self.logs: list[tuple[int, str]] = []
        self.slot = b""
        engine = wasmtime.Engine()
        self.module = wasmtime.Module(engine, path.read_bytes())
        self.store = wasmtime.Store(engine)
        self.store.set_wasi(wasmtime.WasiConfig())
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        stubs = self._stubs()
        for name, (params, results) in IMPORTS.items():
            linker.define_func("wasm_server", name, wasmtime.FuncType(params, results),
                               stubs.get(name, self._unexpected(name)), access_caller=True)
        self.instance = linker.instantiate(self.store, self.module)
        exports = self.instance.exports(self.store)
        names = {e.name for e in self.module.exports}
        assert "_start" not in names, "a reactor module, not a command"
        if initialize and "_initialize" in names:
            func(exports["_initialize"])(self.store)
        memory = exports["memory"]
        assert isinstance(memory, wasmtime.Memory)
        self.memory = memory
        self._alloc = func(exports["wasm_server_alloc"])
        self._handle = func(exports["wasm_server_handle"])
        self.abi_version = func(exports["wasm_server_abi_version"])(self.store)

    # -- host side ---------------------------------------------------------
    @staticmethod
    def _unexpected(name: str) -> Callable[..., Any]:
        def stub(caller: wasmtime.Caller, *args: int) -> int:
            raise AssertionError(f"the guest called {name}{args} unexpectedly")

        return stub

    def _stubs(self) -> dict[str, Callable[..., Any]]:
        def read(caller: wasmtime.Caller, ptr: int, n: int) -> bytes:
            mem = caller["memory"]
            assert isinstance(mem, wasmtime.Memory)
            return bytes(mem.read(caller, ptr, ptr + n))

        def fail(code: int, message: str) -> int:
            self.slot = message.encode()
            return code

        def store_of(caller: wasmtime.Caller, sp: int, sl: int) -> str:
            return read(caller, sp, sl).decode()

        def result_read(caller: wasmtime.Caller, ptr: int, n: int) -> int:
            if n:
                mem = caller["memory"]
                assert isinstance(mem, wasmtime.Memory)
                mem.write(caller, self.slot[:n], ptr)
            return len(self.slot)

        def log(caller: wasmtime.Caller, level: int, ptr: int, n: int) -> None:
            self.logs.append((level, read(caller, ptr, n).decode()))

        def kv_get(caller: wasmtime.Caller, sp: int, sl: int, kp: int, kl: int) -> int:
            s = store_of(caller, sp, sl)
            if s in self.denied_stores:
                return fail(-2, f"store {s!r} is not declared in key_value_stores")
            value = self.kv.get((s, read(caller, kp, kl)))
            if value is None:
                return fail(-1, "")
            self.slot = value
            return len(value)

        def kv_incr(caller: wasmtime.Caller, sp: int, sl: int, kp: int, kl: int, delta: int, out: int) -> int:
            s = store_of(caller, sp, sl)
            if s in self.denied_stores:
                return fail(-2, f"store {s!r} is not declared in key_value_stores")
            key = (s, read(caller, kp, kl))
            value = int(self.kv.get(key, b"0")) + delta
            self.kv[key] = str(value).encode()
            mem = caller["memory"]
            assert isinstance(mem, wasmtime.Memory)
            mem.write(caller, struct.pack("<q", value), out)
            return 0

        return {"result_read": result_read, "log": log, "kv_get": kv_get, "kv_incr": kv_incr}

    # -- guest side --------------------------------------------------------
    def call(self, kind: int, payload: bytes) -> int:
        ptr = self._alloc(self.store, len(payload))
        assert isinstance(ptr, int) and ptr > 0
        self.memory.write(self.store, payload, ptr)
        ret = self._handle(self.store, kind, ptr, len(payload))
        assert isinstance(ret, int)
        return ret

    def request(self, method: str, url: str, *, route: str = "/...", base: str = "", body: bytes = b"",
                headers: tuple[tuple[bytes, bytes], ...] = ()) -> GuestResponse:
        path = url.split("?", 1)[0]
        req = GuestRequest(method=method.encode(), url=url.encode(), route=route.encode(), base=base.encode(),
                           path_info=path[len(base):].encode(), client=b"127.0.0.1:40000",
                           headers=headers, body=body)
        ret = self.call(1, encode_request(req))
        assert ret >= 0, f"guest failed: {ret}"
        ptr, n = ret >> 32, ret & 0xFFFFFFFF
        return decode_response(bytes(self.memory.read(self.store, ptr, ptr + n)))

    def pages(self) -> int:
        return int(self.memory.size(self.store))


def header(resp: GuestResponse, name: bytes) -> bytes | None:
    return next((v for n, v in resp.headers if n.lower() == name), None)


# -- the crate itself ----------------------------------------------------------


def test_cargo_test_passes_the_shared_vectors() -> None:
    tc = toolchain()
    env = {**os.environ, "CARGO_TARGET_DIR": str(rust.TARGET_DIR / "native"), "CARGO_NET_OFFLINE": "true"}
    out = subprocess.run([tc.cargo, "test", *rust.rustc_config(tc), "--manifest-path", str(SDK / "Cargo.toml"),
                          "--", "--nocapture"], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "checked 4 request and 4 response vectors" in out.stdout
    assert "test request_accessors ... ok" in out.stdout
    assert " FAILED" not in out.stdout


def test_sdk_has_no_dependencies() -> None:
    manifest = (SDK / "Cargo.toml").read_text()
    assert re.search(r"^\[dependencies\]\s*\Z", manifest, re.M), "std only: no crates"


def test_harness_covers_every_documented_import() -> None:
    doc = (ROOT / "docs" / "abi.md").read_text()
    section = doc.split("## Host imports", 1)[1].split("### Error codes", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| `\(([^)]*)\) -> ([^`]+)` \|", section, re.M)
    documented = {}
    for name, params, result in rows:
        kinds = [I64 if p.strip().endswith("i64") else I32 for p in params.split(",") if p.strip()]
        documented[name] = (kinds, {"()": [], "i32": [I32], "i64": [I64]}[result.strip()])
    assert set(documented) == set(IMPORTS)
    for name, (params, results) in documented.items():
        assert [str(t) for t in IMPORTS[name][0]] == [str(t) for t in params], name
        assert [str(t) for t in IMPORTS[name][1]] == [str(t) for t in results], name


# -- cargo-build ---------------------------------------------------------------


def test_modules_are_small_reactors(modules: dict[str, Path]) -> None:
    for name, path in modules.items():
        module = wasmtime.Module(wasmtime.Engine(), path.read_bytes())
        exports = {e.name: e for e in module.exports}
        assert {"memory", "wasm_server_abi_version", "wasm_server_alloc", "wasm_server_handle"} <= set(exports)
        assert "_start" not in exports
        memory = exports["memory"].type
        assert isinstance(memory, wasmtime.MemoryType)
        assert memory.limits.min <= 2, f"{name}: {memory.limits.min} pages at start (64 KiB stack expected)"
        assert path.stat().st_size < 96_000, f"{name}: {path.stat().st_size} bytes"
        imports = {(i.module, i.name) for i in module.imports}
        assert {m for m, _ in imports} <= {"wasm_server", "wasi_snapshot_preview1"}


def test_cargo_build_explains_its_toolchain(modules: dict[str, Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    build(ROOT / "examples" / "hello" / "rust" / "Cargo.toml", tmp_path / "again.wasm")
    err = capsys.readouterr().err
    assert re.search(r"^toolchain: Debian rustc-web 1\.\d+ \(/usr/bin/cargo\)", err, re.M), err
    assert (tmp_path / "again.wasm").read_bytes() == modules["hello"].read_bytes()


def test_cargo_build_errors_are_clear(tmp_path: Path) -> None:
    manifest = str(ROOT / "examples" / "hello" / "rust" / "Cargo.toml")
    with pytest.raises(BuildError, match="missing -o"):
        rust.main(["--manifest-path", manifest])
    with pytest.raises(BuildError, match="-o needs a value"):
        rust.main(["--manifest-path", manifest, "-o"])
    with pytest.raises(BuildError, match="unexpected argument"):
        rust.main(["--release", "-o", "x.wasm"])
    with pytest.raises(BuildError, match=r"no .*nope\.toml"):
        rust.main(["--manifest-path", str(tmp_path / "nope.toml"), "-o", "x.wasm"])
    bad = tmp_path / "bad"
    (bad / "src").mkdir(parents=True)
    (bad / "Cargo.toml").write_text('[package]\nname = "bad"\nversion = "0.1.0"\nedition = "2021"\n\n'
                                    '[lib]\ncrate-type = ["cdylib"]\n\n[workspace]\n')
    (bad / "src" / "lib.rs").write_text("fn broken( {}\n")
    with pytest.raises(BuildError, match="cargo build failed"):
        rust.main(["--manifest-path", str(bad / "Cargo.toml"), "-o", str(tmp_path / "bad.wasm")])


# -- the modules under the harness ---------------------------------------------


@pytest.mark.parametrize("initialize", [True, False])
def test_hello_answers_with_its_path_info(modules: dict[str, Path], initialize: bool) -> None:
    guest = Guest(modules["hello"], initialize=initialize)
    assert guest.abi_version == 1
    resp = guest.request("GET", "/hello/rust/a/b?x=1", base="/hello/rust")
    assert resp.status == 200
    assert header(resp, b"content-type") == b"text/plain; charset=utf-8"
    assert resp.body == b"Hello from Rust\npath: /a/b\n"


def test_hello_frees_each_response_at_the_next_event(modules: dict[str, Path]) -> None:
    guest = Guest(modules["hello"])
    for _ in range(20):
        guest.request("GET", "/warm")
    pages = guest.pages()
    for i in range(3000):
        assert guest.request("POST", f"/n/{i}", body=b"x" * 2000).body.endswith(f"/n/{i}\n".encode())
    assert guest.pages() == pages, "memory grew: a request or response buffer leaks"


def test_unknown_kinds_and_malformed_requests_fail(modules: dict[str, Path]) -> None:
    guest = Guest(modules["hello"])
    assert guest.call(3, struct.pack("<II", 7, 0)) == -1  # TCP_DATA: not handled
    assert guest.call(1, b"\x00\x00\x00\x00\xff\xff") < 0  # truncated request: the guest failed
    assert guest.request("GET", "/ok").status == 200  # and the instance still works


def test_kv_counter_counts(modules: dict[str, Path]) -> None:
    guest = Guest(modules["kv-counter"])
    assert guest.request("GET", "/count", route="/count").body == b"0\n"
    first = guest.request("POST", "/count", route="/count")
    assert (first.status, first.body) == (200, b"1\n")
    assert header(first, b"content-type") == b"text/plain; charset=utf-8"
    assert guest.request("POST", "/count", route="/count").body == b"2\n"
    got = guest.request("GET", "/count", route="/count")
    assert (got.status, got.body) == (200, b"2\n")
    assert guest.kv == {("default", b"counter"): b"2"}
    wrong = guest.request("DELETE", "/count", route="/count")
    assert wrong.status == 405 and header(wrong, b"allow") == b"GET, POST"


def test_kv_errors_carry_the_host_message(modules: dict[str, Path]) -> None:
    guest = Guest(modules["kv-counter"])
    guest.denied_stores.add("default")
    resp = guest.request("POST", "/count", route="/count")
    assert resp.status == 500
    assert any(level == 4 and "Denied" in msg and "not declared in key_value_stores" in msg
               for level, msg in guest.logs), guest.logs


def test_template_builds_and_counts_visits(modules: dict[str, Path]) -> None:
    guest = Guest(modules["template"])
    guest.request("GET", "/")
    resp = guest.request("GET", "/x")
    assert resp.status == 200
    assert resp.body == b"Hello from my-svc!\nyou asked for /x (visit 2)\n"


def test_cargo_build_passes_features_through(tmp_path: Path) -> None:
    # issue 12: `cargo-build --features` was refused as an unexpected argument
    assert rust.parse(["-o", "x.wasm", "--features", "a,b", "--no-default-features"]).cargo_flags == [
        "--features", "a,b", "--no-default-features"]
    assert rust.parse(["-F", "a", "--all-features", "-o", "x.wasm"]).cargo_flags == [
        "--features", "a", "--all-features"]
    crate = tmp_path / "gated"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text('[package]\nname = "gated"\nversion = "0.1.0"\nedition = "2021"\n\n'
                                      '[lib]\ncrate-type = ["cdylib"]\n\n[features]\nok = []\n\n[workspace]\n')
    (crate / "src" / "lib.rs").write_text('#[cfg(not(feature = "ok"))]\ncompile_error!("build with --features ok");\n'
                                          "#[no_mangle]\npub extern \"C\" fn answer() -> i32 { 42 }\n")
    manifest = str(crate / "Cargo.toml")
    with pytest.raises(BuildError, match="cargo build failed"):
        rust.main(["--manifest-path", manifest, "-o", str(tmp_path / "no.wasm")])
    assert rust.main(["--manifest-path", manifest, "--features", "ok", "-o", str(tmp_path / "ok.wasm")]) == 0
    assert (tmp_path / "ok.wasm").read_bytes().startswith(b"\0asm")


# -- the toolchain: rustc-web, one std for every guest, the SDK from this installation --


HELLO = """use wasm_server::{Request, Response};

fn hello(req: Request) -> Response {
    Response::text(200, format!("NAME saw {}\\n", req.path_info()))
}
wasm_server::http_handler!(hello);
"""


def crate(path: Path, name: str, *, deps: str = "", src: str | None = None) -> Path:
    """A guest crate the way `new rust` writes one: the SDK as `wasm-server = "0.1"`."""
    (path / "src").mkdir(parents=True)
    (path / "Cargo.toml").write_text(
        f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2024"\n\n[lib]\ncrate-type = ["cdylib"]\n\n'
        f'[dependencies]\nwasm-server = "0.1"\n{deps}\n[profile.release]\nopt-level = "s"\nlto = true\n'
        'panic = "abort"\nstrip = true\n\n[workspace]\n')
    (path / "src" / "lib.rs").write_text(src or HELLO.replace("NAME", name))
    return path / "Cargo.toml"


def test_a_second_guest_reuses_the_shared_std(modules: dict[str, Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    tc = toolchain()
    assert tc.std_from_source is not None, "scripts/setup installs rustc-web, whose std is built here"
    lib = rust_std.lib_dir(rust_std.sysroot_dir(rust.DEBIAN_RUSTC, tc.std_from_source))
    before = {p.name: p.stat().st_mtime_ns for p in lib.iterdir()}
    assert any(name.startswith("libstd-") for name in before), before
    capsys.readouterr()
    out = build(crate(tmp_path / "second", "second-guest"), tmp_path / "second.wasm")  # a crate never built
    assert "building Rust std" not in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in lib.iterdir()} == before, "std was rebuilt"
    assert Guest(out).request("GET", "/x").body == b"second-guest saw /x\n"


FAKE_CARGO = """#!/bin/sh
# stands in for `cargo build -Z build-std`: records its arguments, makes the rlibs cargo would
echo "$@" >> "$CALLS"
[ -n "$FAIL" ] && exit 3
while [ $# -gt 0 ]; do [ "$1" = --target-dir ] && dir=$2; shift; done
deps=$dir/wasm32-wasip1/release/deps
mkdir -p "$deps"
touch "$deps/libstd-1.rlib" "$deps/libcore-1.rlib" "$deps/libstd-1.rmeta" "$deps/libwasm_server_std-1.rlib"
"""


def fake_cargo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    cargo = tmp_path / "cargo"
    cargo.write_text(FAKE_CARGO)
    cargo.chmod(0o755)
    calls = tmp_path / "calls"
    monkeypatch.setenv("CALLS", str(calls))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return str(cargo), calls


def test_std_is_built_offline_once_per_rustc_and_announced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    cargo, calls = fake_cargo(tmp_path, monkeypatch)
    sysroot = rust_std.ensure(cargo, "/usr/bin/rustc", "release: 1.96.0\ncommit-hash: a\n")
    err = capsys.readouterr().err
    assert "building Rust std for wasm32-wasip1" in err and "first build" in err and "built Rust std in" in err
    assert sysroot.parent == tmp_path / "cache" / "wasm-server" / "rust-sysroot"
    assert sorted(p.name for p in rust_std.lib_dir(sysroot).iterdir()) == ["libcore-1.rlib", "libstd-1.rlib"]
    call = calls.read_text()
    assert "--offline" in call and "-Z build-std=std,panic_abort" in call
    assert f'source.rust-src.directory="{rust_std.LIBRARY / "vendor"}"' in call  # std's crates: no network
    assert rust_std.ensure(cargo, "/usr/bin/rustc", "release: 1.96.0\ncommit-hash: a\n") == sysroot
    assert "building" not in capsys.readouterr().err
    assert len(calls.read_text().splitlines()) == 1, "the second guest built std again"
    other = rust_std.ensure(cargo, "/usr/bin/rustc", "release: 1.97.0\ncommit-hash: b\n")
    assert other != sysroot and len(calls.read_text().splitlines()) == 2  # a new rustc needs its own std


def test_a_failed_std_build_leaves_nothing_that_looks_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cargo, _ = fake_cargo(tmp_path, monkeypatch)
    monkeypatch.setenv("FAIL", "1")
    with pytest.raises(BuildError, match=r"building Rust std for wasm32-wasip1 failed \(exit 3\)"):
        rust_std.ensure(cargo, "/usr/bin/rustc", "release: 1.96.0\n")
    root = tmp_path / "cache" / "wasm-server" / "rust-sysroot"
    assert [p.name for p in root.iterdir()] == [".lock"]


def test_a_missing_toolchain_names_the_command_that_installs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rust, "DEBIAN_CARGO", "/nonexistent/cargo")
    monkeypatch.setattr(rust, "_rustup", lambda: None)
    install = "apt-get install rustc-web cargo-web rust-web-src rust-web-llvm lld-22 wasi-libc"
    with pytest.raises(BuildError, match=rf"missing /nonexistent/cargo; install it with: sudo {install}"):
        rust.pick()
    status = rust.status()
    assert (status.language, status.found) == ("rust", False)
    assert install in status.install and "/nonexistent/cargo" in status.note


def test_debian_rustc_1_63_is_refused_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rust, "_rustc_vv", lambda rustc: "rustc 1.63.0\nrelease: 1.63.0\n")
    monkeypatch.setattr(rust, "_rustup", lambda: None)
    with pytest.raises(BuildError, match=r"is 1\.63, older than 1\.85 .*install rustc-web with: sudo apt-get"):
        rust.pick()


def test_status_for_doctor() -> None:
    status = rust.status()
    assert status.found and status.path == "/usr/bin/cargo", status
    assert status.version is not None and re.fullmatch(r"rustc 1\.\d+", status.version)
    assert "rustc-web" in status.note and "std is built" in status.note


ITOA = """use wasm_server::{Request, Response};

fn hello(req: Request) -> Response {
    Response::text(200, itoa::Buffer::new().format(req.path_info().len()).to_string())
}
wasm_server::http_handler!(hello);
"""


def test_vendored_crates_build_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capfd: pytest.CaptureFixture[str]) -> None:
    manifest = crate(tmp_path / "vendored", "vendored-guest", deps='itoa = "1"\n', src=ITOA)
    assert rust.main(["--vendor", "--manifest-path", str(manifest)]) == 0
    config = capfd.readouterr().out  # what cargo vendor prints for .cargo/config.toml
    assert 'replace-with = "vendored-sources"' in config
    assert (manifest.parent / "vendor" / "itoa").is_dir()
    assert not (manifest.parent / "vendor" / "wasm-server").exists()  # the SDK comes from the installation
    (manifest.parent / ".cargo").mkdir()
    (manifest.parent / ".cargo" / "config.toml").write_text(config)
    monkeypatch.setenv("CARGO_HOME", str(tmp_path / "empty-cargo-home"))  # no registry cache: vendor/ or nothing
    out = tmp_path / "vendored.wasm"
    assert rust.main(["--offline", "--manifest-path", str(manifest), "-o", str(out)]) == 0
    assert Guest(out).request("GET", "/abcd").body == b"5"


def test_std_only_makes_the_shared_std_ready(modules: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    # scripts/setup runs this so that no test or first `up` pays for std
    tc = toolchain()
    assert tc.std_from_source is not None
    assert rust.main(["--std-only"]) == 0
    sysroot = rust_std.sysroot_dir(rust.DEBIAN_RUSTC, tc.std_from_source)
    assert f"Rust std for wasm32-wasip1: {sysroot}" in capsys.readouterr().err
    assert rust_std.is_built(sysroot)


def test_the_sdk_is_taken_from_wherever_the_installation_keeps_it(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # a wheel keeps it in site-packages/wasm_server/_sdk/rust, perhaps read-only: cargo must only read it
    installed = tmp_path / "site-packages" / "wasm_server" / "_sdk" / "rust"
    shutil.copytree(SDK, installed, ignore=shutil.ignore_patterns("target"))
    before = {p: p.stat().st_mtime_ns for p in installed.rglob("*")}
    monkeypatch.setattr(rust, "sdk_dir", lambda lang: installed if lang == "rust" else SDK)
    out = build(crate(tmp_path / "svc", "wheel-guest"), tmp_path / "wheel.wasm")
    assert Guest(out).request("GET", "/w").body == b"wheel-guest saw /w\n"
    assert {p: p.stat().st_mtime_ns for p in installed.rglob("*")} == before, "the build wrote into the SDK"
    lock = (tmp_path / "svc" / "Cargo.lock").read_text()
    assert 'name = "wasm-server"' in lock and str(tmp_path) not in lock
