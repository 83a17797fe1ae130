"""The ASGI side of the seam, typed: callables, and scopes read into frozen values.

An ASGI server hands the app plain dicts. They are read once, here, into
:class:`Connection` (checked: a missing or mistyped key is a clear ``ValueError``),
so the rest of the adapter works on typed values and never on ``Any``. The message
and scope dicts are ``MutableMapping[str, object]``: a Starlette or FastAPI app can
``mount`` the ASGI app (their ``MutableMapping[str, Any]`` is assignable to it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from urllib.parse import quote

from ..protocol.http1 import Request

Scope = MutableMapping[str, object]
Message = MutableMapping[str, object]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def text(message: Message, key: str, default: str | None = None) -> str:
    """``message[key]`` as a str (``default`` when absent)."""
    value = message.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"ASGI: expected a str under {key!r}, got {type(value).__name__}")
    return value


def data(message: Message, key: str) -> bytes:
    """``message[key]`` as bytes (absent or None: empty)."""
    value = message.get(key)
    if value is None:
        return b""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise ValueError(f"ASGI: expected bytes under {key!r}, got {type(value).__name__}")
    return bytes(value)


def _headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    raw = scope.get("headers", ())
    if not isinstance(raw, list | tuple):
        raise ValueError("ASGI: expected a list of [name, value] pairs under 'headers'")
    out = []
    for pair in raw:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValueError("ASGI: expected a list of [name, value] pairs under 'headers'")
        name, value = pair
        if not isinstance(name, bytes) or not isinstance(value, bytes):
            raise ValueError("ASGI: header names and values must be bytes")
        # the spec asks servers for lower-case names; the router and the guests rely on it
        out.append((name.lower(), value))
    return out


def _client(scope: Scope) -> str:
    """``host:port`` (``[v6]:port``) as the HTTP edge writes a peer; "" when unknown (a unix socket)."""
    peer = scope.get("client")
    if not isinstance(peer, list | tuple) or len(peer) != 2:
        return ""
    host, port = peer
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def route_target(scope: Scope) -> bytes:
    """The request target the component sees: path (relative to ``root_path``, the mount) and query.

    Starlette's ``Mount`` and ``uvicorn --root-path`` keep the full path in ``path`` and
    ``raw_path`` and put the mount in ``root_path``; the prefix is cut here at a segment
    boundary, as Starlette's own ``get_route_path`` does, so a component mounted under
    ``/wasm`` sees ``/hello`` for ``/wasm/hello`` (as an ``[[include]]`` with a ``mount``).
    """
    root = text(scope, "root_path", "")
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw:
        path = raw.split(b"?", 1)[0]  # a few servers leave the query in raw_path
    else:
        path = quote(text(scope, "path", "/"), safe="/!$&'()*+,;=:@%~").encode("latin-1")
    if root:
        prefix = quote(root, safe="/!$&'()*+,;=:@%~").encode("latin-1").rstrip(b"/")
        if path == prefix:
            path = b"/"
        elif path.startswith(prefix + b"/"):
            path = path[len(prefix):]
    query = data(scope, "query_string")
    return path + b"?" + query if query else path


@dataclass(frozen=True, slots=True)
class Connection:
    """An HTTP or WebSocket scope, read: what the seam's :class:`Request` is built from."""

    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    http_version: str
    client: str

    @classmethod
    def read(cls, scope: Scope) -> Connection:
        """Read an ``http`` or ``websocket`` scope (a WebSocket handshake is a GET)."""
        method = text(scope, "method", "GET").upper().encode("latin-1")
        return cls(method, route_target(scope), _headers(scope), text(scope, "http_version", "1.1"),
                   _client(scope))

    def declared_length(self) -> int | None:
        """The request's ``content-length``, if it sent a usable one."""
        for name, value in self.headers:
            if name == b"content-length":
                return int(value) if value.strip().isdigit() else None
        return None

    def request(self, body: bytes) -> Request:
        """The seam's request with ``body`` (keep-alive is the ASGI server's business)."""
        return Request(self.method, self.target, self.headers, body, True, self.http_version)


def extensions(scope: Scope) -> frozenset[str]:
    """The names of the ASGI extensions the server offers in this scope."""
    ext = scope.get("extensions")
    return frozenset(k for k in ext if isinstance(k, str)) if isinstance(ext, dict) else frozenset()
