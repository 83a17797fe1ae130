"""Build hook: a wheel carries the language SDKs as ``wasm_server/_sdk/<lang>``.

Everything else is declared in pyproject.toml. The SDKs live at the repository root
(``sdk/<lang>``) because each is also a package of its own language (a Go module, a Cargo
crate, an npm package); ``wasm_server/toolchain/sdk.py`` finds them in either place.

They are copied into the *build* directory only, never into the source tree: an editable
install (``pip install -e .``, used by scripts/setup) must keep reading ``sdk/`` in the
checkout, and sdk.py prefers ``_sdk`` when one exists beside the package.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: what a guest build needs from sdk/; "cpp" joins when it exists
LANGUAGES = ("abi", "assemblyscript", "c", "cpp", "go", "rust")
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


setup(cmdclass={"build_py": BuildPyWithSdk})
