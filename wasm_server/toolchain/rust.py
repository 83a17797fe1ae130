"""``wasm-server cargo-build``: a Rust crate → a wasm-server module.

    wasm-server cargo-build -o app.wasm [--manifest-path Cargo.toml]
    wasm-server cargo-build -o app.wasm --features json,log [--no-default-features | --all-features]
    wasm-server cargo-build -o app.wasm --offline | --locked | --frozen
    wasm-server cargo-build --vendor [--manifest-path Cargo.toml]   (cargo vendor into vendor/, for offline builds)
    wasm-server cargo-build --std-only     (build the shared std now, as scripts/setup does; else the first build does)

The toolchain is Debian's ``rustc-web`` (``/usr/bin/cargo``, ``/usr/bin/rustc``; called by path
because rustup's shims usually come first on PATH) for target ``wasm32-wasip1``, with std built
once from ``rust-web-src`` and shared by every guest (``rust_std``), linked by ``rust-lld``
(lld-22) against Debian's ``wasi-libc``. Without it, a rustup toolchain that has the
``wasm32-wasip1`` target installed is used as it is. Crates come from crates.io as usual (or
from a ``cargo vendor`` directory); the SDK crate ``wasm-server`` comes from this installation
(``sdk_dir("rust")``) through a ``[patch.crates-io]`` given on cargo's command line, so a
service's Cargo.toml only says ``wasm-server = "0.1"``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BuildError
from . import rust_std
from .sdk import sdk_dir
from .status import ToolStatus

TARGET = rust_std.TARGET
#: every guest's build shares it: the SDK and common crates compile once for all of them
TARGET_DIR = rust_std.cache_root() / "rust-target"
#: a 64 KiB stack instead of Rust's 1 MiB: memory starts at 128 KiB instead of ~1.1 MiB
STACK_SIZE = 64 * 1024
DEBIAN_CARGO = "/usr/bin/cargo"
DEBIAN_RUSTC = "/usr/bin/rustc"
#: rust-web-llvm's symlink to lld-22 (lld-14 cannot link current std: `__heap_end`)
RUST_LLD = "/usr/bin/rust-lld"
#: Debian's wasi-libc: the C runtime (libc.a, crt1-*.o) std's wasi code links against
WASI_LIBC = Path("/usr/lib/wasm32-wasi")
#: the oldest rustc this builds with (edition 2024, current crates)
MIN_RUSTC = (1, 85)
#: the one command that installs it (Debian 12 bookworm-security; in a checkout scripts/setup runs it)
INSTALL = "sudo apt-get install rustc-web cargo-web rust-web-src rust-web-llvm lld-22 wasi-libc"
_WHERE = " (Debian 12 bookworm-security; in a checkout, scripts/setup does it)"


@dataclass(frozen=True)
class Toolchain:
    """A cargo that can build wasm here, and how to drive it."""

    cargo: str
    rustc: str | None  # passed as build.rustc; None: the cargo's own
    version: str  # "rustc 1.96.0"
    why: str
    #: ``rustc -vV`` of a rustc whose std for wasm32-wasip1 is built by ``rust_std`` (Debian)
    std_from_source: str | None = None
    rustflags: tuple[str, ...] = field(default=())


def _rustc_vv(rustc: str) -> str | None:
    try:
        out = subprocess.run([rustc, "-vV"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 else None


def _release(version_text: str) -> tuple[int, int]:
    for line in version_text.splitlines():
        if line.startswith("release:"):
            parts = line.split(":", 1)[1].strip().split(".")
            try:
                return int(parts[0]), int(parts[1])
            except (IndexError, ValueError):
                break
    return 0, 0


def _debian() -> Toolchain:
    """Debian's rustc-web, or a BuildError naming what is missing and how to install it."""
    missing = [p for p in (DEBIAN_CARGO, DEBIAN_RUSTC, RUST_LLD, str(WASI_LIBC / "libc.a"),
                           str(rust_std.LIBRARY / "vendor")) if not Path(p).exists()]
    if missing:
        raise BuildError(f"no Rust toolchain for {TARGET}: missing {', '.join(missing)}; install it with: {INSTALL}"
                         + _WHERE)
    text = _rustc_vv(DEBIAN_RUSTC)
    if text is None:
        raise BuildError(f"{DEBIAN_RUSTC} -vV failed; reinstall it with: {INSTALL}" + _WHERE)
    release = _release(text)
    if release < MIN_RUSTC:
        raise BuildError(f"{DEBIAN_RUSTC} is {release[0]}.{release[1]}, older than {MIN_RUSTC[0]}.{MIN_RUSTC[1]} "
                         f"(Debian's rustc, not rustc-web); install rustc-web with: {INSTALL}" + _WHERE)
    flags = ("-L", f"native={WASI_LIBC}", "-C", f"linker={RUST_LLD}")
    return Toolchain(DEBIAN_CARGO, DEBIAN_RUSTC, f"rustc {release[0]}.{release[1]}",
                     f"Debian rustc-web {release[0]}.{release[1]} ({DEBIAN_CARGO}), std built from rust-web-src",
                     std_from_source=text, rustflags=flags)


