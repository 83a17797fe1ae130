"""Which build commands the studio runs: ``wasm-server <toolchain> ARGS`` only.

A manifest's ``[component.build] command`` is a shell line that ``wasm-server build``
runs as it is. The studio builds what a browser asked for, so it runs only the
project's own toolchain wrappers, split with shlex (no shell: no ``;``, ``$(...)``,
redirections), and only with arguments that stay inside the service: a path argument
that is absolute or climbs with ``..`` is refused, as is a build ``workdir`` outside
the service. Anything else fails the build at once with a message saying how to build
it instead.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

from ..manifest import BuildSpec

#: the toolchain subcommands of ``wasm-server`` (cli/main.py's _TOOLS)
TOOLS = frozenset({"cc", "c++", "cxx", "cargo-build", "go-build", "ts-build", "python", "js"})
NOT_A_TOOLCHAIN = ("the studio runs only wasm-server toolchain commands (wasm-server cc, c++, cargo-build, "
                   "go-build, ts-build, python, js); build this service with `wasm-server build`")


class PolicyError(Exception):
    """A build command the studio will not run (the message says why)."""


def _value(arg: str) -> str:
    """The part of an argument that may name a file: ``--out=x`` → ``x``, ``-Ix`` → ``x``."""
    if arg.startswith("--"):
        return arg.partition("=")[2]
    if arg.startswith("-"):
        return arg[2:]
    return arg


def check_arg(arg: str) -> None:
    """Refuse an argument that could name a file outside the service."""
    value = _value(arg)
    if value.startswith(("/", "~")):
        raise PolicyError(f"argument {arg!r} names an absolute path: the studio builds only inside the service")
    if ".." in re.split(r"[/\\=,:]", value):
        raise PolicyError(f"argument {arg!r} climbs out with '..': the studio builds only inside the service")


def argv_for(build: BuildSpec, service: Path) -> list[str]:
    """The argv to run for ``build`` (this interpreter running the ``wasm-server`` CLI, so the
    toolchain is this installation's), or PolicyError."""
    if not build.workdir.resolve().is_relative_to(service.resolve()):
        raise PolicyError(f"the build workdir {build.workdir} is outside the service")
    try:
        argv = shlex.split(build.command)
    except ValueError as exc:
        raise PolicyError(f"cannot split the build command {build.command!r}: {exc}") from None
    if len(argv) < 2 or argv[0] != "wasm-server" or argv[1] not in TOOLS:
        raise PolicyError(f"{build.command!r}: {NOT_A_TOOLCHAIN}")
    for arg in argv[2:]:
        check_arg(arg)
    return [sys.executable, "-m", "wasm_server.cli.main", *argv[1:]]
