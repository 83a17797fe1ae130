"""The build policy: only `wasm-server <toolchain>` commands with arguments inside the service."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from wasm_server.manifest import BuildSpec
from wasm_server.studio.buildpolicy import PolicyError, argv_for


def spec(command: str, workdir: Path) -> BuildSpec:
    return BuildSpec(command, workdir, ())


@pytest.mark.parametrize("command", [
    "wasm-server cc -o hello.wasm main.c",
    "wasm-server c++ -o a.wasm main.cpp -Wl,-z,stack-size=65536",
    "wasm-server cargo-build -o x.wasm",
    "wasm-server go-build -o x.wasm",
    "wasm-server ts-build -o x.wasm",
    "wasm-server python -o x.wasm app.py",
    "wasm-server js -o x.wasm app.js",
    "wasm-server cc -o 'out dir/x.wasm' src/main.c -Iinclude --sysroot=sub",
])
def test_toolchain_commands_run_through_this_interpreter(tmp_path: Path, command: str) -> None:
    argv = argv_for(spec(command, tmp_path), tmp_path)
    assert argv[:3] == [sys.executable, "-m", "wasm_server.cli.main"]
    assert argv[3] == command.split()[1]


@pytest.mark.parametrize(("command", "why"), [
    ("make", "only wasm-server toolchain commands"),
    ("sh build.sh", "only wasm-server toolchain commands"),
    ("wasm-server up", "only wasm-server toolchain commands"),
    ("wasm-server", "only wasm-server toolchain commands"),
    ("cargo build --release", "only wasm-server toolchain commands"),
    ("wasm-server cc -o x.wasm main.c; rm -rf ~", "absolute path"),
    ("wasm-server cc -o /tmp/x.wasm main.c", "absolute path"),
    ("wasm-server cc -o x.wasm /etc/passwd", "absolute path"),
    ("wasm-server cc -I/usr/include -o x.wasm main.c", "absolute path"),
    ("wasm-server cc --sysroot=/ -o x.wasm main.c", "absolute path"),
    ("wasm-server cc -o ../x.wasm main.c", "'..'"),
    ("wasm-server cc -o x.wasm src/../../main.c", "'..'"),
    ("wasm-server cc -I.. -o x.wasm main.c", "'..'"),
    ("wasm-server cc -o x.wasm 'unclosed", "cannot split"),
])
def test_other_commands_and_paths_out_are_refused(tmp_path: Path, command: str, why: str) -> None:
    with pytest.raises(PolicyError) as info:
        argv_for(spec(command, tmp_path), tmp_path)
    assert why in str(info.value)
    if "toolchain" in why:
        assert "build this service with `wasm-server build`" in str(info.value)


def test_a_workdir_outside_the_service_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="workdir"):
        argv_for(spec("wasm-server cc -o x.wasm main.c", tmp_path.parent), tmp_path)
