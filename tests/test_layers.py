"""The layering of docs/architecture.md, checked on the source: nothing below calls back up."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "wasm_server"

#: layers that must not import the ones above them (net/, app, deployments, admin/, cli/)
UPPER = ("wasm_server.net", "wasm_server.app", "wasm_server.deployments", "wasm_server.admin", "wasm_server.cli",
         "wasm_server.hosted", "wasm_server.asgi", "wasm_server.embed")
LOWER = ("protocol", "routing", "engine", "capabilities", "kv", "executors", "pubsub")


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            mod = ".".join([*base, node.module] if node.module else base)
            found.add(mod)
            found.update(f"{mod}.{alias.name}" for alias in node.names)
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_the_package_has_sources() -> None:
    assert len(SOURCES) > 50


@pytest.mark.parametrize("path", [p for p in SOURCES if p.relative_to(PACKAGE).parts[0] in LOWER], ids=str)
def test_lower_layers_never_import_upper_ones(path: Path) -> None:
    bad = sorted(i for i in imports(path) if i.startswith(UPPER))
    assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


@pytest.mark.parametrize("path", [p for p in SOURCES if p.relative_to(PACKAGE).parts[0] == "engine"], ids=str)
def test_engine_knows_no_capability(path: Path) -> None:
    bad = sorted(i for i in imports(path) if i.startswith(("wasm_server.capabilities", "wasm_server.executors")))
    assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


@pytest.mark.parametrize("path", [p for p in SOURCES if p.relative_to(PACKAGE).parts[0] != "engine"], ids=str)
def test_only_the_engine_touches_lowlevel_or_ctypes(path: Path) -> None:
    bad = sorted(i for i in imports(path) if i == "ctypes" or i.startswith(("ctypes.", "wasm_server.engine._lowlevel"))
                 or i in ("wasmtime._ffi", "wasmtime._bindings"))
    assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


@pytest.mark.parametrize("path", sorted((PACKAGE / "protocol").glob("*.py")), ids=str)
def test_protocol_is_sans_io(path: Path) -> None:
    bad = sorted(i for i in imports(path) if i.split(".")[0] in ("asyncio", "socket", "ssl", "uvloop"))
    assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


def test_the_checker_sees_relative_imports() -> None:
    found = imports(PACKAGE / "app.py")
    assert "wasm_server.protocol.response" in found and "wasm_server.routing.Router" in found
