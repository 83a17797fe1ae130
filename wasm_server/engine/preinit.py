"""Load a module pre-initialised: its ``_initialize`` run once, every instance starting from
the image that run left (snapshot.py has the how and the limits).

The image is compiled once and kept in the compile cache under a key derived from the
original module's key and the WASI context the start-up saw (arguments, environment,
directories: a start-up may copy them into its heap), so a restart deserialises it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path

import wasmtime

from ..errors import GuestError
from ._lowlevel import HostCall
from .instance import REQUEST_BUFFER_MIN, GuestInstance
from .limits import Limits
from .reasons import wasmtime_reason
from .runtime import LoadedModule, Runtime
from .snapshot import WARM_EXPORT, PreinitRefused, capture, instrument, rebuild
from .wasi import WasiContext

__all__ = ["FORMAT", "PreinitRefused", "preinitialize"]

log = logging.getLogger("wasm_server")

#: bump when the image format changes, so old cached images are not used
FORMAT = "preinit-1"
#: next to a cached image: the request buffer its snapshot left (pointer and capacity)
NOTE_SUFFIX = ".reqbuf"


def _wasi_fingerprint(wasi: WasiContext) -> str:
    return hashlib.sha256(repr((wasi.preopens, wasi.argv, wasi.env, wasi.stdin)).encode()).hexdigest()


async def preinitialize(runtime: Runtime, wasm: bytes, origin: str, limits: Limits,
                        wasi: WasiContext) -> LoadedModule:
    """The pre-initialised form of ``wasm``, loaded; raises :class:`PreinitRefused` (with the
    reason) if the module cannot be snapshotted, and the caller keeps the original."""
    cache = runtime.cache
    key = cache.derived_key(cache.key(wasm), FORMAT, _wasi_fingerprint(wasi))
    module = cache.cached(key)
    reqbuf = _read_note(runtime, key)
    if module is None:
        started = time.monotonic()
        image, reqbuf = await _snapshot(runtime, wasm, origin, limits, wasi)
        module = cache.compile(key, image, f"{origin} (pre-initialised)")
        _write_note(runtime, key, reqbuf)
        log.info("pre-initialised %s in %.1fs (%.1f MiB image)", origin, time.monotonic() - started,
                 len(image) / 2**20)
    try:
        pre = runtime.linker.instantiate_pre(module)
    except wasmtime.WasmtimeError as exc:
        raise PreinitRefused(f"cannot link the image: {wasmtime_reason(str(exc))}") from None
    return LoadedModule(origin, module, pre, frozenset(e.name for e in module.exports), reqbuf)


def _note_path(runtime: Runtime, key: str) -> Path | None:
    directory = runtime.cache.directory
    return directory / f"{key}{NOTE_SUFFIX}" if directory is not None else None


def _read_note(runtime: Runtime, key: str) -> tuple[int, int]:
    """The request buffer the snapshot left, from the note next to the cached image
    ((0, 0), the first request then asks for it, if there is none)."""
    path = _note_path(runtime, key)
    try:
        ptr, cap = (int(x) for x in path.read_text().split()) if path is not None else (0, 0)
    except (OSError, ValueError):
        return 0, 0
    return ptr, cap


def _write_note(runtime: Runtime, key: str, reqbuf: tuple[int, int]) -> None:
    path = _note_path(runtime, key)
    if path is None:
        return
    try:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f"{reqbuf[0]} {reqbuf[1]}\n")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache: fresh instances ask for the buffer once each


async def _snapshot(runtime: Runtime, wasm: bytes, origin: str, limits: Limits,
                    wasi: WasiContext) -> tuple[bytes, tuple[int, int]]:
    instrumented, plan = instrument(wasm)
    try:
        module = wasmtime.Module(runtime.engine, instrumented)
        pre = runtime.linker.instantiate_pre(module)
    except wasmtime.WasmtimeError as exc:
        raise PreinitRefused(f"the instrumented module: {wasmtime_reason(str(exc))}") from None
    loaded = LoadedModule(f"{origin} (start-up for the snapshot)", module, pre,
                          frozenset(e.name for e in module.exports))
    # A bare HostCall, not the component's: a start-up that calls a capability (KV, a
    # variable, outbound HTTP) fails here instead of freezing that call's result or its
    # handles into every instance. WASI calls (clock, random, environment) work.
    try:
        inst = await GuestInstance.create(runtime, loaded, HostCall(), limits, wasi)
    except GuestError as exc:
        raise PreinitRefused(f"its start-up failed without the capabilities: {exc}") from None
    try:
        if WARM_EXPORT in loaded.exports:
            try:
                await inst.call_void(WARM_EXPORT.encode(), time.monotonic() + limits.timeout)
            except GuestError as exc:
                raise PreinitRefused(f"its {WARM_EXPORT} failed without the capabilities: {exc}") from None
        reqbuf = (0, 0)
        if inst.reqbuf:
            # the guest's request buffer, allocated in the image: fresh instances skip that crossing
            await inst.buffer(REQUEST_BUFFER_MIN, time.monotonic() + limits.timeout)
            reqbuf = (inst.reqbuf_ptr, inst.reqbuf_cap)
        captured = capture(inst.state.ctx, inst.inst, plan, inst.state.memory)
    finally:
        inst.release()
    return rebuild(plan, captured), reqbuf
