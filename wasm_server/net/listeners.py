"""Which raw TCP/UDP listeners to open: manifest addresses, operator port maps, conflicts.

The manifest says what a service wants (``listen = "0.0.0.0:53"``); the
operator may remap ports without touching it (``--map-port 53=5353`` or
``--map-port 53=127.0.0.1:5353``). Two listeners of one protocol on one port
conflict when their addresses are equal or either is a wildcard.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..config import ListenAddress, parse_listen
from ..errors import ConfigError
from ..manifest import AppSpec

WILDCARDS = ("0.0.0.0", "::", "")


@dataclass(frozen=True, slots=True)
class Bind:
    """A listener to open for a component."""

    component: str
    protocol: str
    host: str
    port: int
    origin: str
    wanted: str  # the manifest's address, for messages

    def url(self) -> str:
        """``tcp://127.0.0.1:7007``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.protocol}://{host}:{self.port}"


PortMap = Mapping[int, tuple[str | None, int]]


def parse_port_map(entries: Iterable[str]) -> dict[int, tuple[str | None, int]]:
    """``["53=5353", "7=127.0.0.1:7007", "6379=[::1]:6380"]`` → {53: (None, 5353), …}."""
    out: dict[int, tuple[str | None, int]] = {}
    for entry in entries:
        src, sep, dst = entry.partition("=")
        if not sep or not src.strip().isdigit():
            raise ConfigError(f"--map-port '{entry}': expected PORT=PORT or PORT=HOST:PORT (e.g. 53=5353)")
        if dst.strip().isdigit():
            out[int(src)] = (None, int(dst))
        else:
            addr: ListenAddress = parse_listen(dst)
            out[int(src)] = (addr.host, addr.port)
    return out


def plan(spec: AppSpec, port_map: PortMap, http: Iterable[ListenAddress] = ()) -> list[Bind]:
    """Every raw listener to open, after mapping; ConfigError on conflicts."""
    binds: list[Bind] = []
    for comp in spec.components:
        for want in (*comp.tcp, *comp.udp):
            host, port = want.host, want.port
            if port in port_map:
                new_host, port = port_map[port]
                host = new_host or host
            wanted = f"{want.protocol}://{want.host}:{want.port}"
            binds.append(Bind(comp.name, want.protocol, host, port, want.origin, wanted))
    taken = [Bind("(HTTP)", "tcp", a.host, a.port, "--listen", a.url()) for a in http]
    for b in binds:
        for other in taken:
            if other.protocol == b.protocol and other.port == b.port and _overlap(other.host, b.host):
                raise ConfigError(
                    f"listener {b.url()} of component '{b.component}' ({b.origin}) conflicts with "
                    f"{other.url()} of '{other.component}' ({other.origin}); remap one with --map-port"
                )
        taken.append(b)
    return binds


def _overlap(a: str, b: str) -> bool:
    return a == b or a in WILDCARDS or b in WILDCARDS
