"""Rust's std for ``wasm32-wasip1``, built once from Debian's ``rust-web-src`` and shared.

Debian ships no wasm std for ``rustc-web``, and ``rustup target add`` needs the network.
``rust-web-src`` carries std's sources *and* the crates std depends on (``library/vendor``),
so std builds offline: ``cargo -Z build-std`` on an empty crate, with crates.io replaced by
that vendor directory. Doing this inside every guest's build would not work: the replacement
would hide crates.io from the guest's own dependencies (serde …), and a vendored guest's
replacement would hide std's. So std is built here once per rustc, with bitcode kept in the
rlibs (guests build with ``lto = true``), and installed as a sysroot
(``<cache>/rust-sysroot/<rustc>-<hash>/lib/rustlib/wasm32-wasip1/lib``) that every guest's
build passes to rustc with ``--sysroot``: the second guest does no std work at all.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..cachedir import wasm_server_cache
from ..errors import BuildError

TARGET = "wasm32-wasip1"
#: the std sources and their vendored crates (package rust-web-src)
LIBRARY = Path("/usr/lib/rustlib/src/rust/library")
#: bump when the way std is built changes, so old sysroots are not reused
RECIPE = "v1: build-std=std,panic_abort; opt-level=3; codegen-units=1; panic=abort; embed-bitcode"

_CRATE_TOML = """\
[package]
name = "wasm-server-std"
version = "0.0.0"
edition = "2021"

[profile.release]
opt-level = 3
codegen-units = 1
panic = "abort"
debug = false

[workspace]
"""


def cache_root() -> Path:
    """Where std and the shared target dir live (the user's wasm-server cache)."""
    return wasm_server_cache()


def toml_str(value: str) -> str:
    """A TOML basic string (for ``cargo --config KEY=VALUE``)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sysroot_dir(rustc: str, version_text: str) -> Path:
    """Where the std built by ``rustc`` (``rustc -vV`` output ``version_text``) lives."""
    release = next((line.split(":", 1)[1].strip() for line in version_text.splitlines()
                    if line.startswith("release:")), "unknown")
    key = hashlib.sha256(f"{rustc}\n{version_text}\n{RECIPE}".encode()).hexdigest()[:12]
    return cache_root() / "rust-sysroot" / f"{release}-{key}"


def lib_dir(sysroot: Path) -> Path:
    """The directory of the target's rlibs inside a sysroot."""
    return sysroot / "lib" / "rustlib" / TARGET / "lib"


def is_built(sysroot: Path) -> bool:
    """Whether this sysroot holds a complete std (the stamp is written last)."""
    return (sysroot / "stamp").is_file()


def ensure(cargo: str, rustc: str, version_text: str) -> Path:
    """The sysroot for ``rustc``, building std first if this rustc has none yet.

    Concurrent builds wait on a lock instead of building std twice; a build that fails or
    is interrupted leaves nothing behind that looks complete."""
    sysroot = sysroot_dir(rustc, version_text)
    if is_built(sysroot):
        return sysroot
    sysroot.parent.mkdir(parents=True, exist_ok=True)
    with open(sysroot.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another build may be making this std right now
        if not is_built(sysroot):
            _build(cargo, rustc, sysroot)
    return sysroot


def _build(cargo: str, rustc: str, sysroot: Path) -> None:
    print(f"building Rust std for {TARGET} from {LIBRARY} (first build with this rustc; "
          "it is cached and shared by every guest; about 70 s of CPU, minutes on a busy machine) …",
          file=sys.stderr, flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=".build-", dir=sysroot.parent) as tmp:
        work = Path(tmp)
        (work / "src").mkdir()
        (work / "src" / "lib.rs").write_text("")
        (work / "Cargo.toml").write_text(_CRATE_TOML)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RUSTFLAGS", "CARGO_BUILD_", "CARGO_TARGET_"))}
        # -Z build-std is unstable; rustc-web is a stable compiler, so it needs this to allow it.
        # Bitcode stays in the rlibs so that guests' `lto = true` can optimise across std.
        env |= {"RUSTC_BOOTSTRAP": "1", "CARGO_ENCODED_RUSTFLAGS": "-Cembed-bitcode=yes"}
        cmd = [cargo, "build", "--offline", "--release", "--target", TARGET, "-Z", "build-std=std,panic_abort",
               "--manifest-path", str(work / "Cargo.toml"), "--target-dir", str(work / "target"),
               "--config", f"build.rustc={toml_str(rustc)}",
               # std's dependencies (libc, hashbrown …) come from rust-web-src, never from the network
               "--config", 'source.crates-io.replace-with="rust-src"',
               "--config", f"source.rust-src.directory={toml_str(str(LIBRARY / 'vendor'))}"]
        try:
            proc = subprocess.run(cmd, env=env, cwd=work)
        except OSError as exc:
            raise BuildError(f"cannot run {cargo}: {exc}") from None
        if proc.returncode != 0:
            raise BuildError(f"building Rust std for {TARGET} failed (exit {proc.returncode}); "
                             f"command: {' '.join(cmd)}")
        staged = work / "sysroot"
        lib = lib_dir(staged)
        lib.mkdir(parents=True)
        for rlib in (work / "target" / TARGET / "release" / "deps").glob("lib*.rlib"):
            if not rlib.name.startswith("libwasm_server_std-"):
                shutil.copy2(rlib, lib / rlib.name)
        (staged / "stamp").write_text(RECIPE + "\n")
        shutil.rmtree(sysroot, ignore_errors=True)  # a half-copied std from an interrupted build
        staged.rename(sysroot)
    print(f"built Rust std in {time.monotonic() - started:.0f} s ({sysroot})", file=sys.stderr, flush=True)
