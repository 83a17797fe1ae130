"""``wasm-server new``: a service that holds no path to this installation (issue 12), and an
editable checkout that reads the SDKs from sdk/ (a stray wasm_server/_sdk would shadow it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasm_server.cli.new import create, languages
from wasm_server.toolchain.sdk import sdk_root

ROOT = Path(__file__).resolve().parents[2]


def test_a_checkout_reads_its_own_sdk_directory() -> None:
    assert not (ROOT / "wasm_server" / "_sdk").exists(), "a build left wasm_server/_sdk in the checkout"
    assert sdk_root() == ROOT / "sdk"


@pytest.mark.parametrize("lang", languages())
def test_a_new_service_holds_no_absolute_path(lang: str, tmp_path: Path) -> None:
    svc = create(lang, "portable", tmp_path)
    for path in (p for p in svc.rglob("*") if p.is_file()):
        text = path.read_text()
        for absolute in (str(ROOT), str(sdk_root()), str(tmp_path)):
            assert absolute not in text, f"{path.relative_to(svc)} names {absolute}"
        assert "{{" not in text, f"{path.relative_to(svc)} has a placeholder left"
