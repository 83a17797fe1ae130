"""What each language's toolchain reports to ``wasm-server doctor``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ToolStatus:
    """One language's toolchain as found on this machine.

    ``install`` is the one command that installs what is missing (shown when ``found`` is
    false); ``note`` says anything else a user should know (e.g. which of two Go is used)."""

    language: str
    tool: str
    found: bool
    version: str | None = None
    path: str | None = None
    install: str = ""
    note: str = ""
