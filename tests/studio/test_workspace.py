"""The workspace: services found in DIR, and file paths that cannot leave a service."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wasm_server.studio.workspace import StudioError, Workspace

MANIFEST = '[[component]]\nname = "app"\nsource = "app.wasm"\nroutes = ["/..."]\n'


def service(dir_: Path, *files: str) -> Path:
    dir_.mkdir(parents=True, exist_ok=True)
    (dir_ / "wasm-server.toml").write_text(MANIFEST)
    for f in files:
        (dir_ / f).parent.mkdir(parents=True, exist_ok=True)
        (dir_ / f).write_text(f"// {f}\n")
    return dir_


def test_services_are_the_dir_itself_and_its_subdirectories_with_a_manifest(tmp_path: Path) -> None:
    service(tmp_path, "main.c")
    service(tmp_path / "b-rust", "Cargo.toml")
    service(tmp_path / "a-go", "go.mod")
    (tmp_path / "plain").mkdir()
    (tmp_path / "named").mkdir()
    (tmp_path / "named" / "wasm-server.toml").write_text('[app]\nname = "shop"\n' + MANIFEST)
    found = [s.describe() for s in Workspace(tmp_path).services()]
    assert found == [{"id": ".", "name": tmp_path.name, "language": "c"},
                     {"id": "a-go", "name": "a-go", "language": "go"},
                     {"id": "b-rust", "name": "b-rust", "language": "rust"},
                     {"id": "named", "name": "shop", "language": None}]


def test_the_workspace_is_created_if_missing(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "new" / "dir")
    assert ws.root.is_dir() and ws.services() == []


def test_create_uses_the_templates_and_refuses_an_existing_name(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    s = ws.create("c", "hello")
    assert s.describe() == {"id": "hello", "name": "hello", "language": "c"}
    assert "Hello from hello!" in ws.read(s, "main.c")
    with pytest.raises(StudioError) as info:
        ws.create("c", "hello")
    assert info.value.status == 409
    with pytest.raises(StudioError) as info:
        ws.create("cobol", "x")
    assert info.value.status == 400 and "no template for 'cobol'" in str(info.value)
    with pytest.raises(StudioError) as info:
        ws.create("c", "Bad Name")
    assert info.value.status == 400 and "not a valid name" in str(info.value)


@pytest.mark.parametrize("sid", ["", "..", "../x", "a/b", "/etc"])
def test_malformed_service_ids_are_refused(tmp_path: Path, sid: str) -> None:
    with pytest.raises(StudioError) as info:
        Workspace(tmp_path).service(sid)
    assert info.value.status == 400


def test_an_unknown_service_is_404_and_a_symlinked_one_is_not_a_service(tmp_path: Path) -> None:
    outside = service(tmp_path / "outside")
    ws = Workspace(tmp_path / "ws")
    (ws.root / "link").symlink_to(outside)
    for sid in ("nope", "link"):
        with pytest.raises(StudioError) as info:
            ws.service(sid)
        assert info.value.status == 404
    assert ws.services() == []


def test_files_lists_sources_only(tmp_path: Path) -> None:
    root = service(tmp_path / "s", "main.c", "src/lib.rs", ".hidden", ".git/config", "target/debug/x",
                   "node_modules/pkg/index.js", ".wasm-server/lock", "app.wasm", "sub/deep/x.h")
    (root / "out-link").symlink_to(tmp_path)  # a directory link out: not followed
    (root / "secret-link").symlink_to("/etc/passwd")
    os.mkfifo(root / "pipe.c")
    ws = Workspace(tmp_path)
    files = ws.files(ws.service("s"))
    assert [f["path"] for f in files] == ["main.c", "src/lib.rs", "sub/deep/x.h", "wasm-server.toml"]
    assert files[0]["size"] == len("// main.c\n")


@pytest.mark.parametrize(("path", "status", "why"), [
    ("../x.c", 400, "'..' is refused"),
    ("a/../../x.c", 400, "'..' is refused"),
    ("/etc/passwd", 400, "absolute paths are refused"),
    ("~/x", 400, "absolute paths are refused"),
    ("node_modules/x/index.js", 400, "node_modules/ holds build output"),
    ("target/x", 400, "target/ holds build output"),
    (".git/config", 400, "hidden files"),
    ("a\\b", 400, "'/' separators"),
    ("", 400, "relative path"),
])
def test_unsafe_paths_are_refused_with_a_reason(tmp_path: Path, path: str, status: int, why: str) -> None:
    ws = Workspace(tmp_path)
    s = ws.service(service(tmp_path / "s").name)
    for call in (lambda: ws.read(s, path), lambda: ws.write(s, path, b"x"), lambda: ws.delete(s, path)):
        with pytest.raises(StudioError) as info:
            call()
        assert info.value.status == status and why in str(info.value)


def test_a_symlink_pointing_outside_is_refused_for_read_write_and_delete(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    root = service(tmp_path / "s")
    (root / "leak.c").symlink_to(secret)
    (root / "dir").symlink_to(tmp_path)
    ws = Workspace(tmp_path)
    s = ws.service("s")
    for rel in ("leak.c", "dir/secret.txt"):
        for call in (ws.read, ws.delete, lambda s, r: ws.write(s, r, b"x")):
            with pytest.raises(StudioError) as info:
                call(s, rel)
            assert info.value.status == 403 and "outside the service" in str(info.value)
    assert secret.read_text() == "secret"


def test_read_write_delete_round_trip(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    s = ws.service(service(tmp_path / "s").name)
    ws.write(s, "src/new/file.rs", b"fn main() {}\n")
    assert ws.read(s, "src/new/file.rs") == "fn main() {}\n"
    ws.delete(s, "src/new/file.rs")
    with pytest.raises(StudioError) as info:
        ws.read(s, "src/new/file.rs")
    assert info.value.status == 404
    assert not list((tmp_path / "s").rglob("*.studio-tmp"))


def test_binary_and_oversized_files(tmp_path: Path) -> None:
    root = service(tmp_path / "s")
    (root / "bin.dat").write_bytes(b"\x00\x01\xff")
    (root / "big.txt").write_bytes(b"x" * (1024 * 1024 + 1))
    ws = Workspace(tmp_path)
    s = ws.service("s")
    for rel, status in (("bin.dat", 415), ("big.txt", 413)):
        with pytest.raises(StudioError) as info:
            ws.read(s, rel)
        assert info.value.status == status
    with pytest.raises(StudioError) as info:
        ws.write(s, "x.txt", b"x" * (1024 * 1024 + 1))
    assert info.value.status == 413
    with pytest.raises(StudioError) as info:
        ws.write(s, "x.txt", b"\xff\xfe")
    assert info.value.status == 415


def test_the_workspace_service_does_not_list_the_other_services_files(tmp_path: Path) -> None:
    service(tmp_path, "main.c", "lib/util.c")
    service(tmp_path / "other", "main.go")
    ws = Workspace(tmp_path)
    assert [f["path"] for f in ws.files(ws.service("."))] == ["lib/util.c", "main.c", "wasm-server.toml"]
    assert [f["path"] for f in ws.files(ws.service("other"))] == ["main.go", "wasm-server.toml"]
