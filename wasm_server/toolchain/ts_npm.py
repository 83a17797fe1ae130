"""Node.js, npm and ``asc`` for ``wasm-server ts-build``.

Which ``asc`` builds a service, first found wins:

1. the service's own (``node_modules/.bin/asc``) when its package.json depends on
   ``assemblyscript``: a transform such as json-as loads the compiler from the service's
   node_modules, and two copies of the compiler in one build do not share their AST classes;
   its version must be the SDK's minor (0.28.x), else the build stops and says so;
2. the SDK's (``node_modules`` beside the SDK; scripts/setup runs ``npm ci`` there);
3. for an installation without it (a pip-installed package carries the SDK without
   node_modules): the SDK's package-lock.json installed once with ``npm ci`` into
   ``~/.cache/wasm-server/assemblyscript/asc-<hash of the lock>``.

A service with a package.json gets ``npm ci`` (a lock and no node_modules) or ``npm install``
(otherwise) whenever its package.json or lock changed since the last install.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ..cachedir import wasm_server_cache
from ..errors import BuildError
from . import sdk
from .status import ToolStatus

INSTALL_NODE = "sudo apt-get install nodejs npm"
#: written in node_modules after an install: the hash of package.json + lock it was made from
STAMP = ".wasm-server-installed"


def cache_dir() -> Path:
    """Where ts-build keeps what it makes outside the service (per-user, never in the SDK)."""
    return wasm_server_cache() / "assemblyscript"


def tool(name: str) -> str:
    """The path of ``node`` or ``npm``; a BuildError with the command that installs it."""
    found = shutil.which(name)
    if found is None:
        raise BuildError(f"{name} is not installed (AssemblyScript needs Node.js and npm): {INSTALL_NODE}")
    return found


def _package_json(directory: Path) -> dict[str, object]:
    try:
        data = json.loads((directory / "package.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def depends_on(directory: Path, package: str) -> bool:
    """True if ``directory``'s package.json lists ``package`` (dependencies or devDependencies)."""
    data = _package_json(directory)
    return any(isinstance(deps, dict) and package in deps
               for deps in (data.get("dependencies"), data.get("devDependencies")))


def installed_version(node_modules: Path, package: str) -> str | None:
    """The version of ``package`` installed in ``node_modules``, or None."""
    version = _package_json(node_modules / package).get("version")
    return str(version) if version else None


def sdk_version() -> str:
    """The assemblyscript version the SDK pins (its package.json)."""
    deps = _package_json(sdk.sdk_dir("assemblyscript")).get("devDependencies")
    return str(deps.get("assemblyscript", "")) if isinstance(deps, dict) else ""


def compatible(version: str, pinned: str) -> bool:
    """Same major.minor (assemblyscript is 0.x: a minor release changes the language and std)."""
    return version.split(".")[:2] == pinned.lstrip("^~=").split(".")[:2]


def _digest(directory: Path) -> str:
    h = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        path = directory / name
        h.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"") + b"\0")
    return h.hexdigest()


def _npm(args: list[str], cwd: Path, what: str) -> None:
    """Run npm with progress lines; a BuildError with npm's output when it fails."""
    npm = tool("npm")
    tool("node")
    print(f"{what} (npm {' '.join(args)} in {cwd}) …", file=sys.stderr, flush=True)
    started = time.monotonic()
    proc = subprocess.run([npm, *args, "--no-audit", "--no-fund"], cwd=cwd, capture_output=True, text=True)
    output = (proc.stdout + proc.stderr).strip()
    if output:
        print(output, file=sys.stderr)
    if proc.returncode != 0:
        raise BuildError(f"npm {args[0]} failed in {cwd} (exit {proc.returncode})")
    print(f"installed npm packages in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)


def install_project(project: Path) -> None:
    """``npm ci``/``npm install`` in a service with a package.json, when node_modules is
    missing or older than its package.json and lock; nothing otherwise."""
    if not (project / "package.json").is_file():
        return
    stamp = project / "node_modules" / STAMP
    if stamp.is_file() and stamp.read_text() == _digest(project):
        return
    fresh = (project / "package-lock.json").is_file() and not (project / "node_modules").exists()
    _npm(["ci" if fresh else "install"], project, f"installing the npm packages of {project.name}")
    stamp.parent.mkdir(exist_ok=True)
    stamp.write_text(_digest(project))  # after the install: `npm install` may have written the lock


def _sdk_asc_cache() -> Path:
    """The SDK's pinned asc installed into the user cache (once per lock file)."""
    src = sdk.sdk_dir("assemblyscript")
    key = hashlib.sha256((src / "package-lock.json").read_bytes()).hexdigest()[:16]
    home = cache_dir() / f"asc-{key}"
    asc = home / "node_modules" / ".bin" / "asc"
    if asc.exists():
        return asc
    # install beside the final place and rename: a build that stops half-way (or another
    # build racing this one) never leaves a directory that looks installed
    tmp = cache_dir() / f".asc-{key}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(src / name, tmp / name)
    try:
        _npm(["ci"], tmp, f"installing AssemblyScript {sdk_version()} for the SDK into {home}")
        try:
            tmp.rename(home)
        except OSError:
            if not asc.exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return asc


def sdk_asc() -> Path:
    """The SDK's asc: beside the SDK (a checkout after scripts/setup), else the user cache."""
    beside = sdk.sdk_dir("assemblyscript") / "node_modules" / ".bin" / "asc"
    return beside if beside.exists() else _sdk_asc_cache()


def pick_asc(project: Path) -> Path:
    """The asc that builds ``project`` (the order is in this module's docstring)."""
    tool("node")
    own = project / "node_modules" / ".bin" / "asc"
    if depends_on(project, "assemblyscript") and own.exists():
        version = installed_version(project / "node_modules", "assemblyscript") or "?"
        pinned = sdk_version()
        if not compatible(version, pinned):
            raise BuildError(f"{project} uses assemblyscript {version}, but the wasm-server SDK is written for "
                             f"{pinned}: npm install --save-dev assemblyscript@{pinned.lstrip('^~=')}")
        return own
    return sdk_asc()


def _version(command: str) -> str | None:
    path = shutil.which(command)
    if path is None:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip().lstrip("v") or None


def status() -> ToolStatus:
    """Node.js, npm and the SDK's asc, for ``wasm-server doctor``."""
    node, npm_version = _version("node"), _version("npm")
    pinned = sdk_version()
    missing = [name for name, v in (("node", node), ("npm", npm_version)) if v is None]
    beside = sdk.sdk_dir("assemblyscript") / "node_modules"
    where = beside if (beside / ".bin" / "asc").exists() else None
    if where is None:
        cached = sorted(cache_dir().glob("asc-*/node_modules"))
        where = cached[-1] if cached else None
    version = installed_version(where, "assemblyscript") if where else None
    note = f"node {node or 'missing'}, npm {npm_version or 'missing'}; "
    note += (f"asc {version} in {where}" if version else
             f"asc {pinned} is installed from npm into {cache_dir()} on the first ts-build")
    return ToolStatus(language="typescript", tool="asc (AssemblyScript)", found=not missing,
                      version=version or pinned, path=str(where / ".bin" / "asc") if where else None,
                      install=INSTALL_NODE if missing else "", note=note)
