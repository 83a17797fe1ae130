"""``wasm-server ts-build``: TypeScript (AssemblyScript) → a wasm-server module.

    wasm-server ts-build -o app.wasm [assembly/index.ts]

Compiles with AssemblyScript's ``asc`` (npm ``assemblyscript``, installed in
``sdk/assemblyscript/node_modules`` by scripts/setup). ``import ... from
"wasm-server"`` resolves to the SDK in ``sdk/assemblyscript/assembly``. The
ABI exports come from the SDK: this wrapper compiles a generated entry that
re-exports your module and the SDK's ``wasm_server_*`` functions, so your
code only registers handlers (``serve(handler)``). Top-level statements run
once per instance, in ``_initialize``.

The module may import only from ``wasm_server`` and ``wasi_snapshot_preview1``
(what the server links); anything else, e.g. ``env.Date.now`` from
``Date.now()``, fails the build with the name of the import.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

from ..errors import BuildError

SDK_DIR = Path(__file__).resolve().parents[2] / "sdk" / "assemblyscript"
ASC = SDK_DIR / "node_modules" / ".bin" / "asc"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wasm-server" / "assemblyscript"
EXPORTS = ("wasm_server_abi_version", "wasm_server_alloc", "wasm_server_request_buffer", "wasm_server_handle")
HOST_MODULES = ("wasm_server", "wasi_snapshot_preview1")
# -O3 for speed. Runtime: the incremental collector, plus a full collection at the end
# of every event (sdk/assemblyscript/assembly/dispatch.ts). Measured on examples/echo/ts
# (a reused instance; hello idles at 1 page with any runtime):
#   incremental alone             1 MiB echo → 304 pages, 64 KiB echo → 24
#   minimal (collect after event) 1 MiB echo → 152 pages, 64 KiB echo → 6, but a handler
#                                 that builds a 3000-line string with += grew to 4096
#                                 pages: nothing is freed until the event ends
#   incremental + collect         152 / 6 pages, and that string loop stays at 16 pages
# so the incremental one it is (about 4 KiB larger than minimal). abort, trace and seed
# (Math.random) go to the SDK (the server log, WASI's random_get), so "env" is never imported.
FLAGS = ["-O3", "--runtime", "incremental", "--exportStart", "_initialize",
         "--use", "abort=~lib/wasm-server/abort/wasm_server_abort",
         "--use", "trace=~lib/wasm-server/abort/wasm_server_trace",
         "--use", "seed=~lib/wasm-server/abort/wasm_server_seed"]


def _parse(argv: list[str]) -> tuple[Path, Path]:
    out: Path | None = None
    entry = Path("assembly/index.ts")
    it = iter(argv)
    for arg in it:
        if arg == "-o":
            value = next(it, None)
            if value is None:
                raise BuildError("wasm-server ts-build: -o needs a value")
            out = Path(value)
        elif arg.startswith("-"):
            raise BuildError(f"wasm-server ts-build: unknown option {arg!r} "
                             "(usage: wasm-server ts-build -o OUT.wasm [assembly/index.ts])")
        else:
            entry = Path(arg)
    if out is None:
        raise BuildError("wasm-server ts-build: missing -o OUT.wasm")
    return out, entry


def workspace(entry: Path) -> tuple[Path, Path]:
    """A cache directory for ``entry``: the generated entry file and the package path."""
    key = hashlib.sha256(str(entry).encode()).hexdigest()[:16]
    ws = CACHE / key
    packages = ws / "packages"
    packages.mkdir(parents=True, exist_ok=True)
    link = packages / "wasm-server"
    target = SDK_DIR / "assembly"
    if not link.is_symlink() or link.resolve() != target.resolve():
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target, target_is_directory=True)
    generated = ws / "entry.ts"
    user = os.path.relpath(entry.with_suffix(""), ws)
    # abort, trace and seed must be part of the program for --use … to find them
    generated.write_text(f'export * from "{user}";\n'
                         f'export {{ {", ".join(EXPORTS)} }} from "wasm-server/dispatch";\n'
                         'import "wasm-server/abort";\n')
    return generated, packages


def command(out: Path, entry: Path) -> list[str]:
    """The asc command line (paths relative to / so the cache and the project can both be reached)."""
    generated, packages = workspace(entry.resolve())
    root = Path("/")
    return [str(ASC), str(generated.relative_to(root)), "--baseDir", "/", "--path", str(packages),
            "-o", str(out.resolve()), *FLAGS]


def foreign_imports(wasm: bytes) -> list[str]:
    """The imports of ``wasm`` the server does not provide, as ``module.name``."""
    import wasmtime  # the host's own engine; imported here to keep ``--help`` fast

    module = wasmtime.Module(wasmtime.Engine(), wasm)
    return [f"{i.module}.{i.name}" for i in module.imports if i.module not in HOST_MODULES]


def main(argv: list[str]) -> int:
    """Build; raise BuildError with asc's messages on failure."""
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__, file=sys.stderr)
        return 0
    out, entry = _parse(argv)
    if not entry.is_file():
        raise BuildError(f"wasm-server ts-build: no {entry} (run it in the project or name the entry file)")
    if not ASC.exists():
        raise BuildError(f"AssemblyScript is not installed ({ASC} is missing): run scripts/setup "
                         "(it runs `npm ci` in sdk/assemblyscript)")
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"compiling {entry} with AssemblyScript …", file=sys.stderr, flush=True)
    started = time.monotonic()
    proc = subprocess.run(command(out, entry), capture_output=True, text=True)
    # asc prints notes (AS2xx) with its errors; show everything it said
    if proc.stderr:
        sys.stderr.write(proc.stderr)
    if proc.returncode != 0 or not out.exists():
        raise BuildError(f"asc failed (exit {proc.returncode}) for {entry}")
    foreign = foreign_imports(out.read_bytes())
    if foreign:
        out.unlink()
        raise BuildError(f"{entry} uses {', '.join(foreign)}, which the server does not provide "
                         "(for Date.now() use now() from \"wasm-server\")")
    print(f"wrote {out} ({out.stat().st_size} bytes, {time.monotonic() - started:.1f}s)", file=sys.stderr)
    return 0
