"""Cluster pub/sub through a real redis-server: two hubs in one process stand for two nodes."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Callable

import pytest

from tests.kv.redis_server import redis_url
from tests.pubsub.fakes import FakeRegistry
from wasm_server.pubsub.redis import RedisPubSub, parse_channel, redis_channel


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for ``predicate`` (fail after ``timeout`` seconds: a deadline, not a speed claim)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def test_channel_names_are_namespaced_and_round_trip() -> None:
    name = redis_channel("my:app", "chat", "room:1/x")
    assert name.startswith(b"wasm-server:pubsub:my%3Aapp:chat:")
    assert parse_channel(name) == ("my:app", "chat", "room:1/x")
    assert parse_channel(b"wasm-server:cluster:changes") is None
    assert parse_channel(b"wasm-server:pubsub:only-app") is None


async def started(url: str) -> RedisPubSub:
    hub = RedisPubSub(url)
    await hub.start()
    await until(hub.subscribed.is_set)
    return hub


async def test_a_message_published_on_one_node_reaches_subscribers_on_the_other_once() -> None:
    app = f"chat-{uuid.uuid4().hex[:8]}"  # the session's Redis is shared by other tests
    node_a, node_b = await started(redis_url()), await started(redis_url())
    try:
        reg_a, reg_b = FakeRegistry(), FakeRegistry()
        alice, bob = reg_a.add(1, "ws"), reg_b.add(7, "ws")
        stranger = reg_b.add(8, "ws")  # same component, other app: must hear nothing
        broker_a, broker_b = node_a.broker(reg_a, app), node_b.broker(reg_b, app)
        other_app = node_b.broker(reg_b, app + "-other")
        broker_a.subscribe("ws", "room", 1)
        broker_b.subscribe("ws", "room", 7)
        other_app.subscribe("ws", "room", 8)

        assert broker_a.publish("ws", "room", b"from a") == 1  # local delivery counted, direct
        assert alice.got == [b"from a"]
        await until(lambda: bob.got == [b"from a"])
        assert broker_b.publish("ws", "room", b"from b") == 1
        await until(lambda: len(alice.got) == 2)
        # a node's own message came back through Redis too and was skipped: no duplicate
        assert alice.got == [b"from a", b"from b"] and bob.got == [b"from a", b"from b"]
        assert stranger.got == []
        assert broker_b.publish("ws", "other-room", b"nobody") == 0

        broker_b.close()  # the app on node B closes: it receives nothing more
        broker_a.publish("ws", "room", b"after close")
        broker_a.publish("ws", "room", b"marker")
        other_a = node_a.broker(reg_a, app + "-other")
        other_a.publish("ws", "room", b"to the other app")
        await until(lambda: stranger.got == [b"to the other app"])
        assert bob.got == [b"from a", b"from b"]
    finally:
        await node_a.close()
        await node_b.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


async def test_redis_down_never_stalls_or_fails_a_publish_and_the_queue_stays_bounded(
        caplog: pytest.LogCaptureFixture) -> None:
    hub = RedisPubSub(f"redis://127.0.0.1:{closed_port()}/0", max_pending=50)
    await hub.start()
    try:
        reg = FakeRegistry()
        local = reg.add(1, "ws")
        broker = hub.broker(reg, "app")
        broker.subscribe("ws", "room", 1)
        for i in range(2000):
            assert broker.publish("ws", "room", b"%d" % i) == 1  # returns at once, delivered locally
            assert len(hub.pending) <= 50
        assert len(local.got) == 2000
        await until(lambda: hub.dropped == 2000)  # each message is either dropped on a full queue or on a failed send
        assert hub.sent == 0
    finally:
        await hub.close()
    warnings = [r.getMessage() for r in caplog.records if "pub/sub" in r.getMessage()]
    assert any("dropped until it recovers" in w for w in warnings)
    assert sum("dropped until it recovers" in w for w in warnings) == 1  # once per outage, not per message
