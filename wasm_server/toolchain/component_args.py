"""The command line both component toolchains share (``wasm-server python``, ``wasm-server js``):
options that take one value each, at most one app module, a world from a known set."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path

from ..errors import BuildError


def scan(tool: str, argv: list[str], valued: Collection[str], usage: str
         ) -> tuple[list[tuple[str, str]], Path | None]:
    """``(option, value)`` pairs in order and the app module, if one was named.

    BuildError for an option without its value, an unknown option, or a second app."""
    options: list[tuple[str, str]] = []
    apps: list[Path] = []
    it = iter(argv)
    for arg in it:
        if arg in valued:
            value = next(it, None)
            if value is None:
                raise BuildError(f"wasm-server {tool}: {arg} needs a value ({usage})")
            options.append((arg, value))
        elif arg.startswith("-"):
            raise BuildError(f"wasm-server {tool}: unknown option {arg} ({usage})")
        else:
            apps.append(Path(arg))
    if len(apps) > 1:
        raise BuildError(f"wasm-server {tool}: one app module, not {len(apps)} ({usage})")
    return options, (apps[0] if apps else None)


def check_world(tool: str, world: str, known: Iterable[str]) -> None:
    """BuildError unless ``world`` is one of ``known``."""
    names = list(known)
    if world not in names:
        raise BuildError(f"wasm-server {tool}: no world {world!r} (known: {', '.join(names)})")
