"""On-disk cache of compiled modules, so a restart does not recompile.

Entries are keyed by the SHA-256 of the wasm bytes, the wasmtime version and
a fingerprint of the engine settings, and written atomically (temp file +
rename) so concurrent workers never read a half-written file.

The directory is bounded: entries are used least-recently-first order by
modification time (a hit touches its entry), and every write prunes the
oldest entries until the total fits ``max_size``. Several worker processes
share one directory, so a prune tolerates files that vanish under it and
never removes a temp file another worker may still be writing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import wasmtime

from ..errors import LoadError
from .reasons import wasmtime_reason

log = logging.getLogger("wasm_server")

MiB = 1024 * 1024
#: the default bound of the cache directory (``[server] cache_max_size``)
DEFAULT_CACHE_MAX_SIZE = 512 * MiB
SUFFIX = ".cwasm"
#: a temp file older than this was left by a writer that died (a live write takes seconds)
STALE_TEMP_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """One compiled module on disk."""

    path: Path
    size: int
    #: last use (modification time, seconds since the epoch)
    used: float


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What a prune kept and removed."""

    kept: int
    kept_bytes: int
    removed: int
    removed_bytes: int


def entries(directory: Path) -> list[CacheEntry]:
    """The cache's entries, most recently used first (files vanishing meanwhile are skipped)."""
    found = []
    try:
        listing = list(os.scandir(directory))
    except FileNotFoundError:
        return []
    for item in listing:
        if not item.name.endswith(SUFFIX):
            continue
        try:
            st = item.stat()
        except FileNotFoundError:
            continue  # another worker pruned it
        found.append(CacheEntry(Path(item.path), st.st_size, st.st_mtime))
    found.sort(key=lambda e: e.used, reverse=True)
    return found


def prune(directory: Path, max_size: int, *, keep: Path | None = None) -> PruneResult:
    """Remove the least recently used entries until the rest fit in ``max_size`` bytes.

    ``keep`` (the entry just written, in use) stays even if it alone is larger.
    Temp files abandoned by a dead writer go too; fresh ones may be mid-write."""
    kept = kept_bytes = removed = removed_bytes = 0
    for entry in entries(directory):
        if entry.path == keep or kept_bytes + entry.size <= max_size:
            kept += 1
            kept_bytes += entry.size
            continue
        try:
            entry.path.unlink()
        except FileNotFoundError:
            continue  # pruned by another worker at the same time
        except OSError:
            kept += 1  # read-only directory: nothing to do
            kept_bytes += entry.size
            continue
        removed += 1
        removed_bytes += entry.size
    _remove_stale_temps(directory)
    return PruneResult(kept, kept_bytes, removed, removed_bytes)


def _remove_stale_temps(directory: Path) -> None:
    cutoff = time.time() - STALE_TEMP_SECONDS
    for tmp in directory.glob("*.tmp"):
        try:
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink()
        except OSError:
            continue


