"""What a TypeScript service asks of ``asc``: its asconfig.json and the flags given to ts-build.

asc applies both itself (ts-build runs it in the project, so it finds ``asconfig.json`` the way
it does for ``npx asc``). ts-build reads them only to add its own settings without fighting the
service's: the options the server needs are always set, and a service that sets them otherwise
is refused with the option's name (asc would let the command line win silently); ts-build's
defaults (``-O3``, the incremental runtime) apply only where the service chose nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BuildError

#: asc's options that take a value (asc's own table marks the others boolean); an argument
#: after one of them is its value, not an entry file, as in asc's parser
VALUE_OPTIONS = frozenset({
    "config", "target", "optimizeLevel", "shrinkLevel", "outFile", "textFile", "bindings", "sourceMap",
    "uncheckedBehavior", "initialMemory", "maximumMemory", "exportStart", "runtime", "stackSize", "enable",
    "disable", "use", "lowMemoryLimit", "memoryBase", "tableBase", "transform", "trapMode", "runPasses",
    "baseDir", "disableWarning", "lib", "path", "wasm"})
#: options asc accumulates (the command line's are added to asconfig.json's)
LIST_OPTIONS = frozenset({"bindings", "enable", "disable", "use", "transform", "lib", "path", "disableWarning"})
ALIASES = {"o": "outFile", "t": "textFile", "b": "bindings", "u": "use", "O": "optimize", "v": "version", "h": "help"}

#: what the server needs of every module, and why (the message of a conflicting setting)
REQUIRED: dict[str, tuple[object, str]] = {
    "exportStart": ("_initialize", "the server runs top-level code through the _initialize export"),
    "importMemory": (False, "the server does not provide env.memory"),
    "noExportMemory": (False, "the server reads requests and responses through the exported memory"),
    "importTable": (False, "the server does not provide env.table"),
}
#: names the SDK takes with --use (abort, trace and Math.random's seed go to the host, not to env)
SDK_GLOBALS = ("abort", "trace", "seed")
#: ts-build's choices where the service makes none: -O3 for speed; the incremental collector
#: (the measurements are in assemblyscript.py)
OPTIMIZE_OPTIONS = ("optimize", "optimizeLevel", "shrinkLevel")


@dataclass(frozen=True)
class Flags:
    """ts-build's arguments split: our ``-o``, the entry files, and the rest for asc verbatim."""

    out: Path | None = None
    entries: tuple[Path, ...] = ()
    asc: tuple[str, ...] = ()
    options: Mapping[str, object] = field(default_factory=dict)  # what ``asc`` reads in them


def parse_flags(argv: Sequence[str]) -> Flags:
    """Split ts-build's argv the way asc's parser would read it."""
    out: Path | None = None
    entries: list[Path] = []
    asc: list[str] = []
    options: dict[str, object] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not arg.startswith("-") or arg == "-":
            entries.append(Path(arg))
            continue
        name, value = _split(arg)
        if name in VALUE_OPTIONS and value is None:
            if i < len(argv) and not argv[i].startswith("-"):
                value = argv[i]
                i += 1
            else:
                value = ""
        if name == "outFile":
            if not value:
                raise BuildError("wasm-server ts-build: -o needs a value")
            out = Path(value)
            continue
        if name == "baseDir":
            raise BuildError("wasm-server ts-build: --baseDir is not supported; run ts-build in the project "
                             "directory (asc's baseDir is the directory it runs in)")
        asc.append(arg)
        if value is not None and "=" not in arg:
            asc.append(value)  # the value was the next argument
        if name in LIST_OPTIONS:
            prior = options.get(name)
            options[name] = [*(prior if isinstance(prior, list) else []), *str(value).split(",")]
        else:
            options[name] = True if value is None else value
    return Flags(out, tuple(entries), tuple(asc), options)


def _split(arg: str) -> tuple[str, str | None]:
    """``--name=value`` / ``-o=value`` / ``-O3`` into asc's option name and the inline value."""
    if arg.startswith("-O") and not arg.startswith("--"):
        return "optimize", None  # -O, -O3, -Os, -Ospeed …: optimization shorthands
    body, eq, value = arg.lstrip("-").partition("=")
    name = ALIASES.get(body, body) if not arg.startswith("--") else body
    return name, value if eq else None


