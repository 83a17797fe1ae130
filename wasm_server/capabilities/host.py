"""What one component may touch: its name, log, stores, variables, outbound policy."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CapabilityError

DENIED = -2


@dataclass(slots=True)
class ComponentHost:
    """The capabilities granted to one component, shared by its instances."""

    name: str
    logger: logging.Logger
    variables: dict[str, str] = field(default_factory=dict)
    key_value_stores: frozenset[str] = frozenset()
    store_manager: Any = None
    outbound: Any = None  # outbound_http.OutboundPolicy
    connections: Any = None  # net.connections.ConnectionRegistry
    broker: Any = None  # capabilities.pubsub.Broker
    #: read-only directories the guest sees: (host directory, guest path)
    files: tuple[tuple[Path, str], ...] = ()

    def outbound_check(self, scheme: str, host: str, port: int) -> str | None:
        """Why ``scheme://host:port`` is not allowed, or None if it is."""
        rules = self.outbound.rules if self.outbound is not None else ()
        if any(r.matches(scheme, host.lower(), port) for r in rules):
            return None
        return f"destination {scheme}://{host}:{port} is not in allowed_outbound_hosts"

    def store(self, label: str) -> Any:
        """The KV store ``label``, if the component declared it."""
        if label not in self.key_value_stores:
            raise CapabilityError(
                DENIED, f"component '{self.name}' did not declare key-value store '{label}'"
            )
        return self.store_manager.get(label)
