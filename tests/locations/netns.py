"""Two simulated locations in network namespaces, joined only through a "wan" namespace.

    location a (netns)                 wan (netns)                      location b (netns)
    10.77.1.1 ──veth── 10.77.1.254   public faces on lo:     10.77.2.254 ──veth── 10.77.2.1
    haproxy, 2 nodes,                  10.77.0.1 = a's face                    haproxy, 2 nodes,
    Cassandra (dc a)                   10.77.0.2 = b's face                    Cassandra (dc b)
                                       latency_proxy: face:port -> real:port, +delay each way

One namespace per location holds all of that location's processes on one address (like
one machine room behind one router): what is local stays inside it, and the two
locations have no route to each other at all. Each location routes 10.77.0.0/24 (the
public faces) to the wan namespace, which does not forward packets (a new namespace
has ip_forward off): the only way from a to b is a connection to b's face, accepted by
the latency proxy, which opens its own connection to b's real address. So a service
that must cross (Cassandra's internode port) is told to advertise its face
(``broadcast_address``), and every byte between the locations pays the delay.

Names carry the pid of the test process (``wl<pid>…``): a run that was killed before it
could clean up is recognised by the next run (its pid is gone) and removed then.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
from dataclasses import dataclass, field

SUBNET = "10.77"
LOCATIONS = ("a", "b")
_OURS = re.compile(r"^wl(\d+)x[0-9a-f]{4}-(a|b|wan)$")


def _ip(*args: str, ns: str | None = None) -> None:
    argv = ["ip", *(["-n", ns] if ns else []), *args]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise NetnsError(f"{' '.join(argv)}: {out.stderr.strip()}")


class NetnsError(RuntimeError):
    """An ``ip`` command failed."""


def why_unavailable() -> str | None:
    """None when namespaces can be made here, else the reason (for pytest.skip)."""
    if shutil.which("ip") is None:
        return "needs the ip command (Debian's iproute2) to create network namespaces"
    if os.geteuid() != 0:
        return "creating network namespaces needs root (ip netns add)"
    probe = f"wl{os.getpid()}x{secrets.token_hex(2)}-wan"
    try:
        _ip("netns", "add", probe)
    except NetnsError as exc:
        return f"cannot create a network namespace here: {exc}"
    with contextlib.suppress(NetnsError):
        _ip("netns", "del", probe)
    return None


def remove_leftovers() -> list[str]:
    """Delete namespaces of earlier runs whose test process is gone; returns their names."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30)
    removed = []
    for line in out.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        match = _OURS.match(name)
        if match and not _alive(int(match.group(1))):
            _kill_inside(name)  # a killed run's Cassandra or proxy would keep the namespace alive
            with contextlib.suppress(NetnsError):
                _ip("netns", "del", name)
                removed.append(name)
    return removed


def _kill_inside(ns: str) -> None:
    out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, timeout=30)
    for pid in out.stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True, slots=True)
class Location:
    """One location: its namespace, its own address, the face it is reached by from the other."""

    name: str
    netns: str
    address: str
    #: the address in the wan namespace that stands for this location (the proxy listens there)
    face: str
    #: the wan namespace's end of this location's link
    gateway: str


@dataclass
class Network:
    """The three namespaces and two links of one test run (see module docstring)."""

    token: str = field(default_factory=lambda: f"wl{os.getpid()}x{secrets.token_hex(2)}")
    created: list[str] = field(default_factory=list)

    @property
    def wan(self) -> str:
        """The wan namespace's name."""
        return f"{self.token}-wan"

    def location(self, name: str) -> Location:
        """Location ``a`` or ``b``."""
        i = LOCATIONS.index(name) + 1
        return Location(name, f"{self.token}-{name}", f"{SUBNET}.{i}.1", f"{SUBNET}.0.{i}", f"{SUBNET}.{i}.254")

    def other(self, name: str) -> Location:
        """The location that is not ``name``."""
        return self.location(LOCATIONS[1 - LOCATIONS.index(name)])

    def exec(self, ns: str, argv: list[str]) -> list[str]:
        """``argv`` run inside namespace ``ns`` (``ip netns exec`` execs it: the pid is the program's)."""
        return ["ip", "netns", "exec", ns, *argv]

    def create(self) -> None:
        """Make the namespaces, links, addresses and routes; on failure, remove what was made."""
        try:
            self._create()
        except BaseException:
            self.close()
            raise

    def _create(self) -> None:
        for ns in (self.wan, *(self.location(n).netns for n in LOCATIONS)):
            _ip("netns", "add", ns)
            self.created.append(ns)
            _ip("link", "set", "lo", "up", ns=ns)
        for i, name in enumerate(LOCATIONS, start=1):
            loc = self.location(name)
            # interface names: at most 15 bytes, unique while they exist (made in the wan
            # namespace, then one end moved): the token's random part keeps runs apart
            inside, outside = f"{self.token[-4:]}{name}{i}l", f"{self.token[-4:]}{name}{i}w"
            _ip("link", "add", inside, "netns", loc.netns, "type", "veth", "peer", "name", outside, ns=self.wan)
            _ip("addr", "add", f"{loc.address}/24", "dev", inside, ns=loc.netns)
            _ip("link", "set", inside, "up", ns=loc.netns)
            _ip("addr", "add", f"{loc.gateway}/24", "dev", outside, ns=self.wan)
            _ip("link", "set", outside, "up", ns=self.wan)
            _ip("addr", "add", f"{loc.face}/32", "dev", "lo", ns=self.wan)
            _ip("route", "add", f"{SUBNET}.0.0/24", "via", loc.gateway, ns=loc.netns)

    def close(self) -> None:
        """Delete every namespace made (their links and addresses go with them)."""
        for ns in reversed(self.created):
            with contextlib.suppress(NetnsError):
                _ip("netns", "del", ns)
        self.created.clear()
