"""The WASI context a guest runs with, as a value: directories, arguments, environment, stdin."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import wasmtime
from wasmtime import _ffi as ffi


@dataclass(frozen=True, slots=True)
class WasiContext:
    """What a guest sees of WASI preview 1 besides stdout/stderr (those go to host imports).

    ``preopens`` are read-only directories ``(host directory, guest path)``.
    """

    preopens: tuple[tuple[str, str], ...] = ()
    argv: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    stdin: bytes = b""

    def config(self) -> wasmtime.WasiConfig:
        """A fresh ``WasiConfig`` (a Store takes ownership of the one it is given)."""
        cfg = wasmtime.WasiConfig()
        for source, guest in self.preopens:
            cfg.preopen_dir(source, guest, fs_mutable=False)
        if self.argv:
            cfg.argv = list(self.argv)
        if self.env:
            cfg.env = self.env
        if self.stdin:
            # wasmtime-py has no setter for in-memory stdin; the C API has
            vec = ffi.wasm_byte_vec_t()
            data = self.stdin
            ffi.wasm_byte_vec_new(ctypes.byref(vec), len(data), (ctypes.c_ubyte * len(data)).from_buffer_copy(data))
            ffi.wasi_config_set_stdin_bytes(cfg.ptr(), ctypes.byref(vec))
        return cfg
