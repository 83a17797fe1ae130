"""``[app] base``: every route of a manifest mounted under one prefix (the studio's deploy sets it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasm_server.errors import ConfigError
from wasm_server.manifest import load_manifest

ONE = """
[[component]]
name = "hello"
source = "hello.wasm"
routes = ["/...", "/exact", {{ path = "/items/{{id}}", methods = ["GET"] }}]
"""


def write(dir_: Path, text: str) -> Path:
    dir_.mkdir(parents=True, exist_ok=True)
    p = dir_ / "wasm-server.toml"
    p.write_text(text)
    return p


def test_base_prefixes_every_route(tmp_path: Path) -> None:
    (c,) = load_manifest(write(tmp_path, '[app]\nbase = "/shop"\n' + ONE.format())).components
    assert [r.pattern for r in c.routes] == ["/shop/...", "/shop/exact", "/shop/items/{id}"]


def test_no_base_leaves_routes_alone(tmp_path: Path) -> None:
    (c,) = load_manifest(write(tmp_path, '[app]\nname = "x"\n' + ONE.format())).components
    assert [r.pattern for r in c.routes] == ["/...", "/exact", "/items/{id}"]


def test_base_applies_to_included_manifests_before_their_mount(tmp_path: Path) -> None:
    write(tmp_path / "a", ONE.format())
    top = write(tmp_path, '[app]\nbase = "/b"\n[[include]]\npath = "a"\nmount = "/m"\n')
    (c,) = load_manifest(top).components
    assert [r.pattern for r in c.routes] == ["/b/m/...", "/b/m/exact", "/b/m/items/{id}"]


def test_an_included_manifests_own_base_nests_under_the_mount(tmp_path: Path) -> None:
    write(tmp_path / "a", '[app]\nbase = "/inner"\n' + ONE.format())
    (c,) = load_manifest(write(tmp_path, '[[include]]\npath = "a"\nmount = "/m"\n')).components
    assert c.routes[0].pattern == "/m/inner/..."


@pytest.mark.parametrize("base", ['"shop"', '"/shop/"', '"/"', "3"])
def test_a_bad_base_names_the_field(tmp_path: Path, base: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_manifest(write(tmp_path, f"[app]\nbase = {base}\n" + ONE.format()))
    assert info.value.field == "app.base" and "expected a path like" in str(info.value)
