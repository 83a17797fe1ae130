"""``wasm-server new LANG NAME``: a project from a template that builds and serves.

A new service holds no path to this installation: the build commands find the SDKs at build
time (toolchain/sdk.py), so the service and the installation can each move."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import BuildError, ConfigError

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def languages() -> list[str]:
    """Template languages available in this installation."""
    return sorted(p.name for p in TEMPLATES.iterdir() if p.is_dir()) if TEMPLATES.exists() else []


def go_version() -> str:
    """The ``go`` line for a new Go service: the version of the Go that ``go-build`` will use.

    A lower line gets raised by the first ``go get`` of a framework that needs more, and a
    higher one cannot build here (``GOTOOLCHAIN=local``); without a Go yet, the minimum."""
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
    values = {"{{name}}": name, "{{crate_name}}": name.replace("-", "_")}
    if lang == "go":
        from ..toolchain import goproxy

        values["{{go_version}}"] = go_version()
        values["{{go_sdk_version}}"] = goproxy.version()
    for src in sorted((TEMPLATES / lang).rglob("*")):
        if src.is_dir() or "__pycache__" in src.parts:
            continue
        dest = target / src.relative_to(TEMPLATES / lang)
        dest.parent.mkdir(parents=True, exist_ok=True)
        text = src.read_text()
        for key, value in values.items():
            text = text.replace(key, value)
        dest.write_text(text)
    if lang == "go":
        _provide_go_sdk(target)
    return target


def _provide_go_sdk(target: Path) -> None:
    """Put the SDK module in Go's module cache and its hash in go.sum now, so a plain
    ``go get`` of a framework works before the first build. Without a Go yet, the first
    ``go-build`` does it."""
    from ..toolchain import go

    try:
        toolchain = go.pick()
    except BuildError:
        return
    go.provide_sdk(toolchain, target / "go.mod")
