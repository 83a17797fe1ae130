"""Cluster pub/sub: a message published on one node reaches subscribers on every node.

One :class:`RedisPubSub` per process carries the messages of every app the
process serves. Publishing delivers to this process's subscribers directly
(no round trip), then queues the message for Redis ``PUBLISH`` on the channel
``wasm-server:pubsub:<app>:<component>:<channel>`` (app and component
percent-encoded, so a ``:`` in a guest's channel name cannot be confused with
the separators). One subscription connection per process (``PSUBSCRIBE
wasm-server:pubsub:*``) receives the other nodes' messages and hands them to
the local brokers of that app; each message carries the id of the process that
sent it, so a process skips its own.

Delivery across nodes is at most once, like Redis pub/sub itself: a node that
is disconnected from Redis misses what is published meanwhile. A Redis outage
never stalls a guest: ``publish`` only appends to a bounded queue (past the
bound the message is dropped and counted), a sender task drains it, and a send
that fails drops what is queued and logs once per outage, not once per message.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import weakref
from collections import deque
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from .local import LocalBroker, Subscribers

if TYPE_CHECKING:
    import redis.asyncio

log = logging.getLogger("wasm_server")

PREFIX = b"wasm-server:pubsub:"
#: messages waiting for Redis at most (per process), and their bytes at most
MAX_PENDING = 1000
MAX_PENDING_BYTES = 16 * 1024 * 1024
#: seconds Redis may take to connect or answer before a send counts as failed
TIMEOUT = 2.0
#: seconds between reconnection attempts of the subscription
RETRY_SECONDS = 1.0
#: origin ids are this long (the first bytes of each Redis message)
ORIGIN_LEN = 16


def redis_channel(app: str, component: str, channel: str) -> bytes:
    """The namespaced Redis channel of an app's component's channel."""
    return PREFIX + f"{quote(app, safe='')}:{quote(component, safe='')}:".encode() + channel.encode()


def parse_channel(name: bytes) -> tuple[str, str, str] | None:
    """``(app, component, channel)`` of a Redis channel name, or None if it is not ours."""
    if not name.startswith(PREFIX):
        return None
    parts = name[len(PREFIX):].split(b":", 2)
    if len(parts) != 3:
        return None
    try:
        return unquote(parts[0].decode()), unquote(parts[1].decode()), parts[2].decode()
    except UnicodeDecodeError:
        return None


class RedisBroker:
    """One app's broker in cluster mode: local fan-out plus Redis for the other nodes."""

    def __init__(self, hub: RedisPubSub, connections: Subscribers, app: str) -> None:
        self.hub = hub
        self.app = app
        self.local = LocalBroker(connections, app)

    def publish(self, component: str, channel: str, data: bytes) -> int:
        """Deliver here at once, queue for the other nodes; returns this node's count."""
        delivered = self.local.publish(component, channel, data)
        self.hub.send(self.app, component, channel, data)
        return delivered

    def subscribe(self, component: str, channel: str, conn_id: int) -> None:
        """Subscribe a connection of this process."""
        self.local.subscribe(component, channel, conn_id)

    def close(self) -> None:
        """Stop receiving other nodes' messages for this app instance."""
        self.hub.forget(self)
        self.local.close()