class ModuleCache:
    """Compile-or-load of wasm modules through a directory of ``.cwasm`` files."""

    def __init__(self, engine: wasmtime.Engine, directory: Path | None, fingerprint: str,
                 max_size: int = DEFAULT_CACHE_MAX_SIZE) -> None:
        self.engine = engine
        self.directory = directory
        self.fingerprint = fingerprint
        self.max_size = max_size
        self.hits = 0
        self.misses = 0

    def key(self, wasm: bytes) -> str:
        """The cache key of a module's bytes under this engine."""
        h = hashlib.sha256(wasm)
        h.update(f"|wasmtime-py {wasmtime.__name__} {_wasmtime_version()}|{self.fingerprint}".encode())
        return h.hexdigest()

    def load(self, wasm: bytes, origin: str) -> wasmtime.Module:
        """Return the compiled module for ``wasm`` (``origin`` names it in errors)."""
        key = self.key(wasm)
        module = self.cached(key)
        return module if module is not None else self.compile(key, wasm, origin)

    def derived_key(self, base: str, *parts: str) -> str:
        """The key of a module derived from the one keyed ``base`` (a pre-initialised
        image: ``parts`` name the derivation and what it depends on)."""
        h = hashlib.sha256(base.encode())
        for part in parts:
            h.update(b"|" + part.encode())
        return h.hexdigest()

    def cached(self, key: str) -> wasmtime.Module | None:
        """The compiled module stored under ``key``, if any (a hit counts as one)."""
        path = self.directory / f"{key}{SUFFIX}" if self.directory else None
        if path is not None and path.exists():
            try:
                module = wasmtime.Module.deserialize_file(self.engine, str(path))
                self.hits += 1
                _touch(path)
                return module
            except wasmtime.WasmtimeError:
                path.unlink(missing_ok=True)  # stale, corrupt or pruned meanwhile: recompile
        return None

    def compile(self, key: str, wasm: bytes, origin: str) -> wasmtime.Module:
        """Compile ``wasm`` and store it under ``key`` (a miss counts as one)."""
        # A big module (a Go framework is 10-40 MB) takes Cranelift from seconds to minutes: say
        # so, or `up` looks hung; the next start deserializes it in milliseconds.
        log.info("compiling %s (%.1f MiB, not in the compile cache yet)", origin, len(wasm) / 2**20)
        started = time.monotonic()
        module = self._compile(wasm, origin)
        log.info("compiled %s in %.1fs", origin, time.monotonic() - started)
        self.misses += 1
        if self.directory is not None:
            self._store(self.directory / f"{key}{SUFFIX}", module.serialize())
        return module

    def _compile(self, wasm: bytes, origin: str) -> wasmtime.Module:
        if wasm[:4] != b"\0asm":
            raise LoadError(f"{origin}: not a WebAssembly module (bad magic bytes {wasm[:4]!r})")
        try:
            return wasmtime.Module(self.engine, wasm)
        except wasmtime.WasmtimeError as exc:
            raise LoadError(f"{origin}: {wasmtime_reason(str(exc))}") from None

    def _store(self, path: Path, data: bytearray) -> None:
        assert self.directory is not None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            import tempfile  # here, not at import: it costs start-up (shutil, random, bz2, lzma)

            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError:
            return  # a read-only cache dir only costs a recompile next time
        prune(self.directory, self.max_size, keep=path)


    def load_component(self, wasm: bytes, origin: str) -> wasmtime.component.Component:
        """The compiled component for ``wasm`` (a WASI 0.2 component), from the cache or compiled
        now and stored, announced like a module's compile (components take 10-20 s)."""
        from wasmtime import component as wc

        key = self.derived_key(self.key(wasm), "component")
        path = self.directory / f"{key}{SUFFIX}" if self.directory else None
        if path is not None and path.exists():
            try:
                loaded = wc.Component.deserialize_file(self.engine, str(path))
                self.hits += 1
                _touch(path)
                return loaded
            except wasmtime.WasmtimeError:
                path.unlink(missing_ok=True)
        log.info("compiling %s (%.1f MiB, not in the compile cache yet)", origin, len(wasm) / 2**20)
        started = time.monotonic()
        try:
            compiled = wc.Component(self.engine, wasm)
        except wasmtime.WasmtimeError as exc:
            raise LoadError(f"{origin}: {wasmtime_reason(str(exc))}") from None
        log.info("compiled %s in %.1fs", origin, time.monotonic() - started)
        self.misses += 1
        if path is not None:
            self._store(path, compiled.serialize())
        return compiled


def _touch(path: Path) -> None:
    """Mark an entry used now (modification time: atime is often not kept, relatime/noatime)."""
    try:
        os.utime(path)
    except OSError:
        pass  # read-only cache or pruned meanwhile: the entry just ages


def _wasmtime_version() -> str:
    """wasmtime-py's version, from the name of its one ``wasmtime-X.Y.Z.dist-info`` beside the
    package: importlib.metadata costs start-up time (it imports email, zipfile and csv), so it is
    only the fallback (another layout, or stale dist-infos left by an upgrade)."""
    try:
        infos = list(Path(wasmtime.__file__).parent.parent.glob("wasmtime-*.dist-info"))
    except OSError:
        infos = []
    if len(infos) == 1:
        return infos[0].name[len("wasmtime-"):-len(".dist-info")]
    try:
        from importlib.metadata import version

        return version("wasmtime")
    except Exception:
        return "unknown"