def _rustup() -> Toolchain | None:
    """rustup's cargo when its toolchain has the wasm32-wasip1 target installed."""
    if not (shutil.which("rustup") and shutil.which("cargo")):
        return None
    try:
        out = subprocess.run(["rustup", "target", "list", "--installed"], capture_output=True, text=True,
                             timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0 or TARGET not in out.stdout.split():
        return None
    text = _rustc_vv("rustc") or ""
    release = _release(text)
    return Toolchain("cargo", None, f"rustc {release[0]}.{release[1]}", f"rustup stable ({TARGET} is installed)")


def pick() -> Toolchain:
    """Debian's rustc-web when installed, else rustup with the target, else a BuildError."""
    try:
        return _debian()
    except BuildError as debian_error:
        found = _rustup()
        if found is None:
            raise debian_error from None
        return found


def status() -> ToolStatus:
    """What ``wasm-server doctor`` shows for Rust."""
    try:
        tc = pick()
    except BuildError as exc:
        return ToolStatus("rust", "cargo (rustc-web)", False, install=INSTALL, note=str(exc))
    note = tc.why
    if tc.std_from_source is not None:
        sysroot = rust_std.sysroot_dir(DEBIAN_RUSTC, tc.std_from_source)
        note += ("; std is built" if rust_std.is_built(sysroot) else "; std gets built by the first build") + \
            f" ({sysroot})"
    return ToolStatus("rust", "cargo", True, version=tc.version, path=tc.cargo, install=INSTALL, note=note)


def _crate_name(manifest: Path) -> str:
    try:
        data = tomllib.loads(manifest.read_text())
        lib = data.get("lib", {}).get("name")
        return str(lib or data["package"]["name"]).replace("-", "_")
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise BuildError(f"cannot read the crate name from {manifest}: {exc}") from None


#: cargo's flags passed through as they are
SWITCHES = ("--all-features", "--no-default-features", "--offline", "--locked", "--frozen")
USAGE = ("usage: wasm-server cargo-build -o OUT.wasm [--manifest-path Cargo.toml] [--features F1,F2] "
         "[--no-default-features] [--all-features] [--offline] [--locked] [--frozen]; "
         "or wasm-server cargo-build --vendor [--manifest-path Cargo.toml]; or wasm-server cargo-build --std-only")


@dataclass
class Args:
    """The command line of ``cargo-build``."""

    out: Path | None = None
    manifest: Path = Path("Cargo.toml")
    cargo_flags: list[str] = field(default_factory=list)
    vendor: bool = False  # cargo vendor into vendor/ instead of building
    std_only: bool = False  # only make sure the shared std is built


def _value(arg: str, it: Iterator[str]) -> str:
    value = next(it, None)
    if value is None:
        raise BuildError(f"wasm-server cargo-build: {arg} needs a value")
    return value


def parse(argv: list[str]) -> Args:
    """The parsed command line; a BuildError for anything cargo-build does not take."""
    args = Args()
    it = iter(argv)
    for arg in it:
        if arg in SWITCHES:
            args.cargo_flags.append(arg)
        elif arg in ("-F", "--features"):
            args.cargo_flags += ["--features", _value(arg, it)]
        elif arg.startswith("--features="):
            args.cargo_flags += ["--features", arg.split("=", 1)[1]]
        elif arg == "-o":
            args.out = Path(_value(arg, it))
        elif arg == "--manifest-path":
            args.manifest = Path(_value(arg, it))
        elif arg.startswith("--manifest-path="):
            args.manifest = Path(arg.split("=", 1)[1])
        elif arg == "--vendor":
            args.vendor = True
        elif arg == "--std-only":
            args.std_only = True
        else:
            raise BuildError(f"wasm-server cargo-build: unexpected argument {arg!r} ({USAGE})")
    if args.out is None and not (args.vendor or args.std_only):
        raise BuildError("wasm-server cargo-build: missing -o OUT.wasm")
    return args


def sdk_patch() -> list[str]:
    """cargo flags that make ``wasm-server = "0.1"`` resolve to this installation's SDK."""
    return ["--config", f"patch.crates-io.wasm-server.path={rust_std.toml_str(str(sdk_dir('rust')))}"]


def _cargo_env(tc: Toolchain, sysroot: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    # Our flags go in the environment, which cargo ranks above config files; the user's own
    # RUSTFLAGS are kept (encoded: a cache path with a space must stay one argument).
    user = env.pop("CARGO_ENCODED_RUSTFLAGS", None)
    flags = user.split("\x1f") if user else env.pop("RUSTFLAGS", "").split()
    flags += [*tc.rustflags, "-C", f"link-arg=-zstack-size={STACK_SIZE}"]
    if sysroot is not None:
        flags += ["--sysroot", str(sysroot)]
    env["CARGO_ENCODED_RUSTFLAGS"] = "\x1f".join(f for f in flags if f)
    return env


def rustc_config(tc: Toolchain) -> list[str]:
    """cargo flags that make it use the toolchain's rustc (not the first one on PATH)."""
    return ["--config", f"build.rustc={rust_std.toml_str(tc.rustc)}"] if tc.rustc else []


@contextmanager
def _output_lock(manifest: Path) -> Iterator[None]:
    """Hold ``<crate>.wasm`` of the shared target dir from the build until it is copied out.

    Two crates with the same name (a service made from the template and the example it came
    from, two `hello` services) write the same ``release/<crate>.wasm``; cargo's own lock ends
    with the build, so a second build could overwrite the file while the first copies it, and
    the first service got the other's module."""
    locks = TARGET_DIR / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{_crate_name(manifest.resolve())}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def target_dir(manifest: Path) -> Path:
    """Where cargo builds ``manifest``'s crate: the shared target dir, unless a crate of the same
    name at another path builds there (then a directory of its own). Called under _output_lock.

    Cargo keys a root crate's fingerprint by its name and paths relative to the crate, not by
    where the crate is: a second crate of the same name (a service made from the template and
    an example called alike, two services called `hello`) found the first one's build "fresh"
    and got its module, even one build after the other."""
    manifest = manifest.resolve()
    name = _crate_name(manifest)
    owners = TARGET_DIR / "owners"
    owners.mkdir(parents=True, exist_ok=True)
    owner = owners / name
    recorded = owner.read_text() if owner.exists() else ""
    if recorded == str(manifest):
        return TARGET_DIR
    if not recorded or not Path(recorded).exists():
        # the name is free (or its crate is gone): take it, and forget the old crate's build
        fingerprints = TARGET_DIR / TARGET / "release" / ".fingerprint"
        for pattern in {f"{name}-*", f"{name.replace('_', '-')}-*"}:
            for stale in fingerprints.glob(pattern):
                shutil.rmtree(stale, ignore_errors=True)
        owner.write_text(str(manifest))
        return TARGET_DIR
    digest = hashlib.sha256(str(manifest).encode()).hexdigest()[:16]
    return TARGET_DIR / "by-path" / f"{name}-{digest}"


def build(args: Args, tc: Toolchain) -> Path:
    """Build the crate for wasm32-wasip1; the path of the .wasm cargo made."""
    sysroot = None
    if tc.std_from_source is not None:
        sysroot = rust_std.ensure(tc.cargo, DEBIAN_RUSTC, tc.std_from_source)
    manifest = args.manifest.resolve()
    where = target_dir(manifest)
    cmd = [tc.cargo, "build", "--release", "--target", TARGET, "--manifest-path", str(manifest),
           "--target-dir", str(where), *rustc_config(tc), *sdk_patch(), *args.cargo_flags]
    try:
        # in the crate's directory: its .cargo/config.toml (e.g. vendored sources) applies
        proc = subprocess.run(cmd, env=_cargo_env(tc, sysroot), cwd=manifest.parent)
    except OSError as exc:
        raise BuildError(f"cannot run {tc.cargo}: {exc}") from None
    if proc.returncode != 0:
        raise BuildError(f"cargo build failed (exit {proc.returncode}) for {args.manifest}")
    built = where / TARGET / "release" / f"{_crate_name(manifest)}.wasm"
    if not built.exists():
        raise BuildError(f"cargo did not produce {built} (is crate-type = [\"cdylib\"] set in [lib]?)")
    return built


def vendor(args: Args, tc: Toolchain) -> None:
    """``cargo vendor`` with the SDK patched in; cargo prints the config that uses the copy."""
    manifest = args.manifest.resolve()
    cmd = [tc.cargo, "vendor", "--manifest-path", str(manifest), *rustc_config(tc), *sdk_patch(),
           "vendor"]
    try:
        proc = subprocess.run(cmd, cwd=manifest.parent)
    except OSError as exc:
        raise BuildError(f"cannot run {tc.cargo}: {exc}") from None
    if proc.returncode != 0:
        raise BuildError(f"cargo vendor failed (exit {proc.returncode}) for {args.manifest}")
    print(f"vendored the crates into {manifest.parent / 'vendor'}: put the lines above in "
          f"{manifest.parent / '.cargo' / 'config.toml'} to build offline", file=sys.stderr)


def main(argv: list[str]) -> int:
    """Build the crate and copy its .wasm to ``-o`` (or vendor its crates with ``--vendor``)."""
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__, file=sys.stderr)
        return 0
    args = parse(argv)
    if args.std_only:
        tc = pick()
        if tc.std_from_source is not None:
            print(f"Rust std for {TARGET}: {rust_std.ensure(tc.cargo, DEBIAN_RUSTC, tc.std_from_source)}",
                  file=sys.stderr)
        return 0
    if not args.manifest.is_file():
        raise BuildError(f"wasm-server cargo-build: no {args.manifest} (run it in the crate or pass --manifest-path)")
    tc = pick()
    print(f"toolchain: {tc.why}", file=sys.stderr, flush=True)
    if args.vendor:
        vendor(args, tc)
        return 0
    assert args.out is not None
    started = time.monotonic()
    with _output_lock(args.manifest):
        built = build(args, tc)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) in {time.monotonic() - started:.1f} s",
          file=sys.stderr)
    return 0
