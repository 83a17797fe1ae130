"""Build hook: a wheel carries the language SDKs as ``wasm_server/_sdk/<lang>``.

Everything else is declared in pyproject.toml. The SDKs live at the repository root
(``sdk/<lang>``) because each is also a package of its own language (a Go module, a Cargo
crate, an npm package); ``wasm_server/toolchain/sdk.py`` finds them in either place.

They are copied into the *build* directory only, never into the source tree: an editable
install (``pip install -e .``, used by scripts/setup) must keep reading ``sdk/`` in the
checkout, and sdk.py prefers ``_sdk`` when one exists beside the package.

It also compiles the hot modules of the request path (``wasm_server.COMPILED``) with mypyc
into one extension, ``wasm_server/_compiled__mypyc``, and records the hash of each source it
compiled in ``wasm_server/_compiled_sources.txt`` (wasm_server/__init__.py runs a source as
Python when its hash differs, or when ``WASM_SERVER_PURE_PYTHON=1``). The ``.py`` files ship
too. Where mypyc cannot run (no mypy, no C compiler, a compile error) the build says so and
goes on without it: the package is then pure Python. ``WASM_SERVER_MYPYC=0`` skips it.
A checkout compiles in place with ``python setup.py build_ext --inplace`` (scripts/setup
does it whenever a compiled source changed).

It also builds ``wasm_server.engine._fastcall`` from ``wasm_server/engine/_fastcall.c``: the
compiled crossing into Wasmtime (host→guest calls, host import trampolines; see
wasm_server/engine/fastcall.py). It has no link-time dependency on libwasmtime and builds in
seconds; ``WASM_SERVER_FASTCALL=0`` skips it, and where it cannot be built the build goes on
without it (the ctypes path runs). With ``WASM_SERVER_MYPYC=0`` it is the only extension built,
and the mypyc modules already in place are left alone.
"""

from __future__ import annotations

