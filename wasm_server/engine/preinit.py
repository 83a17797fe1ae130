"""Load a module pre-initialised: its ``_initialize`` run once, every instance starting from
the image that run left (snapshot.py has the how and the limits).

The image is compiled once and kept in the compile cache under a key derived from the
original module's key and the WASI context the start-up saw (arguments, environment,
directories: a start-up may copy them into its heap), so a restart deserialises it.
"""

from __future__ import annotations

import hashlib
import logging
import time

import wasmtime

from ..errors import GuestError
from ._lowlevel import HostCall
from .instance import GuestInstance
from .limits import Limits
from .reasons import wasmtime_reason
from .runtime import LoadedModule, Runtime
from .snapshot import WARM_EXPORT, PreinitRefused, capture, instrument, rebuild
from .wasi import WasiContext

__all__ = ["FORMAT", "PreinitRefused", "preinitialize"]

log = logging.getLogger("wasm_server")

#: bump when the image format changes, so old cached images are not used
FORMAT = "preinit-1"


def _wasi_fingerprint(wasi: WasiContext) -> str:
    return hashlib.sha256(repr((wasi.preopens, wasi.argv, wasi.env, wasi.stdin)).encode()).hexdigest()


async def preinitialize(runtime: Runtime, wasm: bytes, origin: str, limits: Limits,
                        wasi: WasiContext) -> LoadedModule:
    """The pre-initialised form of ``wasm``, loaded; raises :class:`PreinitRefused` (with the
    reason) if the module cannot be snapshotted, and the caller keeps the original."""
    cache = runtime.cache
    key = cache.derived_key(cache.key(wasm), FORMAT, _wasi_fingerprint(wasi))
    module = cache.cached(key)
    if module is None:
        started = time.monotonic()
        image = await _snapshot(runtime, wasm, origin, limits, wasi)
        module = cache.compile(key, image, f"{origin} (pre-initialised)")
        log.info("pre-initialised %s in %.1fs (%.1f MiB image)", origin, time.monotonic() - started,
                 len(image) / 2**20)
    try:
        pre = runtime.linker.instantiate_pre(module)
    except wasmtime.WasmtimeError as exc:
        raise PreinitRefused(f"cannot link the image: {wasmtime_reason(str(exc))}") from None
    return LoadedModule(origin, module, pre, frozenset(e.name for e in module.exports))


async def _snapshot(runtime: Runtime, wasm: bytes, origin: str, limits: Limits, wasi: WasiContext) -> bytes:
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
        captured = capture(inst.state.ctx, inst.inst, plan, inst.state.memory)
    finally:
        inst.release()
    return rebuild(plan, captured)
