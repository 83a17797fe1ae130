"""Export and import: a round trip, and archives that try to escape or inflate are refused."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from wasm_server.studio import archive
from wasm_server.studio.archive import export, import_zip
from wasm_server.studio.workspace import StudioError, Workspace


def zip_of(entries: dict[str, bytes], *, link: str | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        if link is not None:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return out.getvalue()


MANIFEST = b'[[component]]\nname = "s"\nsource = "s.wasm"\nroutes = ["/..."]\n'


def test_export_then_import_round_trips_the_sources_only(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    s = ws.create("c", "hello")
    (s.path / "hello.wasm").write_bytes(b"\0asm")
    (s.path / ".wasm-server").mkdir()
    (s.path / ".wasm-server" / "lock").write_text("")
    ws.write(s, "include/extra.h", b"#define EXTRA 1\n")
    data = export(ws, s)
    names = sorted(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert names == ["include/extra.h", "main.c", "wasm-server.toml"]
    copy = import_zip(ws, "copy", data)
    assert copy.describe() == {"id": "copy", "name": "copy", "language": "c"}
    assert ws.read(copy, "main.c") == ws.read(s, "main.c")
    assert ws.read(copy, "include/extra.h") == "#define EXTRA 1\n"


def test_a_single_top_folder_is_stripped(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    s = import_zip(ws, "x", zip_of({"repo-main/wasm-server.toml": MANIFEST, "repo-main/src/a.c": b"int a;\n"}))
    assert [f["path"] for f in ws.files(s)] == ["src/a.c", "wasm-server.toml"]


@pytest.mark.parametrize(("entries", "link", "why"), [
    ({"wasm-server.toml": MANIFEST, "../evil.c": b"x"}, None, "'..' is refused"),
    ({"wasm-server.toml": MANIFEST, "a/../../evil.c": b"x"}, None, "'..' is refused"),
    ({"wasm-server.toml": MANIFEST, "/etc/evil": b"x"}, None, "absolute"),
    ({"wasm-server.toml": MANIFEST, ".git/hooks/post-checkout": b"x"}, None, "hidden"),
    ({"wasm-server.toml": MANIFEST, "node_modules/x.js": b"x"}, None, "build output"),
    ({"wasm-server.toml": MANIFEST}, "link.c", "symlink"),
    ({"main.c": b"int x;"}, None, "no wasm-server.toml"),
])
def test_unsafe_archives_are_refused_and_leave_nothing(tmp_path: Path, entries: dict[str, bytes], link: str | None,
                                                       why: str) -> None:
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(StudioError) as info:
        import_zip(ws, "bad", zip_of(entries, link=link))
    assert info.value.status == 400 and why in str(info.value)
    assert list(ws.root.iterdir()) == []
    assert not (tmp_path / "evil.c").exists()


def test_not_a_zip_bad_names_and_existing_names(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    with pytest.raises(StudioError) as info:
        import_zip(ws, "x", b"not a zip")
    assert info.value.status == 400 and "not a zip" in str(info.value)
    for name in ("Bad", "../x", ".hidden", ""):
        with pytest.raises(StudioError) as info:
            import_zip(ws, name, zip_of({"wasm-server.toml": MANIFEST}))
        assert info.value.status == 400
    ws.create("c", "taken")
    with pytest.raises(StudioError) as info:
        import_zip(ws, "taken", zip_of({"wasm-server.toml": MANIFEST}))
    assert info.value.status == 409


def test_a_zip_bomb_is_refused_before_unpacking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "MAX_UNPACKED", 1000)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("wasm-server.toml", MANIFEST)
        zf.writestr("zeros.c", b"\0" * 100_000)  # about 100 bytes packed
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(StudioError) as info:
        import_zip(ws, "bomb", out.getvalue())
    assert "unpacks to more than" in str(info.value)
    assert list(ws.root.iterdir()) == []


def test_too_many_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "MAX_ENTRIES", 3)
    data = zip_of({"wasm-server.toml": MANIFEST, **{f"f{i}.c": b"" for i in range(3)}})
    with pytest.raises(StudioError, match="4 entries"):
        import_zip(Workspace(tmp_path), "many", data)
