"""Deploy helpers: the manifest gets [app] base, the live URLs, and admin API failures as 502."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasm_server.manifest import load_manifest
from wasm_server.studio.deploy import Deployer, live_urls, with_base
from wasm_server.studio.workspace import StudioError, Workspace

COMPONENT = '[[component]]\nname = "s"\nsource = "s.wasm"\nroutes = ["/..."]\n'


@pytest.mark.parametrize("manifest", [
    COMPONENT,
    "# a comment first\n" + COMPONENT,
    '[app]\nname = "x"\n\n' + COMPONENT,
    '[app]  # the app\nname = "x"\nbase = "/old"\n' + COMPONENT,
    COMPONENT + '\n[app]\nindex = "<p>hi</p>"\n',
])
def test_with_base_sets_the_base_in_every_shape(tmp_path: Path, manifest: str) -> None:
    text = with_base(manifest, "/shop")
    (tmp_path / "wasm-server.toml").write_text(text)
    spec = load_manifest(tmp_path)
    assert [r.pattern for r in spec.components[0].routes] == ["/shop/..."]
    assert text.count("base =") == 1


def test_live_urls_are_each_routes_literal_prefix() -> None:
    routes = ["/shop/...", "/shop/items/{id}", "/shop/exact", "/shop/...", "/"]
    assert live_urls("http://127.0.0.1:8080/", routes) == [
        "http://127.0.0.1:8080/shop/", "http://127.0.0.1:8080/shop/items/", "http://127.0.0.1:8080/shop/exact",
        "http://127.0.0.1:8080/"]


async def test_an_unreachable_admin_api_is_502_with_the_reason(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    s = ws.create("c", "hello")
    (s.path / "hello.wasm").write_bytes(b"\0asm\1\0\0\0")
    with pytest.raises(StudioError) as info:
        await Deployer("http://127.0.0.1:9", "token").deploy(s, None)
    assert info.value.status == 502 and "cannot reach the admin API at http://127.0.0.1:9" in str(info.value)
    with pytest.raises(StudioError) as info:
        await Deployer("http://127.0.0.1:9", None).deploy(s, None)
    assert info.value.status == 502 and "no admin token" in str(info.value)


async def test_deploy_refuses_an_unbuilt_or_stale_service_and_bad_names(tmp_path: Path) -> None:
    import os

    ws = Workspace(tmp_path)
    s = ws.create("c", "hello")
    deployer = Deployer("http://127.0.0.1:9", "token")
    with pytest.raises(StudioError) as info:
        await deployer.deploy(s, None)
    assert info.value.status == 409 and "build first: hello is not built" in str(info.value)
    module = s.path / "hello.wasm"
    module.write_bytes(b"\0asm\1\0\0\0")
    os.utime(module, (1, 1))  # older than main.c
    with pytest.raises(StudioError) as info:
        await deployer.deploy(s, None)
    assert info.value.status == 409
    for name in ("Bad_Name", "-x", "a" * 64):
        with pytest.raises(StudioError) as info:
            await deployer.deploy(s, name)
        assert info.value.status == 400
