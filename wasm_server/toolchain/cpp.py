"""``wasm-server c++`` (alias ``cxx``): C++ → a wasm-server module with zig's clang++ and libc++.

    wasm-server c++ -o app.wasm main.cpp [more.cpp] [-std=c++20 -DX=1 -Iinclude …]
    wasm-server c++ -o app.wasm main.cpp -I/usr/include   # header-only libraries, e.g. nlohmann/json
    wasm-server c++ --wagi -o prog.wasm main.cpp          # a plain WASI command (_start)

Zig comes from the ``ziglang`` package in this Python environment (``pip install
'wasm-server[cpp]'``). The C++ SDK (``wasm_server.hpp``) sits on the C SDK: the C
SDK's source is compiled as C on its own (``-std=c++…`` must not reach it) and
linked with the C++ sources, as a reactor module (the host calls ``_initialize``,
which runs static constructors, where ``WASM_SERVER_SERVE`` registers handlers).

Defaults: ``-std=c++17`` (unless a ``-std=`` is given), ``-O2``, ``-fno-exceptions``
(zig's libc++abi for wasm32-wasi has no exception runtime: ``throw`` cannot
link, so ``-fexceptions`` is refused), RTTI on, a 64 KiB stack, stripped.
``-I`` of a system include directory becomes ``-idirafter`` as for ``wasm-server
cc``. The first C++ build makes zig build libc++ into its cache (minutes); a
different ``-O`` level builds it again once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..cachedir import user_cache
from ..errors import BuildError
from .c import STACK_SIZE, available, system_includes_last, zig_status
from .sdk import sdk_dir
from .status import ToolStatus

INSTALL = "pip install 'wasm-server[cpp]'"
TARGET = ["-target", "wasm32-wasi"]
CXX_FLAGS = [*TARGET, "-O2", "-fno-exceptions", "-Wall", "-Wextra", f"-Wl,-z,stack-size={STACK_SIZE}", "-s"]
DEFAULT_STD = "-std=c++17"
#: the diagnostics of code that needs exceptions; the BuildError then says why they are off
_EXCEPTION_SIGNS = ("with exceptions disabled", "__cxa_throw", "__cxa_allocate_exception")
NO_EXCEPTIONS = ("zig's libc++ for wasm32-wasi has no exception runtime, so C++ guests build with "
                 "-fno-exceptions: report errors by return value (nlohmann/json: "
                 "json::parse(text, nullptr, false) and is_discarded())")
#: how much of the compiler's output a BuildError carries (template errors can run for pages)
MAX_DIAGNOSTIC_LINES = 60


def sdk_paths() -> tuple[Path, Path]:
    """The C++ SDK directory and the C SDK directory (the C++ one includes ``wasm_server.h``)."""
    cpp, c = sdk_dir("cpp"), sdk_dir("c")
    for need in (cpp / "wasm_server.hpp", c / "wasm_server.c", c / "wasm_server.h"):
        if not need.exists():
            raise BuildError(f"wasm-server c++: {need} is missing from this installation")
    return cpp, c


def sdk_object_command(obj: Path) -> list[str]:
    """Compile the C SDK (as C, with the same target and optimisation) to ``obj``."""
    _, c = sdk_paths()
    return [sys.executable, "-m", "ziglang", "cc", *TARGET, "-O2", "-c", str(c / "wasm_server.c"), "-o", str(obj)]


def command(argv: list[str], sdk_object: Path | None) -> list[str]:
    """The clang++ command for ``wasm-server c++`` arguments (``sdk_object`` None: --wagi)."""
    args = system_includes_last([a for a in argv if a != "--wagi"])
    if "-o" not in args:
        raise BuildError("wasm-server c++: missing -o OUT.wasm")
    if "-fexceptions" in args:
        raise BuildError(f"wasm-server c++: -fexceptions cannot work here: {NO_EXCEPTIONS}")
    std = [] if any(a.startswith("-std=") for a in args) else [DEFAULT_STD]
    cmd = [sys.executable, "-m", "ziglang", "c++", *CXX_FLAGS, *std]
    if sdk_object is None:
        return [*cmd, *args]
    cpp, c = sdk_paths()
    return [*cmd, "-mexec-model=reactor", "-I", str(cpp), "-I", str(c), *args, str(sdk_object)]


def diagnostics(output: str) -> str:
    """The compiler's output, cut to MAX_DIAGNOSTIC_LINES, with the reason when exceptions were the cause."""
    lines = output.rstrip().splitlines()
    text = "\n".join(lines[:MAX_DIAGNOSTIC_LINES])
    if len(lines) > MAX_DIAGNOSTIC_LINES:
        text += f"\n… {len(lines) - MAX_DIAGNOSTIC_LINES} more lines"
    if any(sign in output for sign in _EXCEPTION_SIGNS):
        text += f"\nnote: {NO_EXCEPTIONS}"
    return text


def _run(cmd: list[str], what: str) -> str:
    """Run one compiler step; its warnings on success, a BuildError with its diagnostics on failure."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"{what} failed (exit {proc.returncode}):\n{diagnostics(proc.stderr + proc.stdout)}")
    return proc.stderr


def zig_cache() -> Path:
    """Zig's global cache, where it keeps the libc++ it builds ($ZIG_GLOBAL_CACHE_DIR, else the XDG cache)."""
    if os.environ.get("ZIG_GLOBAL_CACHE_DIR"):
        return Path(os.environ["ZIG_GLOBAL_CACHE_DIR"])
    return user_cache() / "zig"


def libcxx_is_cold() -> bool:
    """Whether zig has not built libc++ for any target yet (the first C++ build is slow)."""
    cache = zig_cache()
    return not cache.exists() or not any(cache.glob("o/*/libc++.a"))


def main(argv: list[str]) -> int:
    """Compile and link; raise BuildError with the compiler's diagnostics on failure."""
    if argv in ([], ["-h"], ["--help"]):
        print(__doc__, file=sys.stderr)
        return 0 if argv else 2
    if not available():
        raise BuildError(f"wasm-server c++ needs zig (the `ziglang` package): {INSTALL} (in a checkout: scripts/setup)")
    started = time.monotonic()
    out = Path(argv[argv.index("-o") + 1]) if "-o" in argv[:-1] else None
    if libcxx_is_cold():
        print("compiling (the first C++ build makes zig build libc++ into its cache: a few minutes) …",
              file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="wasm-server-cxx-") as tmp:
        sdk_object = None
        if "--wagi" not in argv:
            sdk_object = Path(tmp) / "wasm_server_c.o"
            command(argv, sdk_object)  # refuse bad arguments before compiling anything
            sys.stderr.write(_run(sdk_object_command(sdk_object), "compiling the C SDK"))
        sys.stderr.write(_run(command(argv, sdk_object), f"C++ compilation ({' '.join(argv)})"))
    assert out is not None  # command() refused a missing -o
    print(f"wrote {out} ({out.stat().st_size} bytes, {time.monotonic() - started:.1f}s)", file=sys.stderr)
    return 0


def status() -> ToolStatus:
    """The zig ``wasm-server c++`` would use, for ``wasm-server doctor``."""
    cold = "the first C++ build makes zig build libc++ (a few minutes)" if libcxx_is_cold() else ""
    return zig_status("cpp", "zig c++", cold, INSTALL)
