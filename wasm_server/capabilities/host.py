"""What one component may touch: its name, log, stores, variables, outbound policy, files.

:func:`configure` is the load-time step of the capability lifecycle: it
validates a component's manifest entries against what the process has
(declared stores must exist) and returns the :class:`ComponentHost` every
instance of the component shares. The per-instance step is
:meth:`ComponentHost.new_call`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ..engine import WasiContext
from ..errors import CapabilityError, ConfigError, ErrorCode
from ..kv.base import Store
from .call import GuestCall
from .outbound_policy import OutboundPolicy

if TYPE_CHECKING:
    from ..manifest import ComponentSpec
    from .pubsub import Broker


class StoreLookup(Protocol):
    """The process's KV stores by label (``kv.StoreManager``)."""

    def get(self, label: str) -> Store:
        """The store ``label`` (opened on first use)."""

    def has(self, label: str) -> bool:
        """Whether a store ``label`` is configured."""

    def labels(self) -> list[str]:
        """The configured labels."""


class Connection(Protocol):
    """A live TCP or WebSocket connection, as the imports see it."""

    @property
    def peer(self) -> str:
        """The peer address ``ip:port``."""

    def send(self, data: bytes, *, binary: bool = True) -> bool:
        """Queue bytes (a WebSocket message for WebSockets); False if closed."""

    def close(self, code: int = 1000, reason: bytes = b"") -> None:
        """Close the connection (code/reason used by WebSockets)."""


class UdpReplier(Protocol):
    """A UDP listener a guest may answer from."""

    @property
    def component(self) -> str:
        """The component the listener belongs to."""

    @property
    def local(self) -> str:
        """The address it is bound to, ``ip:port``."""

    def sendto(self, peer: str, data: bytes) -> bool:
        """Send a datagram to ``peer`` (``ip:port``); False if the socket is closed."""


class Connections(Protocol):
    """The process's live connections (``net.connections.ConnectionRegistry``)."""

    @property
    def udp(self) -> Mapping[int, UdpReplier]:
        """UDP listeners by socket id."""

    def get(self, conn_id: int, component: str) -> Connection | None:
        """The connection, if it is live and belongs to ``component``."""


class _NoConnections:
    """A process that serves no connections (tests, benchmarks): every id is unknown."""

    udp: Mapping[int, UdpReplier] = {}

    def get(self, conn_id: int, component: str) -> Connection | None:
        """No connection is live."""
        return None


class _NoBroker:
    """Pub/sub without subscribers (no connections to deliver to)."""

    def publish(self, component: str, channel: str, data: bytes) -> int:
        """Nobody receives it."""
        return 0

    def subscribe(self, component: str, channel: str, conn_id: int) -> None:
        """Never reached: with no connections, subscribe fails before this."""

    def close(self) -> None:
        """Nothing to stop."""


@dataclass(slots=True)
class ComponentHost:
    """The capabilities granted to one component, shared by its instances."""

    name: str
    logger: logging.Logger
    variables: dict[str, str] = field(default_factory=dict)
    key_value_stores: frozenset[str] = frozenset()
    store_manager: StoreLookup | None = None
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)
    connections: Connections = field(default_factory=_NoConnections)
    broker: Broker = field(default_factory=_NoBroker)
    #: what the guest sees of WASI: the read-only directories of ``files``
    wasi: WasiContext = field(default_factory=WasiContext)

    def new_call(self) -> GuestCall:
        """The per-instance state of a new instance of this component."""
        return GuestCall(self)

    def outbound_check(self, scheme: str, host: str, port: int) -> str | None:
        """Why ``scheme://host:port`` is not allowed, or None if it is."""
        if any(r.matches(scheme, host.lower(), port) for r in self.outbound.rules):
            return None
        return f"destination {scheme}://{host}:{port} is not in allowed_outbound_hosts"

    def store(self, label: str) -> Store:
        """The KV store ``label``, if the component declared it."""
        if label not in self.key_value_stores or self.store_manager is None:
            raise CapabilityError(
                ErrorCode.DENIED, f"component '{self.name}' did not declare key-value store '{label}'"
            )
        return self.store_manager.get(label)


@dataclass(frozen=True, slots=True)
class LoadEnv:
    """What the process offers every component: stores, connections, a broker, the guest log."""

    stores: StoreLookup
    connections: Connections = field(default_factory=_NoConnections)
    broker: Broker = field(default_factory=_NoBroker)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("wasm_server.guest"))


def configure(comp: ComponentSpec, env: LoadEnv) -> ComponentHost:
    """Validate ``comp``'s capability entries against ``env``; raises ConfigError (exit 2)."""
    for label in comp.key_value_stores:
        if not env.stores.has(label):
            raise ConfigError(
                f"key-value store '{label}' is not configured (configured: {', '.join(env.stores.labels())})",
                file=str(comp.manifest),
                field=f"component '{comp.name}'.key_value_stores",
            )
    return ComponentHost(
        comp.name,
        env.logger,
        dict(comp.variables),
        frozenset(comp.key_value_stores),
        env.stores,
        OutboundPolicy(comp.allowed_outbound_hosts, allow_private=comp.allow_private_networks),
        env.connections,
        env.broker,
        WasiContext(preopens=tuple((str(src), guest) for src, guest in comp.files)),
    )
