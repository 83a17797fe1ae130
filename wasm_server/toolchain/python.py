"""``wasm-server python``: a Python app → a WASI 0.2 ``wasi:http/proxy`` component (componentize-py).

    wasm-server python -o app.wasm [app.py] [--world service|proxy] [-p DIR …]
    wasm-server python --bindings DIR [--world service|proxy]   # the generated API, for editors

Run it in the service's directory (``wasm-server up`` runs build commands there). The app
module (default ``app.py``) defines ``IncomingHandler``, usually with the SDK's
``handler(fn)`` (``sdk/python/wasm_server_guest.py``, on the module path of every build).
componentize-py (PyPI, ``pip install 'wasm-server[python]'``) pre-initialises CPython with
the app inside the component, so a build takes tens of seconds and the component is about
18 MB.

Worlds (``sdk/wit/worlds.wit``): ``service`` (the default) is ``wasi:http/proxy`` plus
``wasm-server:host/kv`` and ``variables``; ``proxy`` is ``wasi:http/proxy`` alone, for a
component that must run on other servers too (``wasmtime serve``, Spin). componentize-py
imports everything a world lists whether the app uses it or not, hence two worlds.
The WIT comes with the SDK (``sdk/wit``): nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BuildError
from .component_args import check_world, scan
from .sdk import sdk_dir
from .status import ToolStatus

INSTALL = "pip install 'wasm-server[python]'"
TOOL = "componentize-py"
WIT_PACKAGE = "wasm-server:host@0.1.0"
WORLDS = ("service", "proxy")
USAGE = "usage: wasm-server python -o OUT.wasm [app.py] [--world service|proxy] [-p DIR]"


@dataclass
class Flags:
    """``wasm-server python``'s arguments."""

    out: Path | None = None
    app: Path = Path("app.py")
    world: str = "service"
    paths: list[Path] = field(default_factory=list)
    bindings: Path | None = None


def parse_flags(argv: list[str]) -> Flags:
    """The flags in ``argv``; BuildError for an unknown flag or a second app."""
    flags = Flags()
    options, app = scan("python", argv, ("-o", "--world", "-p", "--path", "--bindings"), USAGE)
    for option, value in options:
        if option == "-o":
            flags.out = Path(value)
        elif option == "--world":
            flags.world = value
        elif option == "--bindings":
            flags.bindings = Path(value)
        else:
            flags.paths.append(Path(value))
    if app is not None:
        flags.app = app
    check_world("python", flags.world, WORLDS)
    return flags


def componentize_py() -> str:
    """The componentize-py beside this Python (a venv's bin/), else on PATH; BuildError if none."""
    beside = Path(sys.executable).parent / TOOL
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(TOOL)
    if found is None:
        raise BuildError(f"wasm-server python needs componentize-py: {INSTALL} (in a checkout: scripts/setup)")
    return found


def world_name(world: str) -> str:
    """The fully qualified world for componentize-py's ``-w``."""
    name, version = WIT_PACKAGE.split("@")
    return f"{name}/{world}@{version}"


def check_syntax(project: Path, app: Path) -> None:
    """Compile the app and the project's other modules with this Python first: a syntax error
    then shows file and line at once instead of after a long componentize-py run."""
    sources = [app, *sorted(p for p in project.glob("*.py") if p.resolve() != app.resolve())]
    for source in sources:
        try:
            compile(source.read_text(encoding="utf-8"), str(source), "exec", dont_inherit=True)
        except SyntaxError as exc:
            where = f"{exc.filename}:{exc.lineno}" + (f":{exc.offset}" if exc.offset else "")
            text = (exc.text or "").rstrip()
            raise BuildError(f"Python syntax error in {where}: {exc.msg}" + (f"\n    {text}" if text else "")) from None


def command(tool: str, flags: Flags, project: Path) -> list[str]:
    """componentize-py's command line for a build (``flags.out`` set) or a bindings run."""
    base = [tool, "-d", str(sdk_dir("wit")), "-w", world_name(flags.world)]
    if flags.bindings is not None:
        return [*base, "bindings", str(flags.bindings)]
    assert flags.out is not None
    module = flags.app.with_suffix("").as_posix().replace("/", ".")
    paths = [project, *(project / p for p in flags.paths), sdk_dir("python")]
    return [*base, "componentize", *(a for p in paths for a in ("-p", str(p))), module, "-o", str(project / flags.out)]


def build(argv: list[str], project: Path) -> Path:
    """Build (or write bindings) as ``argv`` asks in ``project``; the path written, or BuildError."""
    flags = parse_flags(argv)
    tool = componentize_py()
    if flags.bindings is not None:
        _run(command(tool, flags, project), project, f"bindings for the {flags.world} world")
        shutil.copy2(sdk_dir("python") / "wasm_server_guest.py", project / flags.bindings / "wasm_server_guest.py")
        print(f"wrote the {flags.world} world's bindings to {flags.bindings}", file=sys.stderr)
        return project / flags.bindings
    if flags.out is None:
        raise BuildError(f"wasm-server python: missing -o OUT.wasm ({USAGE})")
    app = project / flags.app
    if not app.is_file():
        raise BuildError(f"wasm-server python: no {app} (run it in the project or name the app module)")
    if app.suffix != ".py":
        raise BuildError(f"wasm-server python: {flags.app} is not a .py module")
    check_syntax(project, app)
    out = project / flags.out
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"building {flags.out} from {flags.app} with componentize-py (world {flags.world}; "
          "this takes a while) …", file=sys.stderr, flush=True)
    started = time.monotonic()
    out.unlink(missing_ok=True)
    _run(command(tool, flags, project), project, str(flags.app))
    if not out.is_file():
        raise BuildError(f"componentize-py wrote no {out}")
    print(f"built {flags.out} ({out.stat().st_size} bytes) in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return out


def _run(cmd: list[str], project: Path, what: str) -> None:
    proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True)
    said = "\n".join(line for line in (proc.stdout + proc.stderr).splitlines()
                     if line.strip() != "Component built successfully")
    if said:
        print(said, file=sys.stderr)
    if proc.returncode != 0:
        if "attempting to re-add package" in said:
            # componentize-py reads the componentize-py.toml of every installed package
            raise BuildError(f"componentize-py failed for {what}: another package installed beside it ships "
                             "its own WIT for the same packages (e.g. spin-sdk's componentize-py.toml); build "
                             "in an environment without it")
        raise BuildError(f"componentize-py failed (exit {proc.returncode}) for {what}")


def main(argv: list[str]) -> int:
    """``wasm-server python``: build in the current directory."""
    if any(a in ("-h", "--help") for a in argv) or not argv:
        print(__doc__, file=sys.stderr)
        return 0 if argv else 2
    build(argv, Path.cwd())
    return 0


def version(tool: str) -> str | None:
    """``componentize-py --version``'s number, or None when it does not run."""
    try:
        out = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.split()[-1] if out.returncode == 0 and out.stdout.split() else None


def status() -> ToolStatus:
    """componentize-py, for ``wasm-server doctor``."""
    try:
        tool = componentize_py()
    except BuildError:
        return ToolStatus("python", TOOL, found=False, install=INSTALL)
    found = version(tool)
    if found is None:
        return ToolStatus("python", TOOL, found=False, path=tool, install=INSTALL,
                          note=f"{tool} is there but does not run")
    return ToolStatus("python", TOOL, found=True, version=found, path=tool, install=INSTALL)