import ast
import hashlib
import os
import shutil
import sys
import time
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: what a guest build needs from sdk/ (wit: the WIT of wasi:http components; js: componentize-js's
#: package.json, lock and build script, installed on first use)
LANGUAGES = ("abi", "assemblyscript", "c", "cpp", "go", "js", "python", "rust", "wit")
#: installed dependencies, build outputs and caches: never part of the SDK a wheel ships
SKIP = shutil.ignore_patterns("node_modules", "target", "__pycache__", "*.wasm", "*.o", "*.a", "*.test",
                              ".gitignore", ".wasm-server")


class BuildPyWithSdk(build_py):
    """``build_py`` plus a copy of ``sdk/<lang>`` into ``<build_lib>/wasm_server/_sdk/<lang>``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads sdk/ in the checkout
        target = Path(self.build_lib) / "wasm_server" / "_sdk"
        if target.exists():
            shutil.rmtree(target)  # an SDK file removed since the last build must not linger
        for lang in LANGUAGES:
            source = ROOT / "sdk" / lang
            if source.is_dir():
                shutil.copytree(source, target / lang, ignore=SKIP)




def _compiled_list() -> tuple[str, ...]:
    """``wasm_server.COMPILED``, read from the source (no import: setup.py runs before the package's
    dependencies are installed)."""
    tree = ast.parse((ROOT / "wasm_server" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "COMPILED" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise SystemExit("setup.py: wasm_server/__init__.py has no COMPILED tuple")


COMPILED = _compiled_list()
SOURCES_FILE = "_compiled_sources.txt"
GROUP = "wasm_server._compiled"


def _say(message: str) -> None:
    print(f"[setup.py] {message}", file=sys.stderr, flush=True)


#: the commands that build extensions (setuptools.build_meta runs setup.py with one of them)
BUILDS = {"build", "build_ext", "bdist_wheel", "editable_wheel", "install", "develop"}


def _mypyc_extensions() -> list[Extension]:
    """mypyc's extension for :data:`COMPILED` (C generated now, compiled by build_ext), or none where
    mypyc cannot run. Only for a build: egg_info and sdist must not pay for mypyc."""
    if not BUILDS.intersection(sys.argv[1:]):
        return []
    if os.environ.get("WASM_SERVER_MYPYC", "1") == "0":
        _say("WASM_SERVER_MYPYC=0: mypyc does not compile the request path (a build already in place stays)")
        return []
    _say(f"compiling {len(COMPILED)} modules with mypyc: {', '.join(COMPILED)}")
    here = os.getcwd()
    try:
        from mypyc.build import mypycify

        os.chdir(ROOT)  # mypyc wants paths relative to the project; its C goes to build/mypyc
        # an isolated build (python -m build) has mypy but not the runtime dependencies mypy
        # follows imports into (redis, httpx …): type-check leniently about those; the compiled
        # modules' own types are what mypyc uses, and scripts/test runs mypy --strict itself
        lenient = ["--ignore-missing-imports", "--no-warn-unused-ignores", "--allow-subclassing-any",
                   "--no-warn-return-any"]
        return list(mypycify([*lenient, *(name.replace(".", "/") + ".py" for name in COMPILED)],
                             opt_level="3", group_name=GROUP, target_dir="build/mypyc"))
    except (Exception, SystemExit) as exc:  # no mypy, or a type error (mypyc exits): fall back
        _say(f"mypyc cannot compile ({type(exc).__name__}: {exc}); the package runs as pure Python "
             "(to compile: pip install mypy, with a C compiler and the Python headers)")
        return []
    finally:
        os.chdir(here)


FASTCALL = "wasm_server.engine._fastcall"
FASTCALL_SOURCE = "wasm_server/engine/_fastcall.c"


def _fastcall_extension() -> list[Extension]:
    """The compiled crossing (module docstring), stamped with its source's hash (fastcall.py
    runs the ctypes path when the source changed since)."""
    if os.environ.get("WASM_SERVER_FASTCALL", "1") == "0":
        return []
    digest = hashlib.sha256((ROOT / FASTCALL_SOURCE).read_bytes()).hexdigest()
    return [Extension(FASTCALL, [FASTCALL_SOURCE], define_macros=[("FASTCALL_SOURCE_SHA256", f'"{digest}"')],
                      extra_compile_args=["-O2"])]


class BuildExtMypyc(build_ext):
    """``build_ext`` for the mypyc extension that falls back to pure Python when the C compiler
    fails, and records which sources it compiled (``_compiled_sources.txt``); and for the
    compiled crossing, built on its own first (a failure of one leaves the other)."""

    def run(self) -> None:
        everything = list(self.extensions)
        fast = [ext for ext in everything if ext.name == FASTCALL]
        self.extensions = [ext for ext in everything if ext.name != FASTCALL]
        out = ROOT if self.inplace else Path(self.build_lib)
        # a module no longer compiled must not shadow its source: a build directory starts
        # clean; in place, only what is rebuilt now goes (WASM_SERVER_MYPYC=0 keeps mypyc's)
        if self.extensions or not self.inplace:
            (out / "wasm_server" / SOURCES_FILE).unlink(missing_ok=True)
        for old in (out / "wasm_server").rglob("*.so"):
            if not self.inplace or bool(fast if old.name.startswith("_fastcall.") else self.extensions):
                old.unlink()
        if fast:
            self._build_fastcall(fast)
        if not self.extensions:
            return
        hashes = {name: hashlib.sha256((ROOT / (name.replace(".", "/") + ".py")).read_bytes()).hexdigest()
                  for name in COMPILED}
        start = time.monotonic()
        try:
            super().run()
        except Exception as exc:  # no compiler, no Python headers: fall back
            _say(f"the C compiler failed ({type(exc).__name__}: {exc}); the package runs as pure Python")
            return
        (out / "wasm_server" / SOURCES_FILE).write_text("".join(f"{n} {h}\n" for n, h in hashes.items()),
                                                        encoding="ascii")
        _say(f"compiled {len(COMPILED)} modules in {time.monotonic() - start:.0f} s")

    def _build_fastcall(self, fast: list[Extension]) -> None:
        # build_ext.run() replaces the compiler's name by a compiler object: the mypyc run
        # after this one needs the name back
        rest, compiler, self.extensions = self.extensions, self.compiler, fast
        start = time.monotonic()
        _say(f"building {FASTCALL} from {FASTCALL_SOURCE}")
        try:
            super().run()
        except Exception as exc:  # no compiler, no Python headers: the ctypes path runs
            _say(f"cannot build {FASTCALL} ({type(exc).__name__}: {exc}); host calls go through ctypes")
        else:
            _say(f"built {FASTCALL} in {time.monotonic() - start:.1f} s")
        finally:
            self.extensions, self.compiler = rest, compiler


setup(ext_modules=_fastcall_extension() + _mypyc_extensions(),
      cmdclass={"build_py": BuildPyWithSdk, "build_ext": BuildExtMypyc})
