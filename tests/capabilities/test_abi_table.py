"""The host's import table is the one docs/abi.md documents: same names, same signatures."""

from __future__ import annotations

import re
from pathlib import Path

from wasm_server.capabilities import ALL_IMPORTS

ABI_MD = Path(__file__).resolve().parents[2] / "docs" / "abi.md"
_ROW = re.compile(r"^\| `(\w+)` \| `\(([^)]*)\) -> ([^`]+)` \|", re.M)


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    nxt = text.find("\n### ", start + len(heading))
    ends = [i for i in (end, nxt) if i != -1]
    return text[start:min(ends)] if ends else text[start:]


def _documented(section: str) -> dict[str, str]:
    """name → ``params->results`` in the engine's notation (i = i32, l = i64)."""
    table = {}
    for name, params, result in _ROW.findall(section):
        kinds = "".join("l" if p.strip().endswith(": i64") else "i" for p in params.split(",") if p.strip())
        table[name] = kinds + "->" + {"i32": "i", "i64": "l", "()": ""}[result.strip()]
    return table


def _host(module: str) -> dict[str, str]:
    return {spec.name: spec.signature for spec in ALL_IMPORTS if spec.module == module}


def test_wasm_server_imports_match_the_documented_table() -> None:
    text = ABI_MD.read_text()
    documented = _documented(_section(text, "## Host imports (module `wasm_server`)"))
    assert len(documented) >= 25  # the parser found the table
    assert _host("wasm_server") == documented


def test_replaced_wasi_functions_match_the_documented_table() -> None:
    text = ABI_MD.read_text()
    documented = _documented(_section(text, "## WASI functions the host replaces"))
    assert _host("wasi_snapshot_preview1") == documented == {
        "poll_oneoff": "iiii->i", "fd_write": "iiii->i"}


def test_every_import_is_defined_once() -> None:
    keys = [(spec.module, spec.name) for spec in ALL_IMPORTS]
    assert len(keys) == len(set(keys))
