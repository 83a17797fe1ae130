"""``wasm-server new LANG NAME``: a project from a template that builds and serves."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import ConfigError

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SDK_DIR = Path(__file__).resolve().parents[2] / "sdk"


def languages() -> list[str]:
    """Template languages available in this installation."""
    return sorted(p.name for p in TEMPLATES.iterdir() if p.is_dir()) if TEMPLATES.exists() else []


def go_version() -> str:
    """The ``go`` line for a new Go service: the version of the Go that ``go-build`` will use.

    A lower line gets raised by the first ``go get`` of a framework that needs more, and a
    higher one cannot build here (``GOTOOLCHAIN=local``); without a Go yet, the minimum."""
    from ..errors import BuildError
    from ..toolchain import go

    try:
        major, minor = go.pick().version
    except BuildError:
        major, minor = go.MIN_VERSION
    return f"{major}.{minor}"


def create(lang: str, name: str, parent: Path) -> Path:
    """Copy the template for ``lang`` into ``parent/name`` with placeholders filled."""
    if lang not in languages():
        raise ConfigError(f"no template for '{lang}' (available: {', '.join(languages())})")
    if not re.match(r"^[a-z][a-z0-9-]*$", name):
        raise ConfigError(f"'{name}' is not a valid name: use lower-case letters, digits and '-'")
    target = parent / name
    if target.exists():
        raise ConfigError(f"{target} already exists")
    values = {"{{name}}": name, "{{crate_name}}": name.replace("-", "_"),
              "{{sdk_path}}": str(SDK_DIR / "rust"), "{{sdk_dir}}": str(SDK_DIR)}
    if lang == "go":
        values["{{go_version}}"] = go_version()
    for src in sorted((TEMPLATES / lang).rglob("*")):
        if src.is_dir() or "__pycache__" in src.parts:
            continue
        dest = target / src.relative_to(TEMPLATES / lang)
        dest.parent.mkdir(parents=True, exist_ok=True)
        text = src.read_text()
        for key, value in values.items():
            text = text.replace(key, value)
        dest.write_text(text)
    return target
