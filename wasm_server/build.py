"""Building components whose module is missing or older than their sources."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import BuildError
from .manifest import AppSpec, ComponentSpec


def _newest_source(comp: ComponentSpec) -> float:
    assert comp.build is not None
    newest = 0.0
    for pattern in comp.build.watch:
        for p in comp.build.workdir.glob(pattern):
            if p.is_file():
                newest = max(newest, p.stat().st_mtime)
    return newest


def needs_build(comp: ComponentSpec) -> bool:
    """True if the component has a build command and its module is missing or stale."""
    if comp.build is None:
        return False
    if not comp.source.exists():
        return True
    return _newest_source(comp) > comp.source.stat().st_mtime


def build_env() -> dict[str, str]:
    """The environment of build commands: this interpreter's bin dir first on PATH,
    so ``wasm-server cc`` and ``python -m ziglang`` resolve to this installation."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


def build_component(comp: ComponentSpec, *, out: object = sys.stderr) -> None:
    """Run the component's build command, streaming its output; raise BuildError on failure."""
    assert comp.build is not None
    print(f"building {comp.name}: {comp.build.command}  (in {comp.build.workdir})", file=out, flush=True)  # type: ignore[call-overload]
    started = time.monotonic()
    proc = subprocess.run(comp.build.command, shell=True, cwd=comp.build.workdir, env=build_env())
    if proc.returncode != 0:
        raise BuildError(f"building component '{comp.name}' failed (exit {proc.returncode}): {comp.build.command}")
    if not comp.source.exists():
        raise BuildError(f"building component '{comp.name}' did not produce {comp.source}")
    print(f"built {comp.name} in {time.monotonic() - started:.1f}s", file=out, flush=True)  # type: ignore[call-overload]


@contextmanager
def build_lock(comp: ComponentSpec, *, wait: bool = True) -> Iterator[None]:
    """Hold the build of ``comp``'s module against other processes building it (two `up`s,
    `build` during `up --watch`, workers, the studio): they would write the same output and
    the same build directory at once. Keyed by the module's path, which two manifests may
    share. ``wait=False`` raises BlockingIOError at once if another holds it (an event loop
    must not block: the studio retries after a pause)."""
    lock_dir = comp.source.parent / ".wasm-server"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"build-{comp.source.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield


def build_app(spec: AppSpec, *, force: bool = False) -> int:
    """Build every component that needs it; returns how many were built."""
    built = 0
    for comp in spec.components:
        if comp.build is None or not (force or needs_build(comp)):
            continue
        with build_lock(comp):
            if force or needs_build(comp):  # another process may have built it while we waited
                build_component(comp)
                built += 1
    return built
