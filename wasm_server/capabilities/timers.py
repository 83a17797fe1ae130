"""Wake-ups between events: ``wake_after`` and the TIMER event (kind 9).

A session's guest (a UDP listener's instance, a TCP or WebSocket
connection's) runs only when an event arrives. Guests whose runtime keeps
timers of its own (Go's goroutines and ``time`` package: retransmits,
keepalives, read deadlines) ask here to be called again: ``wake_after(ms)``
makes the session queue one TIMER event after ``ms`` milliseconds, in order
with its other events. One request per instance is pending at a time (a new
one replaces it), ``ms < 0`` cancels, and the delay is at least
:data:`MIN_WAKE_MS`, so a guest can cost at most one event per millisecond,
each under the component's deadline — never a busy loop in the host.
HTTP instances have no session: the call answers INVALID.

``udp_listeners`` tells a guest its UDP listeners (socket id and bound
address) before any datagram arrived, so a ``net.PacketConn`` has a
``LocalAddr`` and a socket to send from.
"""

from __future__ import annotations

import struct

from ..engine import HostImport
from ..errors import ErrorCode
from .call import GuestCall

#: the shortest wake-up a guest gets (ms): bounds the TIMER events of one session to 1000/s
MIN_WAKE_MS = 1


def wake_after(state: GuestCall, ms: int) -> int:
    """Ask for one TIMER event after ``ms`` milliseconds (``< 0``: cancel)."""
    if state.waker is None:
        state.result = b"wake_after: only UDP listener and connection instances get TIMER events"
        return ErrorCode.INVALID
    state.waker.wake_after(None if ms < 0 else max(ms, MIN_WAKE_MS) / 1000)
    return 0


def encode_listeners(listeners: list[tuple[int, str]]) -> bytes:
    """``u32 count`` then per listener ``u32 socket, str local``."""
    out = [struct.pack("<I", len(listeners))]
    for socket_id, local in listeners:
        raw = local.encode()
        out.append(struct.pack("<II", socket_id, len(raw)) + raw)
    return b"".join(out)


def udp_listeners(state: GuestCall) -> int:
    """The component's UDP listeners in this process, into the result slot."""
    name = state.host.name
    found = [(sid, sock.local) for sid, sock in sorted(state.host.connections.udp.items())
             if sock.component == name]
    state.result = encode_listeners(found)
    return len(state.result)


IMPORTS = [
    HostImport("wake_after", "i", "i", wake_after),
    HostImport("udp_listeners", "", "l", udp_listeners),
]
