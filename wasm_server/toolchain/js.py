"""``wasm-server js``: a JavaScript module → a WASI 0.2 ``wasi:http/proxy`` component (componentize-js).

    wasm-server js -o app.wasm [app.js] [--world service|proxy]

Run it in the service's directory (``wasm-server up`` runs build commands there). The app
is an ES module that answers the standard fetch event
(``addEventListener("fetch", e => e.respondWith(...))``) with web ``Request``/``Response``
and may call ``fetch()`` (outbound HTTP through the host). componentize-js embeds it in
SpiderMonkey (StarlingMonkey); relative imports are bundled from the module's directory.

Worlds (``sdk/wit/worlds.wit``): ``service`` (the default) adds ``wasm-server:host/kv`` and
``variables`` (``import { get } from "wasm-server:host/kv@0.1.0"``); ``proxy`` is plain
``wasi:http/proxy``, which runs on other servers too. They are ``js-service`` and ``js-proxy``
in the WIT: componentize-js's engine exports ``incoming-handler@0.2.10`` itself.

componentize-js is an npm package (``@bytecodealliance/componentize-js``, pinned by
``sdk/js/package-lock.json``). The build runs ``sdk/js/componentize.mjs`` (its JS API: the
``jco componentize`` command line fails here with "failed to get path metadata") from the
first of: ``sdk/js/node_modules`` (scripts/setup runs ``npm ci`` there), or
``~/.cache/wasm-server/js/<hash of the lock>``, installed there with ``npm ci`` on the first
build of an installation that has no node_modules (a pip-installed package).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..cachedir import wasm_server_cache
from ..errors import BuildError
from .component_args import check_world, scan
from .sdk import sdk_dir
from .status import ToolStatus

PACKAGE = "@bytecodealliance/componentize-js"
INSTALL_NODE = "sudo apt-get install nodejs npm"
SCRIPT = "componentize.mjs"
WORLDS = {"service": "js-service", "proxy": "js-proxy"}
WIT_PACKAGE = "wasm-server:host@0.1.0"
USAGE = "usage: wasm-server js -o OUT.wasm [app.js] [--world service|proxy]"


@dataclass
class Flags:
    """``wasm-server js``'s arguments."""

    out: Path | None = None
    app: Path = Path("app.js")
    world: str = "service"


def parse_flags(argv: list[str]) -> Flags:
    """The flags in ``argv``; BuildError for an unknown flag or a second app."""
    flags = Flags()
    options, app = scan("js", argv, ("-o", "--world"), USAGE)
    for option, value in options:
        if option == "-o":
            flags.out = Path(value)
        else:
            flags.world = value
    if app is not None:
        flags.app = app
    check_world("js", flags.world, WORLDS)
    return flags


def node() -> str:
    """The path of ``node``; BuildError with the command that installs it."""
    found = shutil.which("node")
    if found is None:
        raise BuildError(f"wasm-server js needs Node.js: {INSTALL_NODE}")
    return found


def _installed(directory: Path) -> bool:
    return (directory / "node_modules" / PACKAGE / "package.json").is_file()


def tool_dir(install: bool) -> Path:
    """The directory holding ``componentize.mjs`` and a node_modules with componentize-js.

    The SDK's own when scripts/setup installed it; else one in the user cache per lock,
    installed now with ``npm ci`` when ``install`` (BuildError if npm is missing or fails)."""
    sdk = sdk_dir("js")
    if _installed(sdk):
        return sdk
    lock = sdk / "package-lock.json"
    digest = hashlib.sha256(lock.read_bytes() if lock.is_file() else b"").hexdigest()[:16]
    cache = wasm_server_cache() / "js" / f"componentize-js-{digest}"
    if _installed(cache):
        _refresh(sdk / SCRIPT, cache / SCRIPT)  # the script may change without the lock
        return cache
    if not install:
        return cache
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError(f"wasm-server js needs npm to install componentize-js: {INSTALL_NODE}")
    cache.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json", SCRIPT):
        shutil.copy2(sdk / name, cache / name)
    print(f"installing {PACKAGE} into {cache} (npm ci, once; about 400 MB) …", file=sys.stderr, flush=True)
    proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=cache,
                          capture_output=True, text=True)
    if proc.returncode != 0 or not _installed(cache):
        sys.stderr.write(proc.stderr)
        raise BuildError(f"npm ci of {PACKAGE} failed in {cache} (exit {proc.returncode})")
    return cache


