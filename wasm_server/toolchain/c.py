"""``wasm-server cc``: C → a wasm-server module with zig's clang (PyPI ``ziglang``).

    wasm-server cc -o app.wasm main.c [more.c] [-DX=1 -Iinclude …]
    wasm-server cc --wagi -o app.wasm main.c      # a plain WASI command (_start)
    wasm-server cc -o app.wasm main.c -I/usr/include   # a header-only library installed system-wide

``-I`` of a system include directory (``/usr/include``, ``/usr/local/include``)
becomes ``-idirafter``: searched after wasi-libc's own headers, so a header-only
library there is found while ``<stdio.h>`` still comes from wasi-libc (glibc's
headers in front of it fail with ``bits/libc-header-start.h`` not found).

Zig comes from the ``ziglang`` package in this Python environment (``pip install
'wasm-server[c]'``). Adds the C SDK (``sdk/c``, shipped in the package), builds a
reactor module (no ``_start``; the host calls ``_initialize``), keeps the stack
small so the initial linear memory is small, and strips debug info.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

from ..cachedir import user_cache
from ..errors import BuildError
from .sdk import sdk_dir
from .status import ToolStatus

INSTALL = "pip install 'wasm-server[c]'"
#: 64 KiB of stack instead of zig's default 1 MiB (which makes memory start at 16 MiB)
STACK_SIZE = 64 * 1024
BASE_FLAGS = ["-target", "wasm32-wasi", "-O2", "-Wall", "-Wextra", f"-Wl,-z,stack-size={STACK_SIZE}", "-s"]
#: the host's own C headers: a guest may take header-only libraries from there, never libc
SYSTEM_INCLUDE = ("/usr/include", "/usr/local/include")


def system_includes_last(args: list[str]) -> list[str]:
    """``-I/usr/include`` (or ``-I /usr/include``) → ``-idirafter /usr/include``; other flags unchanged."""
    out: list[str] = []
    it = iter(args)
    for arg in it:
        path = None
        if arg == "-I":
            path = next(it, "")
        elif arg.startswith("-I"):
            path = arg[2:]
        if path is None:
            out.append(arg)
        elif path.rstrip("/") in SYSTEM_INCLUDE or path.rstrip("/").startswith(tuple(f"{d}/" for d in SYSTEM_INCLUDE)):
            out += ["-idirafter", path]
        else:
            out.append(f"-I{path}")
    return out


def zig_cache_is_cold() -> bool:
    """Whether zig has not built wasm32-wasi libc yet (the first build is slow)."""
    cache = user_cache() / "zig"
    return not cache.exists() or not any(cache.glob("o/*/libc.a"))


def command(argv: list[str]) -> list[str]:
    """The full compiler command for ``wasm-server cc`` arguments."""
    wagi = "--wagi" in argv
    args = system_includes_last([a for a in argv if a != "--wagi"])
    if "-o" not in args:
        raise BuildError("wasm-server cc: missing -o OUT.wasm")
    cmd = [sys.executable, "-m", "ziglang", "cc", *BASE_FLAGS]
    if wagi:
        return [*cmd, *args]
    sdk = sdk_dir("c")
    if not (sdk / "wasm_server.c").exists():
        raise BuildError(f"wasm-server cc: the C SDK is not at {sdk}")
    return [*cmd, "-mexec-model=reactor", "-I", str(sdk), *args, str(sdk / "wasm_server.c")]


def main(argv: list[str]) -> int:
    """Run the compiler; raise BuildError with its output on failure."""
    if argv in ([], ["-h"], ["--help"]):
        print(__doc__, file=sys.stderr)
        return 0 if argv else 2
    if not available():
        raise BuildError(f"wasm-server cc needs zig (the `ziglang` package): {INSTALL} (in a checkout: scripts/setup)")
    cmd = command(argv)
    if zig_cache_is_cold():
        print("compiling (the first zig build fills its cache and can take a minute) …", file=sys.stderr, flush=True)
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.stderr:
        sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        raise BuildError(f"C compilation failed (exit {proc.returncode}): {' '.join(argv)}")
    out = Path(argv[argv.index("-o") + 1])
    print(f"wrote {out} ({out.stat().st_size} bytes, {time.monotonic() - started:.1f}s)", file=sys.stderr)
    return 0


def available() -> bool:
    """Whether C guests can be built here (zig comes from the `ziglang` package)."""
    return importlib.util.find_spec("ziglang") is not None


def zig_version() -> str | None:
    """The version of this environment's zig, or None when it does not run."""
    try:
        out = subprocess.run([sys.executable, "-m", "ziglang", "version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def zig_status(language: str, tool: str, cold_note: str, install: str) -> ToolStatus:
    """This environment's zig as ``language``'s toolchain (C and C++ share it), for doctor;
    ``cold_note`` is shown while zig's cache still lacks what the first build makes."""
    spec = importlib.util.find_spec("ziglang") if available() else None
    version = zig_version() if spec else None
    if spec is None or version is None:
        return ToolStatus(language, tool, found=False, install=install,
                          note="" if spec is None else "the ziglang package is installed but zig does not run")
    where = str(Path(spec.origin).parent) if spec.origin else None
    return ToolStatus(language, tool, found=True, version=version, path=where, install=install, note=cold_note)


def status() -> ToolStatus:
    """The zig ``wasm-server cc`` would use, for ``wasm-server doctor``."""
    cold = "the first build fills zig's cache (about a minute)" if zig_cache_is_cold() else ""
    return zig_status("c", "zig cc", cold, INSTALL)
