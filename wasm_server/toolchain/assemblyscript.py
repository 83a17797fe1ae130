"""``wasm-server ts-build``: TypeScript (AssemblyScript) → a wasm-server module.

    wasm-server ts-build -o app.wasm [assembly/index.ts …] [asc flags …]

Run it in the service's directory (``wasm-server up`` runs build commands there). It runs
AssemblyScript's ``asc`` in that directory, as ``npx asc`` would, so asc finds what it finds
for any AssemblyScript project:

- **npm packages.** A bare import (``import { JSON } from "json-as"``) resolves from the
  service's node_modules, and a package's own imports from its node_modules and the ones
  above it (asc's lookup). When the service has a package.json, ts-build first runs
  ``npm ci`` (a lock and no node_modules) or ``npm install`` whenever package.json or the
  lock changed since the last install.
- **asconfig.json** (or ``--config FILE``, ``--target NAME``): its options, targets,
  entries and transforms apply. Other asc flags (``--transform json-as``, ``--enable simd``,
  ``-Osize`` …) pass through; an unknown one fails the build.
- ``import ... from "wasm-server"`` resolves to the SDK (found through
  ``wasm_server.toolchain.sdk``), and ts-build compiles a generated entry beside yours that
  exports the SDK's ``wasm_server_*`` functions, so your code only registers handlers
  (``serve(handler)``). Top-level statements run once per instance, in ``_initialize``.

What the server needs is set by ts-build and cannot be changed: ``exportStart`` is
``_initialize``, the memory is the module's own and exported, and ``abort``, ``trace`` and
Math.random's seed go to the SDK (``--use``); asconfig.json or a flag that sets one of them
otherwise is refused with the option's name. Where the service sets nothing, ts-build uses
``-O3`` and the incremental runtime.

The module may import only from ``wasm_server`` and ``wasi_snapshot_preview1`` (what the
server links); anything else, e.g. ``env.Date.now`` from ``Date.now()``, fails the build with
the name of the import. Which asc builds (the service's, the SDK's, or one installed into
the user cache) is in ``wasm_server/toolchain/ts_npm.py``.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from ..errors import BuildError
from . import asconfig, sdk, ts_npm
from .status import ToolStatus

EXPORTS = ("wasm_server_abi_version", "wasm_server_alloc", "wasm_server_request_buffer", "wasm_server_handle")
HOST_MODULES = ("wasm_server", "wasi_snapshot_preview1")
DEFAULT_ENTRY = Path("assembly/index.ts")
#: the link ts-build keeps in a service's node_modules so editors resolve "wasm-server"
#: (the template's tsconfig.json maps it there: nothing absolute is written into a service)
EDITOR_LINK = Path("node_modules/.wasm-server")
# Defaults (asconfig.py): -O3 for speed. Runtime: the incremental collector, plus a full
# collection at the end of every event (sdk/assemblyscript/assembly/dispatch.ts). Measured on
# examples/echo/ts (a reused instance; hello idles at 1 page with any runtime):
#   incremental alone             1 MiB echo → 304 pages, 64 KiB echo → 24
#   minimal (collect after event) 1 MiB echo → 152 pages, 64 KiB echo → 6, but a handler
#                                 that builds a 3000-line string with += grew to 4096
#                                 pages: nothing is freed until the event ends
#   incremental + collect         152 / 6 pages, and that string loop stays at 16 pages
# so the incremental one it is (about 4 KiB larger than minimal). abort, trace and seed
# (Math.random) go to the SDK (the server log, WASI's random_get), so "env" is never imported.


def _link(link: Path, target: Path) -> None:
    """Point the symlink ``link`` at ``target`` (the SDK may have moved since the last build)."""
    if link.is_symlink() and link.resolve() == target.resolve():
        return
    if link.is_symlink() or link.exists():
        link.unlink()
    try:
        link.symlink_to(target, target_is_directory=True)
    except FileExistsError:  # a build running beside this one made it
        pass


def sdk_packages() -> Path:
    """A directory holding the SDK as the package ``wasm-server`` (for asc's ``--path``), in
    the user cache, one per SDK location: nothing is written into the SDK."""
    sdk_assembly = sdk.sdk_dir("assemblyscript") / "assembly"
    packages = ts_npm.cache_dir() / ("sdk-" + hashlib.sha256(str(sdk_assembly).encode()).hexdigest()[:16])
    packages.mkdir(parents=True, exist_ok=True)
    _link(packages / "wasm-server", sdk_assembly)
    return packages


def generated_entry(project: Path, entries: list[Path]) -> Path:
    """The entry asc compiles: it re-exports the service's entries and the SDK's exports.

    It lives in the project (``.wasm-server/ts-build/``, beside ``up``'s data) so that its
    imports of the service's files are relative paths inside the project: asc names a file by
    its path from the project, and the same file reached as ``../../tmp/svc/assembly/index``
    from outside would be a second copy of it. Re-exporting (rather than naming the service's
    files as entries too) compiles them even when a transform turns an entry into a library
    (json-as does that to every ``assembly/index.ts``)."""
    generated = project / ".wasm-server" / "ts-build" / "entry.ts"
    generated.parent.mkdir(parents=True, exist_ok=True)
    lines = [f'export * from "{Path(os.path.relpath(e.resolve().with_suffix(""), generated.parent)).as_posix()}";'
             for e in entries]
    lines += [f'export {{ {", ".join(EXPORTS)} }} from "wasm-server/dispatch";',
              'import "wasm-server/abort";  // abort, trace and seed must be in the program for --use to find them']
    text = "\n".join(lines) + "\n"
    if not generated.is_file() or generated.read_text() != text:
        tmp = generated.with_name(f".entry-{os.getpid()}.ts")
        tmp.write_text(text)
        tmp.replace(generated)  # a build running beside this one never reads half a file
    return generated


def command(asc: Path, out: Path, project: Path, entries: list[Path], config: asconfig.AsConfig,
            flags: asconfig.Flags) -> list[str]:
    """The asc command line, run in the project: the generated entry, what the server needs,
    ts-build's defaults, then the service's own flags (asc adds asconfig.json's itself).

    Why in the project with asc's default ``--baseDir .``: asc looks a bare import of the
    service's files up in ``<baseDir>/node_modules`` and those above it (not beside the
    importing file), a package's imports from that package's directory upwards, and the
    ``--path`` directories last; it reads ``<baseDir>/asconfig.json``; and transforms
    such as json-as locate files as ``cwd + baseDir``. The old ``--baseDir /`` found none
    of the service's packages (``~lib/<pkg>.ts not found``)."""
    generated = generated_entry(project, entries)
    return [str(asc), str(generated.relative_to(project)), "-o", str(out.resolve()),
            *asconfig.required_flags(sdk_packages()), *asconfig.defaults(config, flags), *flags.asc]


def module_problems(wasm: bytes) -> list[str]:
    """What makes ``wasm`` unfit for the server: imports it does not provide, missing exports."""
    import wasmtime  # the host's own engine; imported here to keep ``--help`` fast

    module = wasmtime.Module(wasmtime.Engine(), wasm)
    foreign = [f"{i.module}.{i.name}" for i in module.imports if i.module not in HOST_MODULES]
    problems = []
    if foreign:
        problems.append(f"it uses {', '.join(foreign)}, which the server does not provide "
                        "(for Date.now() use now() from \"wasm-server\")")
    exports = {e.name for e in module.exports}
    missing = [name for name in ("memory", "_initialize", *EXPORTS) if name not in exports]
    if missing:
        problems.append(f"it does not export {', '.join(missing)}")
    return problems


def _entries(project: Path, flags: asconfig.Flags, config: asconfig.AsConfig) -> list[Path]:
    """The service's entries: those named, then those asconfig.json lists; assembly/index.ts without either."""
    named = [project / e for e in flags.entries]
    entries: list[Path] = []
    for entry in [*named, *config.entries] or [project / DEFAULT_ENTRY]:
        if not entry.is_file():
            raise BuildError(f"wasm-server ts-build: no {entry} (run it in the project or name the entry file)")
        if entry.resolve() not in {e.resolve() for e in entries}:
            entries.append(entry)
    return entries


def build(argv: list[str], project: Path) -> Path:
    """Build the service in ``project`` as ``argv`` asks; the module written, or BuildError."""
    flags = asconfig.parse_flags(argv)
    if flags.out is None:
        raise BuildError("wasm-server ts-build: missing -o OUT.wasm "
                         "(usage: wasm-server ts-build -o OUT.wasm [assembly/index.ts] [asc flags])")
    config_name, target = flags.options.get("config"), flags.options.get("target")
    config = asconfig.load(project, str(config_name) if config_name else None, str(target) if target else None)
    asconfig.check(config, flags)
    entries = _entries(project, flags, config)
    ts_npm.install_project(project)
    asc = ts_npm.pick_asc(project)
    if (project / "node_modules").is_dir():
        _link(project / EDITOR_LINK, sdk.sdk_dir("assemblyscript") / "assembly")
    out = project / flags.out
    out.parent.mkdir(parents=True, exist_ok=True)
    what = ", ".join(os.path.relpath(e, project) for e in entries)
    print(f"compiling {what} with AssemblyScript ({asc}) …", file=sys.stderr, flush=True)
    started = time.monotonic()
    _run_asc(command(asc, out, project, entries, config, flags), project, out, what)
    print(f"built {out} ({out.stat().st_size} bytes) in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return out


def _run_asc(argv: list[str], project: Path, out: Path, what: str) -> None:
    """Run asc, show what it said, and keep ``out`` only if the server can run it."""
    proc = subprocess.run(argv, cwd=project, capture_output=True, text=True)
    # asc prints notes (AS2xx) with its errors; show everything it said
    if proc.stderr:
        sys.stderr.write(proc.stderr)
    unknown = re.findall(r"Unknown option '([^']*)'", proc.stderr)  # asc only warns, then builds
    if unknown:
        out.unlink(missing_ok=True)
        raise BuildError(f"asc does not know {', '.join(unknown)} (see npx asc --help)")
    if proc.returncode != 0 or not out.exists():
        raise BuildError(f"asc failed (exit {proc.returncode}) for {what}")
    problems = module_problems(out.read_bytes())
    if problems:
        out.unlink()
        raise BuildError(f"{what} cannot run on wasm-server: {'; '.join(problems)}")


def main(argv: list[str]) -> int:
    """``wasm-server ts-build``: build in the current directory; BuildError with asc's messages on failure."""
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__, file=sys.stderr)
        return 0
    build(argv, Path.cwd())
    return 0


def status() -> ToolStatus:
    """Node.js, npm and asc, for ``wasm-server doctor``."""
    return ts_npm.status()