def _refresh(src: Path, dst: Path) -> None:
    """Copy ``src`` over ``dst`` when they differ (the build script beside a cached install)."""
    if not dst.is_file() or dst.read_bytes() != src.read_bytes():
        shutil.copy2(src, dst)


def check_syntax(node_bin: str, app: Path) -> None:
    """``node --check`` the module first: a syntax error shows file and line at once, not after
    a minute of componentize-js (whose own message for it is less direct)."""
    # as a module, from stdin: `node --check app.js` parses a .js file as CommonJS first, and
    # Node 20 then passes (exit 0) an ES module with `import`s and a syntax error
    proc = subprocess.run([node_bin, "--input-type=module", "--check"], input=app.read_text(encoding="utf-8"),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines()
                 if not line.startswith(("    at ", "Node.js v"))]  # node's own stack, not the app's
        raise BuildError(f"JavaScript syntax error in {app}:\n" + "\n".join(lines).strip().replace("[stdin]", str(app)))


def command(node_bin: str, tools: Path, flags: Flags, project: Path) -> list[str]:
    """The node command line that builds ``flags.app`` into ``flags.out``."""
    assert flags.out is not None
    name, version = WIT_PACKAGE.split("@")
    world = f"{name}/{WORLDS[flags.world]}@{version}"
    return [node_bin, str(tools / SCRIPT), str(project / flags.app), str(sdk_dir("wit")), world,
            str(project / flags.out)]


def build(argv: list[str], project: Path) -> Path:
    """Build as ``argv`` asks in ``project``; the component written, or BuildError."""
    flags = parse_flags(argv)
    if flags.out is None:
        raise BuildError(f"wasm-server js: missing -o OUT.wasm ({USAGE})")
    app = project / flags.app
    if not app.is_file():
        raise BuildError(f"wasm-server js: no {app} (run it in the project or name the app module)")
    node_bin = node()
    check_syntax(node_bin, app)
    tools = tool_dir(install=True)
    out = project / flags.out
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"building {flags.out} from {flags.app} with componentize-js (world {flags.world}; "
          "this takes a while) …", file=sys.stderr, flush=True)
    started = time.monotonic()
    out.unlink(missing_ok=True)
    proc = subprocess.run(command(node_bin, tools, flags, project), cwd=project, capture_output=True, text=True)
    if proc.stdout or proc.stderr:
        sys.stderr.write(proc.stdout + proc.stderr)
    if proc.returncode != 0 or not out.is_file():
        raise BuildError(f"componentize-js failed (exit {proc.returncode}) for {flags.app}")
    print(f"built {flags.out} ({out.stat().st_size} bytes) in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return out


def main(argv: list[str]) -> int:
    """``wasm-server js``: build in the current directory."""
    if any(a in ("-h", "--help") for a in argv) or not argv:
        print(__doc__, file=sys.stderr)
        return 0 if argv else 2
    build(argv, Path.cwd())
    return 0


def status() -> ToolStatus:
    """Node.js and componentize-js, for ``wasm-server doctor``."""
    # the first `wasm-server js` build installs it into the user cache by itself; this does it now
    install = f"npm ci --prefix {sdk_dir('js')}"
    try:
        node_bin = node()
    except BuildError:
        return ToolStatus("js", "componentize-js", found=False, install=INSTALL_NODE)
    tools = tool_dir(install=False)
    if not _installed(tools):
        return ToolStatus("js", "componentize-js", found=False, install=install,
                          note=f"node is {node_bin}; componentize-js is not in {tools}")
    pkg = tools / "node_modules" / PACKAGE / "package.json"
    import json

    version = str(json.loads(pkg.read_text()).get("version", "?"))
    return ToolStatus("js", "componentize-js", found=True, version=version, path=str(tools / "node_modules" / PACKAGE))
