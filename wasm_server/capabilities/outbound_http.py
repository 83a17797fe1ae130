"""``http_send``: outbound HTTP governed by ``allowed_outbound_hosts``.

A destination not on the list is error -2 (DENIED) with a message the guest
can read, never a trap. Redirects are not followed: the guest sees the 3xx
and decides, so a redirect can never lead past the allow-list.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..abi_codec import GuestResponse, decode_outbound, encode_response
from ..engine._lowlevel import CallState
from ..errors import BadResponse, CapabilityError, ConfigError
from ._spec import ImportSpec
from .destinations import literal, resolve

DENIED = -2
TOO_LARGE = -3
INVALID = -4
IO = -5
TIMEOUT = -6

MAX_RESPONSE = 16 * 1024 * 1024
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
    """Parse a manifest entry such as ``https://api.example.com`` or ``http://127.0.0.1:*``."""
    scheme, sep, rest = entry.partition("://")
    if not sep or not scheme or not rest or "/" in rest.rstrip("/"):
        raise ConfigError(
            f"'{entry}' is not of the form scheme://host[:port] (e.g. https://api.example.com)",
            file=file,
            field=field,
        )
    rest = rest.rstrip("/")
    if rest.startswith("["):  # IPv6 literal
        host, _, tail = rest[1:].partition("]")
        port = tail[1:] if tail.startswith(":") else ""
    else:
        host, _, port = rest.partition(":")
    if not port:
        port = str(DEFAULT_PORTS.get(scheme, "*"))
    if port != "*" and not port.isdigit():
        raise ConfigError(f"'{entry}': port '{port}' is not a number or *", file=file, field=field)
    return AllowRule(scheme.lower(), host.lower(), port)


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """The allow-list of one component."""

    rules: tuple[AllowRule, ...] = ()
    timeout: float = 30.0
    #: host names may resolve to loopback/private addresses (see destinations.py)
    allow_private: bool = False

    def check(self, url: str) -> tuple[int, str] | None:
        """None if ``url`` may be fetched, else ``(error code, reason)``."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            return INVALID, f"'{url}' is not an absolute http(s) URL"
        try:
            port = parts.port or DEFAULT_PORTS[scheme]
        except ValueError:
            return INVALID, f"'{url}' has an invalid port"
        if any(r.matches(scheme, parts.hostname, port) for r in self.rules):
            return None
        return DENIED, f"destination {scheme}://{parts.hostname}:{port} is not in allowed_outbound_hosts"


_client: Any = None


def _http_client() -> Any:
    global _client
    if _client is None:
        import httpx  # imported lazily: most components never fetch

        _client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
    return _client


async def _send(state: CallState, raw: bytes) -> int:
    try:
        req = decode_outbound(raw)
        url = req.url.decode()
        method = req.method.decode()
    except (BadResponse, UnicodeDecodeError) as exc:
        state.result = f"malformed outbound request: {exc}".encode()
        return INVALID
    policy: OutboundPolicy = state.host.outbound or OutboundPolicy()
    refused = policy.check(url)
    if refused is not None:
        state.result = refused[1].encode()
        return refused[0]
    import httpx

    try:
        target, headers, extensions = await _pinned(url, req.headers, policy.allow_private)
    except CapabilityError as exc:
        state.result = str(exc).encode()
        return exc.code
    try:
        resp = await _http_client().request(
            method, target, headers=headers, content=req.body, timeout=policy.timeout, extensions=extensions
        )
    except httpx.TimeoutException:
        state.result = f"request to {url} timed out".encode()
        return TIMEOUT
    except (httpx.HTTPError, OSError, ValueError) as exc:
        state.result = f"request to {url} failed: {exc or type(exc).__name__}".encode()
        return IO
    if len(resp.content) > MAX_RESPONSE:
        state.result = f"response from {url} is over {MAX_RESPONSE} bytes".encode()
        return TOO_LARGE
    headers = [(k, v) for k, v in resp.headers.raw]
    state.result = encode_response(GuestResponse(resp.status_code, headers, resp.content))
    return len(state.result)


async def _pinned(url: str, headers: Sequence[tuple[bytes, bytes]],
                  allow_private: bool) -> tuple[str, Sequence[tuple[bytes, bytes]], dict[str, Any]]:
    """The URL with its host name replaced by the checked address, the Host header and
    TLS server name kept as the guest wrote them (see destinations.py)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or DEFAULT_PORTS[parts.scheme.lower()]
    address = await resolve(host, port, allow_private=allow_private)
    if literal(host) is not None:
        return url, headers, {}
    netloc = (f"[{address}]" if ":" in address else address) + (f":{parts.port}" if parts.port else "")
    pinned = parts._replace(netloc=netloc).geturl()
    if not any(name.lower() == b"host" for name, _ in headers):
        headers = [(b"host", parts.netloc.rpartition("@")[2].encode()), *headers]
    extensions = {"sni_hostname": host} if parts.scheme.lower() == "https" else {}
    return pinned, headers, extensions


def http_send(state: CallState, ptr: int, length: int) -> Any:
    """Send the encoded request at ``ptr``; the response goes to the result slot."""
    return _send(state, state.read(ptr, length))


IMPORTS = [ImportSpec("http_send", "ii", "l", http_send, is_async=True)]
