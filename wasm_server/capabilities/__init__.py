"""Host capabilities: the ``wasm_server`` imports of docs/abi.md (and the WASI ones replaced).

Each capability module lists its imports in ``IMPORTS``; :data:`ALL_IMPORTS`
goes to the engine's ``Runtime``, which defines them on its linker once per
process. An import body receives the :class:`~.call.GuestCall` of the calling
instance, whose ``host`` is the component's :class:`~.host.ComponentHost`.
The lifecycle (configure at load, state per instance, release) is described
in lifecycle.py.
"""

from __future__ import annotations

from ..engine import HostImport
from . import (
    clock,
    kv,
    log,
    outbound_http,
    outbound_sockets,
    pubsub,
    result,
    sockets,
    stdio,
    streams,
    timers,
    variables,
    wasi_poll,
)
from .call import GuestCall
from .fence import fenced
from .host import ComponentHost, LoadEnv, configure

ALL_IMPORTS: tuple[HostImport, ...] = (
    *result.IMPORTS,
    *log.IMPORTS,
    *variables.IMPORTS,
    *kv.IMPORTS,
    # what tells the outside world something waits for the KV group commit (fence.py)
    *fenced(outbound_http.IMPORTS),
    *fenced(outbound_sockets.IMPORTS),
    *fenced(sockets.IMPORTS),
    *fenced(pubsub.IMPORTS),
    *clock.IMPORTS,
    *timers.IMPORTS,
    *fenced(streams.IMPORTS),
    *wasi_poll.IMPORTS,  # replaces Wasmtime's blocking poll_oneoff (see wasi_poll.py)
    *stdio.IMPORTS,  # replaces Wasmtime's fd_write: guest stdout/stderr into the log (see stdio.py)
)

__all__ = ["ALL_IMPORTS", "ComponentHost", "GuestCall", "LoadEnv", "configure"]