class RedisPubSub:
    """The process's link to Redis pub/sub, shared by every app's :class:`RedisBroker`."""

    def __init__(self, url: str, *, max_pending: int = MAX_PENDING,
                 max_pending_bytes: int = MAX_PENDING_BYTES) -> None:
        import redis.asyncio as redis  # imported here: single-node servers never need it

        self.url = url
        self.origin = os.urandom(ORIGIN_LEN)
        self.client: redis.Redis = redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
        self.max_pending = max_pending
        self.max_pending_bytes = max_pending_bytes
        #: (redis channel, payload) waiting for the sender
        self.pending: deque[tuple[bytes, bytes]] = deque()
        self.pending_bytes = 0
        #: messages dropped (queue full or Redis failing), sent, received from other nodes
        self.dropped = self.sent = self.received = 0
        self.subscribed = asyncio.Event()
        self._brokers: dict[str, weakref.WeakSet[RedisBroker]] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._failing_since: float | None = None

    def broker(self, connections: Subscribers, app: str) -> RedisBroker:
        """A broker for one app (a :data:`~wasm_server.pubsub.BrokerFactory`)."""
        made = RedisBroker(self, connections, app)
        self._brokers.setdefault(app, weakref.WeakSet()).add(made)
        return made

    def forget(self, broker: RedisBroker) -> None:
        """A closing app's broker receives nothing more."""
        brokers = self._brokers.get(broker.app)
        if brokers is not None:
            brokers.discard(broker)

    async def start(self) -> None:
        """Start the subscription and the sender (they retry on their own while Redis is away)."""
        self._tasks = [asyncio.ensure_future(self._listen()), asyncio.ensure_future(self._send_loop())]

    async def close(self) -> None:
        """Stop both tasks and close the connections (what is still queued is dropped)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.client.aclose()

    # -- out: this node's messages ------------------------------------------------------

    def send(self, app: str, component: str, channel: str, data: bytes) -> None:
        """Queue a message for the other nodes; never waits (a full queue drops it)."""
        if len(self.pending) >= self.max_pending or self.pending_bytes + len(data) > self.max_pending_bytes:
            self.dropped += 1
            self._warn(f"the queue to Redis is full ({len(self.pending)} messages)")
            return
        self.pending.append((redis_channel(app, component, channel), self.origin + data))
        self.pending_bytes += len(data)
        self._wake.set()

    async def _send_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.pending:
                batch = list(self.pending)
                self.pending.clear()
                self.pending_bytes = 0
                try:
                    await self._publish(batch)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # redis-py's ConnectionError/TimeoutError are not OSErrors
                    self.dropped += len(batch)
                    self._warn(f"cannot publish to Redis ({exc})")
                    await asyncio.sleep(RETRY_SECONDS)  # bounded: the queue holds at most max_pending
                    break
                else:
                    self.sent += len(batch)
                    if self._failing_since is not None:
                        log.warning("pub/sub: Redis is back after %.1fs (%d message(s) dropped meanwhile)",
                                    time.monotonic() - self._failing_since, self.dropped)
                        self._failing_since = None

    async def _publish(self, batch: list[tuple[bytes, bytes]]) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            for channel, payload in batch:
                pipe.publish(channel, payload)
            await pipe.execute()

    def _warn(self, what: str) -> None:
        """Log the first failure of an outage only (a guest publishing in a loop must not flood the log)."""
        if self._failing_since is None:
            self._failing_since = time.monotonic()
            log.warning("pub/sub: %s; messages to other nodes are dropped until it recovers", what)

    # -- in: other nodes' messages ------------------------------------------------------

    async def _listen(self) -> None:
        interrupted = False
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(PREFIX + b"*")
                self.subscribed.set()
                if interrupted:
                    log.warning("pub/sub: subscribed to Redis again; other nodes' messages arrive again")
                    interrupted = False
                async for message in pubsub.listen():
                    if message.get("type") == "pmessage":
                        self._deliver(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.subscribed.clear()
                # once per outage: a retry every second must not flood the log
                (log.debug if interrupted else log.warning)(
                    "pub/sub: the Redis subscription was interrupted (%s); retrying every %.0fs", exc, RETRY_SECONDS)
                interrupted = True
                await asyncio.sleep(RETRY_SECONDS)
            finally:
                await _quietly_close(pubsub)

    def _deliver(self, channel: bytes, payload: bytes) -> None:
        if payload[:ORIGIN_LEN] == self.origin:
            return  # ours: delivered locally when it was published
        where = parse_channel(channel)
        if where is None:
            return
        app, component, name = where
        self.received += 1
        for broker in list(self._brokers.get(app, ())):
            broker.local.publish(component, name, payload[ORIGIN_LEN:])


async def _quietly_close(pubsub: redis.asyncio.client.PubSub) -> None:
    try:
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
    except Exception:  # closing a connection that already failed
        pass
