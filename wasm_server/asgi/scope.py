"""The ASGI side of the seam, typed: callables, and scopes read into frozen values.

An ASGI server hands the app plain dicts. They are read once, here, into
:class:`Connection` (checked: a missing or mistyped key is a clear ``ValueError``),
so the rest of the adapter works on typed values and never on ``Any``. The message
and scope dicts are ``MutableMapping[str, object]``: a Starlette or FastAPI app can
``mount`` the ASGI app (their ``MutableMapping[str, Any]`` is assignable to it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import NamedTuple
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
    if type(value) is bytes:
        return value
    if value is None:
        return b""
    if not isinstance(value, (bytes, bytearray, memoryview)):  # a tuple: no union object per call
        raise ValueError(f"ASGI: expected bytes under {key!r}, got {type(value).__name__}")
    return bytes(value)


def _headers(scope: dict[str, object]) -> list[tuple[bytes, bytes]]:
    """The scope's headers with lower-case names: the spec asks servers for them (uvicorn and
    hypercorn send them so) and the router and guests rely on it; a mounting framework may add its own."""
    out: list[tuple[bytes, bytes]] = []
    try:
        for name, value in scope.get("headers", ()):  # type: ignore[attr-defined]
            if type(name) is not bytes or type(value) is not bytes:
                raise TypeError
            out.append((name.lower(), value))
    except (TypeError, ValueError):
        raise ValueError("ASGI: expected a list of (name, value) pairs of bytes under 'headers'") from None
    return out


def _client(scope: dict[str, object]) -> str:
    """``host:port`` (``[v6]:port``) as the HTTP edge writes a peer; "" when unknown (a unix socket)."""
    peer = scope.get("client")
    if not isinstance(peer, list | tuple) or len(peer) != 2:
        return ""
    host, port = peer
    return f"[{host}]:{port}" if type(host) is str and ":" in host else f"{host}:{port}"


def route_target(scope: dict[str, object]) -> bytes:
    """The request target the component sees: path (relative to ``root_path``, the mount) and query.

    Starlette's ``Mount`` and ``uvicorn --root-path`` keep the full path in ``path`` and
    ``raw_path`` and put the mount in ``root_path``; the prefix is cut here at a segment
    boundary, as Starlette's own ``get_route_path`` does, so a component mounted under
    ``/wasm`` sees ``/hello`` for ``/wasm/hello`` (as an ``[[include]]`` with a ``mount``).
    """
    root = scope.get("root_path") or ""
    if type(root) is not str:
        raise ValueError(f"ASGI: expected a str under 'root_path', got {type(root).__name__}")
    raw = scope.get("raw_path")
    if type(raw) is bytes and raw:
        path = raw.split(b"?", 1)[0] if b"?" in raw else raw  # a few servers leave the query in raw_path
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


class Connection(NamedTuple):
    """An HTTP or WebSocket scope, read: what the seam's :class:`Request` is built from
    (a NamedTuple, as Request: one is built per request)."""

    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    http_version: str
    client: str

    @classmethod
    def read(cls, scope: Scope) -> Connection:
        """Read an ``http`` or ``websocket`` scope (a WebSocket handshake is a GET)."""
        # servers pass dicts, and a dict's lookups are the fast ones in compiled code
        fields: dict[str, object] = scope if isinstance(scope, dict) else dict(scope)
        method = fields.get("method", "GET")
        if type(method) is not str:
            raise ValueError(f"ASGI: expected a str under 'method', got {type(method).__name__}")
        version = fields.get("http_version", "1.1")
        return cls(method.upper().encode("latin-1"), route_target(fields), _headers(fields),
                   version if type(version) is str else "1.1", _client(fields))

    def declared_length(self) -> int | None:
        """The request's ``content-length``, if it sent a usable one."""
        for name, value in self.headers:
            if name == b"content-length":
                return int(value) if value.strip().isdigit() else None
        return None

    def without_body(self) -> bool:
        """Whether the request certainly has no body, so ``receive`` need not be awaited for it
        (about 20k instructions under uvicorn): HTTP/1.x without ``content-length`` (or with 0)
        and without ``transfer-encoding``. HTTP/2 and 3 may send a body without either."""
        if self.http_version != "1.1" and self.http_version != "1.0":
            return False
        for name, value in self.headers:
            if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
                return False
        return True

    def request(self, body: bytes) -> Request:
        """The seam's request with ``body`` (keep-alive is the ASGI server's business)."""
        return Request(self.method, self.target, self.headers, body, True, self.http_version)


def extensions(scope: Scope) -> frozenset[str]:
    """The names of the ASGI extensions the server offers in this scope."""
    ext = scope.get("extensions")
    return frozenset(k for k in ext if isinstance(k, str)) if isinstance(ext, dict) else frozenset()
