"""Publish/subscribe between live connections: in one process, or across a cluster.

A :class:`Broker` is what the ``publish``/``subscribe`` host imports talk to
(capabilities/pubsub.py). Each app gets its own broker from a
:data:`BrokerFactory`: :class:`LocalBroker` fans out inside the process;
:meth:`RedisPubSub.broker` (cluster mode) fans out locally too and carries the
message to every other node through Redis pub/sub.
"""

from __future__ import annotations

from .local import Broker, BrokerFactory, LocalBroker, Subscriber, Subscribers

# RedisBroker and RedisPubSub live in .redis, imported only in cluster mode (start-up time)
__all__ = ["Broker", "BrokerFactory", "LocalBroker", "Subscriber", "Subscribers"]
