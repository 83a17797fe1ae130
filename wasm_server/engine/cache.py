"""On-disk cache of compiled modules, so a restart does not recompile.

Entries are keyed by the SHA-256 of the wasm bytes, the wasmtime version and
a fingerprint of the engine settings, and written atomically (temp file +
rename) so concurrent workers never read a half-written file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import wasmtime

from ..errors import LoadError


class ModuleCache:
    """Compile-or-load of wasm modules through a directory of ``.cwasm`` files."""

    def __init__(self, engine: wasmtime.Engine, directory: Path | None, fingerprint: str) -> None:
        self.engine = engine
        self.directory = directory
        self.fingerprint = fingerprint
        self.hits = 0
        self.misses = 0

    def key(self, wasm: bytes) -> str:
        """The cache key of a module's bytes under this engine."""
        h = hashlib.sha256(wasm)
        h.update(f"|wasmtime-py {wasmtime.__name__} {_wasmtime_version()}|{self.fingerprint}".encode())
        return h.hexdigest()

    def load(self, wasm: bytes, origin: str) -> wasmtime.Module:
        """Return the compiled module for ``wasm`` (``origin`` names it in errors)."""
        path = self.directory / f"{self.key(wasm)}.cwasm" if self.directory else None
        if path is not None and path.exists():
            try:
                module = wasmtime.Module.deserialize_file(self.engine, str(path))
                self.hits += 1
                return module
            except wasmtime.WasmtimeError:
                path.unlink(missing_ok=True)  # stale or corrupt entry: recompile
        module = self._compile(wasm, origin)
        self.misses += 1
        if path is not None:
            self._store(path, module.serialize())
        return module

    def _compile(self, wasm: bytes, origin: str) -> wasmtime.Module:
        if wasm[:4] != b"\0asm":
            raise LoadError(f"{origin}: not a WebAssembly module (bad magic bytes {wasm[:4]!r})")
        try:
            return wasmtime.Module(self.engine, wasm)
        except wasmtime.WasmtimeError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid module"
            raise LoadError(f"{origin}: {first}") from None

    def _store(self, path: Path, data: bytearray) -> None:
        assert self.directory is not None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only cache dir only costs a recompile next time


def _wasmtime_version() -> str:
    try:
        from importlib.metadata import version

        return version("wasmtime")
    except Exception:
        return "unknown"
