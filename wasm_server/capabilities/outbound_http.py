"""``http_send``: outbound HTTP governed by ``allowed_outbound_hosts``.

A destination not on the list is error -2 (ErrorCode.DENIED) with a message the guest
can read, never a trap. Redirects are not followed: the guest sees the 3xx
and decides, so a redirect can never lead past the allow-list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .. import tracing
from ..abi_codec import GuestResponse, decode_outbound, encode_response
from ..engine import HostImport, HostResult
from ..errors import BadOutboundRequest, CapabilityError, ErrorCode
from .call import GuestCall
from .destinations import literal, resolve
from .outbound_policy import DEFAULT_PORTS

MAX_RESPONSE = 16 * 1024 * 1024


if TYPE_CHECKING:
    import httpx

_client: httpx.AsyncClient | None = None


def http_client() -> httpx.AsyncClient:
    """The process's one outbound HTTP client (ABI v1's http_send and wasi:http's outgoing-handler)."""
    global _client
    if _client is None:
        import httpx  # imported lazily: most components never fetch

        _client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
    return _client


async def _send(state: GuestCall, raw: bytes) -> int:
    try:
        req = decode_outbound(raw)
        url = req.url.decode()
        method = req.method.decode()
    except (BadOutboundRequest, UnicodeDecodeError) as exc:
        state.result = f"malformed outbound request: {exc}".encode()
        return ErrorCode.INVALID
    policy = state.host.outbound
    refused = policy.check(url)
    if refused is not None:
        state.result = refused[1].encode()
        return refused[0]
    import httpx

    try:
        target, headers, extensions = await pinned(url, req.headers, policy.allow_private)
    except CapabilityError as exc:
        state.result = str(exc).encode()
        return exc.code
    try:
        resp = await request(method, url, target, headers, req.body, policy.timeout, extensions, state.headers)
    except httpx.TimeoutException:
        state.result = f"request to {url} timed out".encode()
        return ErrorCode.TIMEOUT
    except (httpx.HTTPError, OSError, ValueError) as exc:
        state.result = f"request to {url} failed: {str(exc) or type(exc).__name__}".encode()
        return ErrorCode.IO
    if len(resp.content) > MAX_RESPONSE:
        state.result = f"response from {url} is over {MAX_RESPONSE} bytes".encode()
        return ErrorCode.TOO_LARGE
    headers = [(k, v) for k, v in resp.headers.raw]
    state.result = encode_response(GuestResponse(resp.status_code, headers, resp.content))
    return len(state.result)


async def request(method: str, url: str, target: str, headers: Sequence[tuple[bytes, bytes]], content: bytes,
                  timeout: float, extensions: dict[str, Any], parent: Sequence[tuple[bytes, bytes]]) -> httpx.Response:
    """Send a guest's request to ``target`` (``url`` pinned, see :func:`pinned`) with the process's
    client. With tracing on, a CLIENT span under the request whose headers are ``parent``,
    and the destination gets that span's ``traceparent``."""
    span = tracing.child_span(method, parent, {"http.request.method": method, "url.full": url})
    if span is None:
        return await http_client().request(method, target, headers=headers, content=content, timeout=timeout,
                                           extensions=extensions)
    try:
        resp = await http_client().request(method, target, headers=tracing.with_traceparent(span, headers),
                                           content=content, timeout=timeout, extensions=extensions)
    except BaseException as exc:
        tracing.end_child(span, str(exc) or type(exc).__name__)
        raise
    tracing.end_child(span, status=resp.status_code)
    return resp


async def pinned(url: str, headers: Sequence[tuple[bytes, bytes]],
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


def http_send(state: GuestCall, ptr: int, length: int) -> HostResult:
    """Send the encoded request at ``ptr``; the response goes to the result slot."""
    return _send(state, state.read(ptr, length))


IMPORTS = [HostImport("http_send", "ii", "l", http_send, is_async=True)]
