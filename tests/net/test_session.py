"""The shared session seam (net/session.py, net/flow.py) through TCP and UDP sessions
driven by fake transports and a fake guest: no sockets, no wasm."""

from __future__ import annotations

import asyncio

from tests.net.sessionfakes import FakeTarget, FakeTransport, settle, trap
from wasm_server.abi_codec import KIND_TCP_CLOSE, KIND_TCP_CONNECT, KIND_TCP_DATA, KIND_UDP_DATAGRAM
from wasm_server.net.connections import ConnectionRegistry
from wasm_server.net.flow import FlowControl
from wasm_server.net.session import SessionLimits
from wasm_server.net.tcp import TcpSession
from wasm_server.net.udp import UdpSession

LIMITS = SessionLimits(max_connections=10, idle_timeout=300.0)


def tcp(target: FakeTarget, registry: ConnectionRegistry, limits: SessionLimits = LIMITS,
        ) -> tuple[TcpSession, FakeTransport]:
    session = TcpSession(target, registry, limits)  # type: ignore[arg-type]
    transport = FakeTransport()
    session.connection_made(transport)
    return session, transport


async def wait_for(condition: object, tries: int = 500) -> None:
    """Poll a condition (bounded): sweeps run on the loop's timers."""
    for _ in range(tries):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


def test_flow_control_resumes_only_when_both_reasons_are_gone() -> None:
    t = FakeTransport()
    flow = FlowControl(t, 1000)
    assert t.high == 1000
    flow.queue_full()
    flow.pause_writing()
    assert not t.reading and t.pauses == 1  # paused once, not twice
    flow.queue_drained()
    assert not t.reading  # the peer still is not reading
    flow.resume_writing()
    assert t.reading
    flow.pause_writing()
    flow.resume_writing()
    assert t.reading and t.pauses == 2


async def test_tcp_events_run_in_order_in_one_instance_released_at_the_end() -> None:
    target, registry = FakeTarget(), ConnectionRegistry()
    session, _t = tcp(target, registry)
    for chunk in (b"a", b"b", b"c"):
        session.data_received(chunk)
    session.connection_lost(None)
    await settle()
    kinds = [k for k, _ in target.events]
    assert kinds == [KIND_TCP_CONNECT, KIND_TCP_DATA, KIND_TCP_DATA, KIND_TCP_DATA, KIND_TCP_CLOSE]
    assert [p[-1:] for k, p in target.events if k == KIND_TCP_DATA] == [b"a", b"b", b"c"]
    assert len(target.instances) == 1 and target.instances[0].released
    assert registry.get(session.conn_id, "comp") is None


async def test_registry_gives_a_connection_only_to_its_component() -> None:
    registry = ConnectionRegistry()
    session, _ = tcp(FakeTarget("a"), registry)
    assert registry.get(session.conn_id, "a") is session
    assert registry.get(session.conn_id, "b") is None


async def test_connections_past_max_are_refused_and_a_place_frees_on_close() -> None:
    target, registry = FakeTarget(), ConnectionRegistry()
    limits = SessionLimits(max_connections=1, idle_timeout=300.0)
    first, _ = tcp(target, registry, limits)
    second, t2 = tcp(target, registry, limits)
    assert t2.aborted and registry.groups["comp"].refused == 1
    second.connection_lost(None)  # asyncio still reports the refused one's end
    first.connection_lost(None)
    _third, t3 = tcp(target, registry, limits)
    assert not t3.aborted
    await settle()
    # the refused connection never reached the guest
    assert [k for k, _ in target.events].count(KIND_TCP_CONNECT) == 2


async def test_the_limit_is_per_component() -> None:
    registry = ConnectionRegistry()
    limits = SessionLimits(max_connections=1, idle_timeout=300.0)
    tcp(FakeTarget("a"), registry, limits)
    _, t = tcp(FakeTarget("b"), registry, limits)
    assert not t.aborted


