"""``wasm-server doctor [LANG ...] [--json]``: which guest languages this machine can build.

One line per language: the toolchain found (version, path) or missing, with the one command
that installs it. Exit status 1 when a language named on the command line is missing, so a
script can ask ``wasm-server doctor go c || …``; without names it only reports.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, replace

from .. import __version__
from ..errors import ConfigError, WasmServerError
from ..toolchain import assemblyscript, c, cpp, go, js, python, rust
from ..toolchain.sdk import sdk_root
from ..toolchain.status import ToolStatus

#: each language's status(), in the order doctor lists them.
CHECKS: tuple[Callable[[], ToolStatus], ...] = (c.status, cpp.status, rust.status, go.status, assemblyscript.status,
                                                python.status, js.status)
#: the names a user may type for a language → the name doctor reports it under
ALIASES = {"c++": "cpp", "typescript": "ts", "assemblyscript": "ts", "javascript": "js", "py": "python"}


def canonical(lang: str) -> str:
    """``ts`` for ``typescript`` / ``assemblyscript``, ``cpp`` for ``c++``; others unchanged."""
    return ALIASES.get(lang.lower(), lang.lower())


def _run(check: Callable[[], ToolStatus]) -> ToolStatus:
    """One check; a toolchain that fails to answer is reported missing, not a crash of doctor."""
    try:
        found = check()
    except (WasmServerError, OSError) as exc:
        name = check.__module__.rsplit(".", 1)[-1]
        return ToolStatus(name, "?", found=False, note=f"checking failed: {exc}")
    return replace(found, language=canonical(found.language))


def statuses(langs: list[str] | None = None) -> list[ToolStatus]:
    """Every language's status, or only ``langs`` (ConfigError for one doctor does not know)."""
    results = [_run(check) for check in CHECKS]
    if not langs:
        return results
    wanted = [canonical(lang) for lang in langs]
    known = {s.language for s in results}
    unknown = [lang for lang in wanted if lang not in known]
    if unknown:
        raise ConfigError(f"doctor knows no language {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return [s for s in results if s.language in wanted]


def _sdks() -> str:
    try:
        return str(sdk_root())
    except WasmServerError as exc:
        return f"missing ({exc})"


def render(results: list[ToolStatus]) -> str:
    """The human-readable report."""
    lines = [f"wasm-server {__version__}, SDKs in {_sdks()}"]
    for s in results:
        if s.found:
            note = f" ({s.note})" if s.note else ""
            lines.append(f"  {s.language:<5} ok       {s.tool} {s.version or '?'}: {s.path or '?'}{note}")
        else:
            lines.append(f"  {s.language:<5} MISSING  {s.tool}; install it with: {s.install}")
            if s.note:
                lines.append(f"                 {s.note}")
    return "\n".join(lines)


def main(langs: list[str], as_json: bool) -> int:
    """Print the report; 1 when a language asked for by name is missing."""
    results = statuses(langs)
    if as_json:
        print(json.dumps({"version": __version__, "sdks": _sdks(), "toolchains": [asdict(s) for s in results]},
                         indent=2))
    else:
        print(render(results))
    return 1 if langs and not all(s.found for s in results) else 0
