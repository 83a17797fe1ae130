"""``wasm-server cargo-build``: a Rust crate → a wasm-server module.

    wasm-server cargo-build -o app.wasm [--manifest-path Cargo.toml]
    wasm-server cargo-build -o app.wasm --features json,log [--no-default-features | --all-features]

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


def _target_dir() -> Path:
    """One target dir for every crate, so the SDK compiles once for all examples."""
    if (ROOT / "sdk" / "rust" / "Cargo.toml").exists():  # a source checkout
        return ROOT / "target"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "wasm-server" / "cargo-target"


TARGET_DIR = _target_dir()
#: a 64 KiB stack instead of Rust's 1 MiB: memory starts at 128 KiB instead of ~1.1 MiB
STACK_SIZE = 64 * 1024
DEBIAN_CARGO = "/usr/bin/cargo"
DEBIAN_RUSTC = "/usr/bin/rustc"
DEBIAN_WASM_STD = Path("/usr/lib/rustlib/wasm32-wasi")


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
    try:
        out = subprocess.run(["rustup", "target", "list", "--installed"], capture_output=True, text=True,
                             timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and target in out.stdout.split()


def pick() -> Toolchain:
    """The toolchain to use (explained in ``why``)."""
    if _rustup_has("wasm32-wasip1") and shutil.which("cargo"):
        return Toolchain("cargo", "wasm32-wasip1", {}, "rustup stable (wasm32-wasip1 is installed)")
    if Path(DEBIAN_CARGO).exists() and Path(DEBIAN_RUSTC).exists() and DEBIAN_WASM_STD.exists():
        return Toolchain(DEBIAN_CARGO, "wasm32-wasi", {"RUSTC": DEBIAN_RUSTC},
                         "Debian rustc + libstd-rust-dev-wasm32, target wasm32-wasi "
                         "(rustup has no wasm32-wasip1 target and cannot download one)")
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


#: cargo's feature flags, passed through as they are
FEATURE_SWITCHES = ("--all-features", "--no-default-features")


def _parse(argv: list[str]) -> tuple[Path, Path, list[str]]:
    """``(out, manifest, feature flags for cargo)`` from the command line."""
    out: Path | None = None
    manifest = Path("Cargo.toml")
    features: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg in FEATURE_SWITCHES:
            features.append(arg)
        elif arg in ("-F", "--features"):
            value = next(it, None)
            if value is None:
                raise BuildError(f"wasm-server cargo-build: {arg} needs a value (f1,f2)")
            features += ["--features", value]
        elif arg.startswith("--features="):
            features += ["--features", arg.split("=", 1)[1]]
        elif arg in ("-o", "--manifest-path"):
            value = next(it, None)
            if value is None:
                raise BuildError(f"wasm-server cargo-build: {arg} needs a value")
            if arg == "-o":
                out = Path(value)
            else:
                manifest = Path(value)
        elif arg.startswith("--manifest-path="):
            manifest = Path(arg.split("=", 1)[1])
        else:
            raise BuildError(f"wasm-server cargo-build: unexpected argument {arg!r} "
                             "(usage: wasm-server cargo-build -o OUT.wasm [--manifest-path Cargo.toml] "
                             "[--features F1,F2] [--no-default-features] [--all-features])")
    if out is None:
        raise BuildError("wasm-server cargo-build: missing -o OUT.wasm")
    return out, manifest, features


def main(argv: list[str]) -> int:
    """Build the crate and copy its .wasm to ``-o``."""
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__, file=sys.stderr)
        return 0
    out, manifest, features = _parse(argv)
    if not manifest.is_file():
        raise BuildError(f"wasm-server cargo-build: no {manifest} (run it in the crate or pass --manifest-path)")
    tc = pick()
    print(f"toolchain: {tc.why}", file=sys.stderr, flush=True)
    env = {**os.environ, **tc.env, "CARGO_TARGET_DIR": str(TARGET_DIR), "CARGO_NET_OFFLINE": "true"}
    env["RUSTFLAGS"] = (env.get("RUSTFLAGS", "") + f" -C link-arg=-zstack-size={STACK_SIZE}").strip()
    cmd = [tc.cargo, "build", "--release", "--target", tc.target, "--manifest-path", str(manifest), *features]
    try:
        proc = subprocess.run(cmd, env=env)  # cargo's progress goes straight to the terminal
    except OSError as exc:
        raise BuildError(f"cannot run {tc.cargo}: {exc}") from None
    if proc.returncode != 0:
        raise BuildError(f"cargo build failed (exit {proc.returncode}) for {manifest}")
    built = TARGET_DIR / tc.target / "release" / f"{_crate_name(manifest)}.wasm"
    if not built.exists():
        raise BuildError(f"cargo did not produce {built} (is crate-type = [\"cdylib\"] set in [lib]?)")
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built, out)
    print(f"wrote {out} ({out.stat().st_size} bytes)", file=sys.stderr)
    return 0
