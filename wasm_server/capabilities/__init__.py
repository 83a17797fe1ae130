"""Host capabilities: the ``wasm_server`` imports of docs/abi.md.

Each capability module lists its imports in ``IMPORTS``; :func:`define_all`
puts all of them on a linker once per process. An import body receives the
:class:`~wasm_server.engine._lowlevel.CallState` of the calling guest, whose
``host`` is the component's :class:`~.host.ComponentHost`.
"""

from __future__ import annotations

from typing import Any

from . import kv, log, outbound_http, outbound_sockets, pubsub, result, sockets, streams, variables, wasi_poll
from ._spec import ImportSpec, define
from .host import ComponentHost

ALL_IMPORTS: list[ImportSpec] = [
    *result.IMPORTS,
    *log.IMPORTS,
    *variables.IMPORTS,
    *kv.IMPORTS,
    *outbound_http.IMPORTS,
    *outbound_sockets.IMPORTS,
    *sockets.IMPORTS,
    *pubsub.IMPORTS,
    *streams.IMPORTS,
    *wasi_poll.IMPORTS,  # replaces Wasmtime's blocking poll_oneoff (see wasi_poll.py)
]


def define_all(linker_ptr: Any) -> None:
    """Define every host import on a raw linker (after WASI: some replace WASI functions)."""
    from wasmtime import _ffi as ffi

    ffi.wasmtime_linker_allow_shadowing(linker_ptr, True)
    for spec in ALL_IMPORTS:
        define(linker_ptr, spec)


__all__ = ["ALL_IMPORTS", "ComponentHost", "ImportSpec", "define_all"]
