"""Wake-ups between events (capabilities/timers.py, net/session.py): ``wake_after`` queues
one TIMER event for the session's instance, in order with its other events; no wasm."""

from __future__ import annotations

import asyncio
import logging
import struct

from tests.net.sessionfakes import FakeInstance, FakeTarget, FakeTransport, settle, trap
from wasm_server.abi_codec import KIND_TCP_DATA, KIND_TIMER, KIND_UDP_DATAGRAM
from wasm_server.capabilities import ComponentHost, GuestCall
from wasm_server.capabilities.timers import udp_listeners, wake_after
from wasm_server.errors import ErrorCode
from wasm_server.net.connections import ConnectionRegistry
from wasm_server.net.session import SessionLimits
from wasm_server.net.tcp import TcpSession
from wasm_server.net.udp import UdpSession


def state(target: FakeTarget, n: int = 0) -> GuestCall:
    inst: FakeInstance = target.instances[n]
    return inst.state


async def listener() -> tuple[FakeTarget, UdpSession]:
    target = FakeTarget()
    udp = UdpSession(target, ConnectionRegistry())  # type: ignore[arg-type]
    udp.datagram_received(b"hi", ("127.0.0.1", 5000))
    await settle()
    return target, udp


async def test_wake_after_delivers_one_timer_event_to_the_same_instance() -> None:
    target, udp = await listener()
    assert wake_after(state(target), 20) == 0
    await asyncio.sleep(0.06)
    await settle()
    assert [k for k, _ in target.events] == [KIND_UDP_DATAGRAM, KIND_TIMER]
    assert target.events[1][1] == b"" and len(target.instances) == 1
    await asyncio.sleep(0.04)
    assert len(target.events) == 2  # one request, one event
    await udp.close()


async def test_a_new_request_replaces_the_old_and_a_negative_one_cancels() -> None:
    target, udp = await listener()
    wake_after(state(target), 10)
    wake_after(state(target), -1)
    await asyncio.sleep(0.05)
    await settle()
    assert [k for k, _ in target.events] == [KIND_UDP_DATAGRAM]
    wake_after(state(target), 5000)
    wake_after(state(target), 0)  # replaces the 5 s one; 0 counts as the 1 ms minimum
    await asyncio.sleep(0.03)
    await settle()
    assert [k for k, _ in target.events] == [KIND_UDP_DATAGRAM, KIND_TIMER]
    await udp.close()


async def test_a_discarded_instance_is_not_woken() -> None:
    target = FakeTarget(answer=lambda kind, payload: trap(kind, payload) if payload.endswith(b"bad") else 0)
    udp = UdpSession(target, ConnectionRegistry())  # type: ignore[arg-type]
    udp.datagram_received(b"one", ("127.0.0.1", 5000))
    await settle()
    wake_after(state(target), 20)
    udp.datagram_received(b"bad", ("127.0.0.1", 5000))  # traps: the instance is released
    udp.datagram_received(b"two", ("127.0.0.1", 5000))  # a fresh instance, which asked for nothing
    await asyncio.sleep(0.06)
    await settle()
    assert [k for k, _ in target.events] == [KIND_UDP_DATAGRAM] * 3
    assert len(target.instances) == 2
    await udp.close()


async def test_http_instances_cannot_ask() -> None:
    call = GuestCall(ComponentHost("comp", logging.getLogger("test")))
    assert wake_after(call, 10) == ErrorCode.INVALID
    assert b"only UDP listener and connection instances" in call.result


async def test_a_timer_is_not_traffic_for_the_idle_timeout() -> None:
    target, registry = FakeTarget(), ConnectionRegistry()
    session = TcpSession(target, registry, SessionLimits(max_connections=10, idle_timeout=300.0))  # type: ignore[arg-type]
    session.connection_made(FakeTransport())
    session.data_received(b"x")
    await settle()
    before = session.last_active
    await asyncio.sleep(0.02)
    wake_after(state(target), 1)
    await asyncio.sleep(0.03)
    await settle()
    assert [k for k, _ in target.events][-2:] == [KIND_TCP_DATA, KIND_TIMER]
    assert session.last_active == before


async def test_udp_listeners_lists_the_components_own_sockets() -> None:
    registry = ConnectionRegistry()
    mine = UdpSession(FakeTarget("comp"), registry)  # type: ignore[arg-type]
    other = UdpSession(FakeTarget("other"), registry)  # type: ignore[arg-type]
    await mine.listen("127.0.0.1", 0)
    await other.listen("::1", 0)
    host = ComponentHost("comp", logging.getLogger("test"), connections=registry)  # type: ignore[arg-type]
    call = GuestCall(host)
    n = udp_listeners(call)
    raw = bytes(call.result)
    assert n == len(raw)
    count, socket_id, length = struct.unpack_from("<III", raw)
    assert (count, socket_id) == (1, mine.socket_id)
    assert raw[12:12 + length].decode() == mine.local and mine.local.startswith("127.0.0.1:")
    await mine.close()
    await other.close()