async def test_an_idle_connection_is_closed_and_a_busy_one_is_not() -> None:
    target, registry = FakeTarget(), ConnectionRegistry()
    limits = SessionLimits(max_connections=10, idle_timeout=0.1)
    _idle, t_idle = tcp(target, registry, limits)
    await settle()
    target.gate = asyncio.Event()  # the next event runs "forever"
    _busy, t_busy = tcp(target, registry, limits)
    await wait_for(lambda: t_idle.closed)
    assert not t_busy.closed
    target.gate.set()


async def test_traffic_keeps_a_connection_open() -> None:
    target, registry = FakeTarget(), ConnectionRegistry()
    session, t = tcp(target, registry, SessionLimits(max_connections=10, idle_timeout=0.2))
    for _ in range(30):  # 0.3 s of traffic every 10 ms
        session.data_received(b"x")
        await asyncio.sleep(0.01)
    assert not t.closed
    await wait_for(lambda: t.closed)


async def test_a_guest_behind_pauses_reading_until_it_catches_up() -> None:
    target, registry = FakeTarget(), ConnectionRegistry()
    target.gate = asyncio.Event()
    session, t = tcp(target, registry, SessionLimits(max_connections=10, idle_timeout=300.0, max_queue=8))
    for _ in range(8):
        session.data_received(b"x")
    assert not t.reading
    target.gate.set()
    await settle()
    assert t.reading
    assert len(target.events) == 9  # connect + 8, none lost


async def test_a_peer_not_reading_pauses_reading_even_when_the_guest_is_idle() -> None:
    target, registry = FakeTarget(), ConnectionRegistry()
    session, t = tcp(target, registry)
    await settle()
    assert t.high == LIMITS.high_water
    session.pause_writing()
    session.data_received(b"x")
    await settle()
    assert not t.reading  # the drained queue does not override the write side
    session.resume_writing()
    assert t.reading


async def test_a_trap_closes_the_connection_and_releases_its_instance() -> None:
    target, registry = FakeTarget(answer=lambda k, p: trap(k, p) if k == KIND_TCP_DATA else 0), ConnectionRegistry()
    session, t = tcp(target, registry)
    session.data_received(b"boom")
    session.data_received(b"after")
    await settle()
    assert t.closed and target.instances[0].released
    session.connection_lost(None)
    await settle()
    # the trapped event, then nothing: not the next data, not the close
    assert [k for k, _ in target.events] == [KIND_TCP_CONNECT, KIND_TCP_DATA]
    assert registry.groups["comp"].sessions == set()


async def test_a_negative_answer_closes() -> None:
    target, registry = FakeTarget(answer=lambda k, p: -1), ConnectionRegistry()
    _, t = tcp(target, registry)
    await settle()
    assert t.closed


async def test_udp_a_failed_datagram_does_not_stop_the_listener() -> None:
    calls = []

    def answer(kind: int, payload: bytes) -> int:
        calls.append(payload[-1:])
        if payload.endswith(b"bad"):
            trap(kind, payload)
        return 0

    target, registry = FakeTarget(answer=answer), ConnectionRegistry()
    udp = UdpSession(target, registry)  # type: ignore[arg-type]
    for data in (b"one", b"bad", b"two"):
        udp.datagram_received(data, ("127.0.0.1", 53))
    await settle()
    assert [k for k, _ in target.events] == [KIND_UDP_DATAGRAM] * 3
    assert len(target.instances) == 2 and target.instances[0].released  # a fresh one after the trap


async def test_udp_datagrams_past_the_queue_are_dropped_and_counted() -> None:
    target, registry = FakeTarget(), ConnectionRegistry()
    target.gate = asyncio.Event()
    udp = UdpSession(target, registry)  # type: ignore[arg-type]
    for i in range(udp.pump.max_queue + 5):
        udp.datagram_received(b"%d" % i, ("127.0.0.1", 53))
    assert udp.dropped == 5
    target.gate.set()
    await settle(50)
    await udp.close()
    assert target.instances[0].released