@dataclass(frozen=True)
class AsConfig:
    """The service's asconfig.json for one target, ``extends`` followed: the options it sets
    (a file's own before what it extends, a target's before the file's ``options``) and its entries."""

    path: Path | None
    options: Mapping[str, object]
    entries: tuple[Path, ...]


def load(project: Path, config: str | None = None, target: str | None = None) -> AsConfig:
    """Read ``asconfig.json`` (or ``config``) in ``project``; an empty config when there is none."""
    first = project / (config or "asconfig.json")
    if not first.is_file():
        if config:
            raise BuildError(f"wasm-server ts-build: --config {config}: no such file in {project}")
        return AsConfig(None, {}, ())
    options: dict[str, object] = {}
    entries: list[Path] = []
    seen: set[Path] = set()
    path: Path | None = first.resolve()
    while path is not None and path not in seen:
        seen.add(path)
        data = _read(path)
        targets = data.get("targets") or {}
        for layer in ((targets.get(target or "release") if isinstance(targets, dict) else None),
                      data.get("options")):
            if isinstance(layer, dict):
                _merge(options, layer)
        listed = data.get("entries")
        entries += [path.parent / str(e) for e in (listed if isinstance(listed, list) else [])]
        extends = data.get("extends")
        path = _resolve_extends(str(extends), path.parent) if extends else None
    return AsConfig(first, options, tuple(entries))


def _read(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BuildError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BuildError(f"{path}: asconfig.json must hold a JSON object")
    return data


def _merge(into: dict[str, object], layer: Mapping[str, object]) -> None:
    """asc's rule: a value already set wins; lists accumulate."""
    for key, value in layer.items():
        if key in LIST_OPTIONS:
            prior = into.get(key)
            into[key] = [*(prior if isinstance(prior, list) else []),
                         *(value if isinstance(value, list) else [value])]
        elif key not in into:
            into[key] = value


def _resolve_extends(name: str, base: Path) -> Path | None:
    """An ``extends`` path: relative to the file, or a package in node_modules (asc uses Node's
    resolution for it); None when it cannot be found here (asc then reports it)."""
    if name.startswith(".") or Path(name).is_absolute():
        found = (base / name).resolve()
        return found if found.is_file() else None
    for parent in (base, *base.parents):
        candidate = parent / "node_modules" / name
        if candidate.is_file():
            return candidate.resolve()
    return None


def check(config: AsConfig, flags: Flags) -> None:
    """Refuse what would build a module the server cannot run, naming where it was set."""
    for source, options in ((str(config.path), config.options), ("the ts-build command line", flags.options)):
        for name, (needed, why) in REQUIRED.items():
            if name in options and options[name] != needed and not (needed is False and options[name] in ("", 0)):
                raise BuildError(f"{source} sets {name} = {json.dumps(options[name])}, but wasm-server needs "
                                 f"{json.dumps(needed)} ({why}); remove it")
        uses = options.get("use")
        for use in uses if isinstance(uses, list) else []:
            alias = str(use).partition("=")[0].strip()
            if alias in SDK_GLOBALS:
                raise BuildError(f"{source} sets use {use!r}, but the wasm-server SDK provides {alias} "
                                 "(it reaches the server log and WASI); remove it")


def defaults(config: AsConfig, flags: Flags) -> list[str]:
    """ts-build's defaults for what neither asconfig.json nor the command line chose."""
    chosen = {*config.options, *flags.options}
    out = []
    if not chosen & set(OPTIMIZE_OPTIONS):
        out.append("-O3")
    if "runtime" not in chosen:
        out += ["--runtime", "incremental"]
    return out


def required_flags(packages: Path) -> list[str]:
    """The flags the server needs of every module (``packages`` holds the SDK as ``wasm-server``)."""
    out = ["--path", str(packages), "--exportStart", str(REQUIRED["exportStart"][0])]
    for name in SDK_GLOBALS:
        out += ["--use", f"{name}=~lib/wasm-server/abort/wasm_server_{name}"]
    return out
