"""The in-process broker: fan-out per (component, channel), dead subscribers forgotten."""

from __future__ import annotations

from tests.pubsub.fakes import FakeRegistry
from wasm_server.pubsub import LocalBroker


def test_a_message_reaches_every_subscriber_of_that_component_and_channel_only() -> None:
    reg = FakeRegistry()
    a1, a2, other_channel, other_component = reg.add(1, "a"), reg.add(2, "a"), reg.add(3, "a"), reg.add(4, "b")
    broker = LocalBroker(reg, "app")
    for conn_id in (1, 2):
        broker.subscribe("a", "room", conn_id)
    broker.subscribe("a", "lobby", 3)
    broker.subscribe("b", "room", 4)
    assert broker.publish("a", "room", b"hi") == 2
    assert a1.got == a2.got == [b"hi"] and other_channel.got == other_component.got == []
    assert broker.publish("a", "nobody", b"x") == 0


def test_closed_and_vanished_connections_are_dropped_and_an_empty_channel_forgotten() -> None:
    reg = FakeRegistry()
    live, closed = reg.add(1, "a"), reg.add(2, "a")
    broker = LocalBroker(reg, "app")
    for conn_id in (1, 2, 99):  # 99 is gone already
        broker.subscribe("a", "room", conn_id)
    closed.open = False
    assert broker.publish("a", "room", b"m") == 1 and live.got == [b"m"]
    assert broker.channels[("a", "room")] == {1}
    live.open = False
    assert broker.publish("a", "room", b"m") == 0 and ("a", "room") not in broker.channels


def test_a_subscription_of_another_components_connection_does_not_deliver() -> None:
    reg = FakeRegistry()
    theirs = reg.add(1, "b")
    broker = LocalBroker(reg)
    broker.subscribe("a", "room", 1)  # conn 1 belongs to b, not a
    assert broker.publish("a", "room", b"m") == 0 and theirs.got == []


def test_close_forgets_every_subscription() -> None:
    reg = FakeRegistry()
    conn = reg.add(1, "a")
    broker = LocalBroker(reg)
    broker.subscribe("a", "room", 1)
    broker.close()
    assert broker.publish("a", "room", b"m") == 0 and conn.got == []
