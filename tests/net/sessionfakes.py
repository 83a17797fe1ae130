"""Fakes for driving sessions without sockets or wasm: a transport that records what it
is told, and an event target that records events (and can answer, fail or refuse)."""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable
from typing import Any

from wasm_server.abi_codec import KIND_WS_CLOSE, KIND_WS_MESSAGE
from wasm_server.capabilities import ComponentHost, GuestCall
from wasm_server.errors import GuestError


class FakeTransport(asyncio.Transport):
    """Records writes, pauses and the close."""

    def __init__(self) -> None:
        super().__init__()
        self.out = bytearray()
        self.closed = False
        self.aborted = False
        self.reading = True
        self.pauses = 0
        self.high: int | None = None

    def write(self, data: Any) -> None:
        self.out += data

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = self.closed = True

    def pause_reading(self) -> None:
        self.reading = False
        self.pauses += 1

    def resume_reading(self) -> None:
        self.reading = True

    def is_closing(self) -> bool:
        return self.closed

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.high = high

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5555), "sockname": ("127.0.0.1", 7)}.get(name, default)


class FakeInstance:
    """Stands for a GuestInstance: release() and its host state (where a session puts
    itself as the ``wake_after`` waker) are what sessions use."""

    def __init__(self, name: str = "comp") -> None:
        self.released = False
        self.state = GuestCall(ComponentHost(name, logging.getLogger("test")))

    def release(self) -> None:
        self.released = True
        self.state.release()


class FakeTarget:
    """An executor that records every event; ``answer`` decides what the guest returns
    (or raises) per event and may act on the session (e.g. echo)."""

    def __init__(self, name: str = "comp", answer: Callable[[int, bytes], int] | None = None) -> None:
        self.name = name
        self.events: list[tuple[int, bytes]] = []
        self.instances: list[FakeInstance] = []
        self.answer = answer or (lambda kind, payload: 0)
        #: set to block delivery until released (a busy guest)
        self.gate: asyncio.Event | None = None

    async def new_instance(self) -> FakeInstance:
        inst = FakeInstance(self.name)
        self.instances.append(inst)
        return inst

    async def deliver(self, inst: FakeInstance, kind: int, payload: bytes) -> int:
        assert not inst.released, "an event reached a released instance"
        if self.gate is not None:
            await self.gate.wait()
        self.events.append((kind, payload))
        return self.answer(kind, payload)


def trap(kind: int, payload: bytes) -> int:
    raise GuestError("unreachable executed")


def ws_messages(events: list[tuple[int, bytes]]) -> list[tuple[bool, bytes]]:
    """The WS_MESSAGE events as (binary, data)."""
    out = []
    for kind, payload in events:
        if kind == KIND_WS_MESSAGE:
            _, flags, n = struct.unpack_from("<III", payload)
            out.append((bool(flags & 1), payload[12:12 + n]))
    return out


def ws_close_codes(events: list[tuple[int, bytes]]) -> list[int]:
    """The codes of the WS_CLOSE events."""
    return [struct.unpack_from("<II", p)[1] for k, p in events if k == KIND_WS_CLOSE]


async def settle(turns: int = 20) -> None:
    """Let queued events run."""
    for _ in range(turns):
        await asyncio.sleep(0)
