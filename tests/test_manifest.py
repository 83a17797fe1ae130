"""Manifest loading: the minimal form, includes, and errors naming file and field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wasm_server.errors import ConfigError
from wasm_server.manifest import load_manifest

MINIMAL = """
[[component]]
name = "hello"
source = "hello.wasm"
abi = "wagi"
routes = ["/hello/..."]
"""


def write(dir_: Path, text: str, name: str = "wasm-server.toml") -> Path:
    dir_.mkdir(parents=True, exist_ok=True)
    p = dir_ / name
    p.write_text(text)
    return p


def test_minimal_manifest_exactly_as_documented(tmp_path: Path) -> None:
    spec = load_manifest(write(tmp_path, MINIMAL).parent)
    (c,) = spec.components
    assert c.name == "hello" and c.abi == "wagi"
    assert c.source == (tmp_path / "hello.wasm").resolve()
    assert [r.pattern for r in c.routes] == ["/hello/..."]
    assert c.limits.memory == 64 * 1024 * 1024 and c.limits.timeout == 10.0


def test_abi_defaults_to_native_and_limits_parse(tmp_path: Path) -> None:
    text = MINIMAL.replace('abi = "wagi"\n', "") + '[component.limits]\nmemory = "8MiB"\ntimeout = "500ms"\n'
    (c,) = load_manifest(write(tmp_path, text)).components
    assert c.abi == "native" and c.limits.memory == 8 * 1024 * 1024 and c.limits.timeout == 0.5
    assert (c.limits.concurrency, c.limits.queue, c.limits.idle_instances) == (100, 400, 64)


def test_include_mounts_routes_and_can_override_them(tmp_path: Path) -> None:
    write(tmp_path / "a", MINIMAL.replace('"/hello/..."', '"/..."'))
    write(tmp_path / "b", MINIMAL.replace('"hello"', '"counter"').replace('"/hello/..."', '"/count"'))
    top = write(tmp_path, '[[include]]\npath = "a"\nmount = "/x"\n[[include]]\npath = "b"\nroutes = ["/c"]\n')
    a, b = load_manifest(top).components
    assert [r.pattern for r in a.routes] == ["/x/..."]
    assert [r.pattern for r in b.routes] == ["/c"]
    assert a.source == (tmp_path / "a" / "hello.wasm").resolve()


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        (MINIMAL.replace('abi = "wagi"', 'abi = "cgi"'), "component 'hello'.abi", "unknown abi"),
        (MINIMAL.replace('name = "hello"', "name = 3"), "component[0].name", "expected a non-empty string"),
        (MINIMAL.replace('source = "hello.wasm"\n', ""), "component 'hello'.source", "is required"),
        (MINIMAL + "colour = 1\n", "component[0].colour", "unknown field"),
        (MINIMAL + '[component.limits]\nmemory = "lots"\n', "component 'hello'.limits.memory", "size"),
        (MINIMAL + '[component.limits]\nconcurrency = 0\n', "component 'hello'.limits.concurrency", ">= 1"),
        (MINIMAL + '[component.limits]\nqueue = -1\n', "component 'hello'.limits.queue", "non-negative"),
        (MINIMAL.replace("routes = [", 'allowed_outbound_hosts = ["nope"]\nroutes = ['),
         "component 'hello'.allowed_outbound_hosts[0]", "scheme://host"),
        ("[[component]\n", "", "invalid TOML"),
    ],
)
def test_errors_name_file_field_and_reason(tmp_path: Path, text: str, field: str, reason: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_manifest(path)
    message = str(info.value)
    assert str(path.resolve()) in message and field in message and reason in message


def test_duplicate_component_names_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "a", MINIMAL)
    top = write(tmp_path, MINIMAL + '[[include]]\npath = "a"\n')
    with pytest.raises(ConfigError, match="used twice"):
        load_manifest(top)


def test_cli_exits_2_naming_file_and_field_without_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace('abi = "wagi"', "abi = 5"))
    proc = subprocess.run([sys.executable, "-m", "wasm_server.cli.main", "up", str(path), "--no-build"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert str(path.resolve()) in proc.stderr and "component 'hello'.abi" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_preinit_defaults_off_and_parses(tmp_path: Path) -> None:
    (c,) = load_manifest(write(tmp_path / "a", MINIMAL)).components
    assert c.preinit is False
    (c,) = load_manifest(write(tmp_path / "b", MINIMAL + "preinit = true\n")).components
    assert c.preinit is True
    with pytest.raises(ConfigError, match="preinit"):
        load_manifest(write(tmp_path / "c", MINIMAL + 'preinit = "yes"\n'))
