"""The C SDK: its codec against the shared vectors (natively, gcc), and its modules."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import wasmtime

from wasm_server.toolchain import c as cc

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "sdk" / "c"


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed for the native codec test")
def test_codec_passes_the_shared_vectors(tmp_path: Path) -> None:
    exe = tmp_path / "vectors_test"
    subprocess.run(["gcc", "-Wall", "-Wextra", "-Werror", "-I", str(SDK), "-o", str(exe),
                    str(SDK / "tests" / "vectors_test.c"), str(SDK / "wasm_server.c")], check=True)
    out = subprocess.run([str(exe), str(ROOT / "sdk" / "abi" / "vectors.txt")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "checked 4 request and 4 response vectors, 0 failures" in out.stdout


def test_cc_builds_a_small_reactor_module(tmp_path: Path) -> None:
    out = tmp_path / "hello.wasm"
    assert cc.main(["-o", str(out), str(ROOT / "examples" / "hello" / "c" / "main.c")]) == 0
    module = wasmtime.Module(wasmtime.Engine(), out.read_bytes())
    exports = {e.name: e for e in module.exports}
    assert {"memory", "wasm_server_abi_version", "wasm_server_alloc", "wasm_server_handle"} <= set(exports)
    assert "_start" not in exports
    memory = exports["memory"].type
    assert isinstance(memory, wasmtime.MemoryType) and memory.limits.min <= 4  # ≤ 256 KiB at start


def test_cc_wagi_builds_a_command(tmp_path: Path) -> None:
    out = tmp_path / "w.wasm"
    assert cc.main(["--wagi", "-o", str(out), str(ROOT / "examples" / "wagi-hello" / "c" / "main.c")]) == 0
    assert "_start" in {e.name for e in wasmtime.Module(wasmtime.Engine(), out.read_bytes()).exports}


def test_cc_errors_are_clear(tmp_path: Path) -> None:
    from wasm_server.errors import BuildError

    with pytest.raises(BuildError, match="missing -o"):
        cc.main(["x.c"])
    bad = tmp_path / "bad.c"
    bad.write_text("int main( {")
    with pytest.raises(BuildError, match="C compilation failed"):
        cc.main(["-o", str(tmp_path / "b.wasm"), str(bad)])


def test_a_system_include_dir_does_not_hide_wasi_libc(tmp_path: Path) -> None:
    # issue 12: `-I/usr/include` put glibc's headers in front of wasi-libc's
    # ("bits/libc-header-start.h not found"); a header-only library there must still be usable
    assert cc.system_includes_last(["-I/usr/include", "-I", "/usr/local/include/x", "-Iinc", "-I", "vendor"]) == [
        "-idirafter", "/usr/include", "-idirafter", "/usr/local/include/x", "-Iinc", "-Ivendor"]
    main = tmp_path / "main.c"
    main.write_text('#include <stdio.h>\n#include <zlib.h>\n#include "wasm_server.h"\n'
                    'static int v(void) { return ZLIB_VERNUM > 0; }\n'  # a macro from a system header
                    'int unused(void) { char b[8]; return snprintf(b, sizeof b, "%d", v()); }\n')
    assert Path("/usr/include/zlib.h").exists(), "scripts/setup installs zlib1g-dev"
    out = tmp_path / "sys.wasm"
    hello = ROOT / "examples" / "hello" / "c" / "main.c"
    assert cc.main(["-o", str(out), "-I/usr/include", str(main), str(hello)]) == 0
    assert out.read_bytes().startswith(b"\0asm")
