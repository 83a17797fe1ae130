"""wasm-server: a server runtime for web services compiled to WebAssembly.

The hot modules of the request path (:data:`COMPILED`) may be compiled with mypyc
(setup.py; scripts/setup does it for a checkout, ``python -m build`` for a wheel). Their
``.py`` sources stay beside the compiled modules and are the fallback: the finder below
loads the source instead of the compiled module when ``WASM_SERVER_PURE_PYTHON=1`` is set,
or when the source changed since it was compiled (so a stale build never runs old code).
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from importlib.util import spec_from_file_location
from types import ModuleType

__version__ = "0.1.0"
__all__ = ["COMPILED", "PURE_ENV", "SOURCES_FILE", "__version__", "compiled_is_current", "compiled_modules"]

#: the modules setup.py compiles with mypyc: the request path from the socket to the guest call
#: (edge → parse → route → app → executor → codec → instance) and back (response); each was kept
#: because it lowers the instructions per request (docs/architecture.md, Compiled request path)
COMPILED = (
    "wasm_server.net.http",
    "wasm_server.protocol.http1",
    "wasm_server.protocol.response",
    "wasm_server.routing.patterns",
    "wasm_server.routing.router",
    "wasm_server.app",
    "wasm_server.executors.native",
    "wasm_server.abi_codec",
    "wasm_server.engine.instance",
    # the ASGI adapter's request path (issue 16): scope → Request, body, response messages
    "wasm_server.asgi.scope",
    "wasm_server.asgi.http",
    "wasm_server.hosted",
)
#: set to 1 to run every module as Python even where compiled ones exist
PURE_ENV = "WASM_SERVER_PURE_PYTHON"
#: written by setup.py beside this file when it compiles: "<module> <sha256 of its source>" a line
SOURCES_FILE = "_compiled_sources.txt"

_HERE = os.path.dirname(os.path.abspath(__file__))


def _source_of(name: str) -> str:
    return os.path.join(_HERE, *name.split(".")[1:]) + ".py"


def _hash(source: str) -> str:
    with open(source, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _recorded() -> dict[str, str] | None:
    """module → hash of the source it was compiled from; None when nothing was compiled."""
    try:
        with open(os.path.join(_HERE, SOURCES_FILE), encoding="ascii") as f:
            return dict(line.split() for line in f if line.strip())
    except OSError:
        return None


class _SourceFallback:
    """A ``sys.meta_path`` finder (by protocol: subclassing importlib.abc.MetaPathFinder would
    import importlib.resources and tempfile at every start-up). Finds a :data:`COMPILED`
    module's ``.py`` source when it must run as Python; otherwise returns None and the ordinary
    finder loads the compiled module (it prefers extensions).

    All or none: compiled modules of one mypyc group call each other's compiled code directly,
    so one changed source makes every one of them run as Python."""

    def __init__(self, pure: bool, recorded: dict[str, str] | None) -> None:
        self.pure = pure or recorded is None
        self.recorded = recorded or {}
        self.current: bool | None = None  # every source matches its build (hashed at the first import)

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        """The source's spec for a compiled module that must run as Python, else None."""
        if fullname not in COMPILED:
            return None
        if not self.pure:
            if self.current is None:
                changed = [_source_of(n) for n in COMPILED if _hash(_source_of(n)) != self.recorded.get(n)]
                self.current = not changed
                if changed:
                    print(f"wasm-server: {', '.join(changed)} changed since compiled; running the request "
                          "path as Python (scripts/setup recompiles)", file=sys.stderr)
            if self.current:
                return None
        return spec_from_file_location(fullname, _source_of(fullname))


def compiled_modules() -> tuple[str, ...]:
    """Which of :data:`COMPILED` are loaded as compiled extension modules (imports them)."""
    from importlib import import_module

    return tuple(name for name in COMPILED if not (import_module(name).__file__ or "").endswith(".py"))


def compiled_is_current() -> bool:
    """Whether every one of :data:`COMPILED` was compiled from its present source (scripts/setup
    recompiles when not); says nothing about which implementation is loaded."""
    recorded = _recorded()
    return recorded is not None and all(recorded.get(name) == _hash(_source_of(name)) for name in COMPILED)


sys.meta_path.insert(0, _SourceFallback(os.environ.get(PURE_ENV, "") not in ("", "0"), _recorded()))
