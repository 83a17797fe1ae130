"""The capability lifecycle, as Spin's factors have it.

1. **init** — once per process: each capability module lists its host imports
   in ``IMPORTS``; :data:`~wasm_server.capabilities.ALL_IMPORTS` goes to the
   engine's ``Runtime``, which defines them on its linker.
2. **configure** — once per component at load:
   :func:`~wasm_server.capabilities.host.configure` validates the manifest
   entries (unknown stores, outbound rules) and returns the component's
   :class:`~wasm_server.capabilities.host.ComponentHost`.
3. **instance state** — when an instance is created, the executor asks
   ``ComponentHost.new_call()`` for a :class:`~wasm_server.capabilities.call.GuestCall`
   (the engine's ``HostCall`` subclass). Each capability keeps its
   per-instance state in its own slot there, made lazily on first use, as an
   :class:`InstanceState`.
4. **release** — the engine calls ``GuestCall.after_event()`` after each event
   (per-request state ends: the response sink is dropped, buffered guest output
   is flushed) and ``GuestCall.release()`` when the instance is discarded;
   both hand on to every :class:`InstanceState` that exists.
"""

from __future__ import annotations

from typing import Protocol


class InstanceState(Protocol):
    """A capability's state in one instance (e.g. the outbound sockets it opened)."""

    def end_event(self) -> None:
        """The instance finished one event (an HTTP request, a TCP/WS/UDP event)."""

    def release(self) -> None:
        """The instance is being discarded: close and flush everything now."""
