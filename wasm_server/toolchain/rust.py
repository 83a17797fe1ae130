"""``wasm-server cargo-build``: a Rust crate → a wasm-server module.

    wasm-server cargo-build -o app.wasm [--manifest-path Cargo.toml]

Picks a toolchain that can build offline: rustup's stable when it has the
``wasm32-wasip1`` target installed, else Debian's ``/usr/bin/cargo`` with
``/usr/bin/rustc`` and ``libstd-rust-dev-wasm32`` (target ``wasm32-wasi``).
``rustup target add`` needs the network, so it is never run here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import BuildError

ROOT = Path(__file__).resolve().parents[2]
#: one target dir for every crate, so the SDK compiles once for all examples
TARGET_DIR = ROOT / "target"
STACK_SIZE = 64 * 1024


@dataclass(frozen=True)
class Toolchain:
    """A cargo that can build wasm here."""

    cargo: str
    target: str
    env: dict[str, str]
    why: str


def _rustup_has(target: str) -> bool:
    if not shutil.which("rustup"):
        return False
    out = subprocess.run(["rustup", "target", "list", "--installed"], capture_output=True, text=True)
    return target in out.stdout.split()


def pick() -> Toolchain:
    """The toolchain to use (explained in ``why``)."""
    if _rustup_has("wasm32-wasip1") and shutil.which("cargo"):
        return Toolchain("cargo", "wasm32-wasip1", {}, "rustup stable with wasm32-wasip1")
    debian_std = Path("/usr/lib/rustlib/wasm32-wasi")
    if Path("/usr/bin/cargo").exists() and Path("/usr/bin/rustc").exists() and debian_std.exists():
        return Toolchain("/usr/bin/cargo", "wasm32-wasi", {"RUSTC": "/usr/bin/rustc"},
                         "Debian rustc + libstd-rust-dev-wasm32 (target wasm32-wasi)")
    raise BuildError(
        "no Rust toolchain that can build wasm offline: install Debian's rustc, cargo and "
        "libstd-rust-dev-wasm32 (scripts/setup does), or a rustup toolchain with wasm32-wasip1"
    )


def _crate_name(manifest: Path) -> str:
    try:
        data = tomllib.loads(manifest.read_text())
        lib = data.get("lib", {}).get("name")
        return str(lib or data["package"]["name"]).replace("-", "_")
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise BuildError(f"cannot read the crate name from {manifest}: {exc}") from None


def main(argv: list[str]) -> int:
    """Build the crate and copy its .wasm to ``-o``."""
    if argv in (["-h"], ["--help"]):
        print(__doc__, file=sys.stderr)
        return 0
    args = list(argv)
    manifest = Path("Cargo.toml")
    if "--manifest-path" in args:
        i = args.index("--manifest-path")
        manifest = Path(args[i + 1])
        del args[i : i + 2]
    if "-o" not in args:
        raise BuildError("wasm-server cargo-build: missing -o OUT.wasm")
    out = Path(args[args.index("-o") + 1])
    if not manifest.exists():
        raise BuildError(f"no {manifest} here")
    tc = pick()
    print(f"toolchain: {tc.why}", file=sys.stderr, flush=True)
    env = {**os.environ, **tc.env, "CARGO_TARGET_DIR": str(TARGET_DIR), "CARGO_NET_OFFLINE": "true"}
    # a 64 KiB stack instead of 1 MiB: the module's memory starts at ~128 KiB, not ~1 MiB
    env["RUSTFLAGS"] = (env.get("RUSTFLAGS", "") + f" -C link-arg=-zstack-size={STACK_SIZE}").strip()
    cmd = [tc.cargo, "build", "--release", "--target", tc.target, "--manifest-path", str(manifest)]
    proc = subprocess.run(cmd, env=env)
    if proc.returncode != 0:
        raise BuildError(f"cargo build failed (exit {proc.returncode}) for {manifest}")
    built = TARGET_DIR / tc.target / "release" / f"{_crate_name(manifest)}.wasm"
    if not built.exists():
        raise BuildError(f"cargo did not produce {built} (is crate-type = [\"cdylib\"] set?)")
    shutil.copyfile(built, out)
    print(f"wrote {out} ({out.stat().st_size} bytes)", file=sys.stderr)
    return 0
