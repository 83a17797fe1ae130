"""``allowed_outbound_hosts``: parsing the manifest entries and matching destinations.

Pure: no I/O. Used at load (the manifest's entries become :class:`AllowRule`
values; a bad entry stops the load) and by the outbound HTTP and socket imports.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import ConfigError, ErrorCode

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class AllowRule:
    """One ``allowed_outbound_hosts`` entry: ``scheme://host[:port]`` with ``*`` wildcards."""

    scheme: str
    host: str
    port: str

    def matches(self, scheme: str, host: str, port: int) -> bool:
        """Whether a destination is allowed by this rule."""
        if self.scheme not in ("*", scheme):
            return False
        if not fnmatch.fnmatchcase(host.lower(), self.host):
            return False
        return self.port == "*" or int(self.port) == port


def parse_rule(entry: str, *, file: str | None = None, field: str | None = None) -> AllowRule:
    """Parse a manifest entry such as ``https://api.example.com`` or ``tcp://db.internal:5432``.

    Only http and https have a default port (80/443). Any other scheme
    (``tcp``, ``udp``, ``*``) must name the port or ``*``: ``tcp://db.internal``
    would otherwise allow every port of that host, which nobody writing it meant.
    """
    scheme, sep, rest = entry.partition("://")
    if not sep or not scheme or not rest or "/" in rest.rstrip("/"):
        raise ConfigError(
            f"'{entry}' is not of the form scheme://host[:port] (e.g. https://api.example.com)",
            file=file,
            field=field,
        )
    scheme = scheme.lower()
    rest = rest.rstrip("/")
    if rest.startswith("["):  # IPv6 literal
        host, _, tail = rest[1:].partition("]")
        port = tail[1:] if tail.startswith(":") else ""
    else:
        host, _, port = rest.partition(":")
    if not port:
        if scheme not in DEFAULT_PORTS:
            raise ConfigError(
                f"'{entry}' names no port: {scheme}:// entries need one, or * for every port "
                f"(e.g. {scheme}://{rest}:5432 or {scheme}://{rest}:*)",
                file=file,
                field=field,
            )
        port = str(DEFAULT_PORTS[scheme])
    if port != "*" and not port.isdigit():
        raise ConfigError(f"'{entry}': port '{port}' is not a number or *", file=file, field=field)
    return AllowRule(scheme, host.lower(), port)


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """The allow-list of one component."""

    rules: tuple[AllowRule, ...] = ()
    timeout: float = 30.0
    #: host names may resolve to loopback/private addresses (see destinations.py)
    allow_private: bool = False

    def check(self, url: str) -> tuple[ErrorCode, str] | None:
        """None if ``url`` may be fetched, else ``(error code, reason)``."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            return ErrorCode.INVALID, f"'{url}' is not an absolute http(s) URL"
        try:
            port = parts.port or DEFAULT_PORTS[scheme]
        except ValueError:
            return ErrorCode.INVALID, f"'{url}' has an invalid port"
        if any(r.matches(scheme, parts.hostname, port) for r in self.rules):
            return None
        return ErrorCode.DENIED, f"destination {scheme}://{parts.hostname}:{port} is not in allowed_outbound_hosts"
