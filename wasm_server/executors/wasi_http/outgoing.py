"""wasi:http/outgoing-handler and the outgoing-request side of wasi:http/types.

Outbound requests go through the component's ``allowed_outbound_hosts`` and
the private-network rule exactly as ABI v1's ``http_send`` does
(capabilities/outbound_policy.py, capabilities/destinations.py): a refused
destination is the error code ``HTTP-request-denied`` (or
``destination-IP-prohibited``), never a trap. Redirects are not followed. The
request is sent once its body is finished (or at once if it has none); the
response is read whole, up to the same limit as ABI v1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ...capabilities import ComponentHost
from ...capabilities.outbound_http import MAX_RESPONSE, pinned, request
from ...engine.component import Err, Some
from ...errors import CapabilityError, ErrorCode
from ...protocol.http1 import Headers
from .call import WasiHttpCall
from .http_types import Fields, IncomingResponse, OutgoingBody, Pair, method_variant, variant_method
from .io import Pollable

DEFAULT_SCHEME = "HTTP"


class OutgoingRequest:
    """An ``outgoing-request`` under construction."""

    RID = 12

    def __init__(self, headers: Fields) -> None:
        self.headers = headers
        self.method = "GET"
        self.path: str | None = None
        self.scheme: str | None = None
        self.authority: str | None = None
        self.body: OutgoingBody | None = None
        self.data = bytearray()


class RequestOptions:
    """A ``request-options``: timeouts in nanoseconds (the connect one is used)."""

    RID = 13

    def __init__(self) -> None:
        self.connect: int | None = None
        self.first_byte: int | None = None
        self.between_bytes: int | None = None


class FutureIncomingResponse:
    """A ``future-incoming-response``: the task sending the request."""

    RID = 14

    def __init__(self, task: asyncio.Task[object]) -> None:
        self.task = task
        self.taken = False

    def pollable(self) -> Pollable:
        """Ready once the response (or its error) is there."""
        return Pollable(self.task.done, lambda: asyncio.wait((self.task,)))

    def get(self) -> object:
        """``option<result<result<incoming-response, error-code>>>``."""
        if not self.task.done():
            return None
        if self.taken:
            return Some(Err(None))
        self.taken = True
        return Some(self.task.result())


def _request_new(call: WasiHttpCall, headers: Fields) -> OutgoingRequest:
    headers.immutable = False
    return OutgoingRequest(headers)


def _request_body(call: WasiHttpCall, req: OutgoingRequest) -> object:
    if req.body is not None:
        return Err(None)
    req.body = OutgoingBody(req.data.extend)
    return req.body


def _setter(attr: str, convert: Callable[[object], object] = lambda v: v) -> Callable[..., object]:
    def set_(call: WasiHttpCall, req: OutgoingRequest, value: object) -> object:
        setattr(req, attr, convert(value))
        return None

    return set_


def _scheme_name(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, tuple):
        raise TypeError("expected a scheme variant")
    case, other = value
    return str(other) if case == "other" else str(case)


def _url(req: OutgoingRequest) -> str:
    scheme = (req.scheme or DEFAULT_SCHEME).lower()
    return f"{scheme}://{req.authority or ''}{req.path or '/'}"


def error_code(code: int, message: str) -> tuple[str, object]:
    """The ``error-code`` case for a host error code of ABI v1."""
    if code == ErrorCode.DENIED:
        if "private" in message or "loopback" in message or "address" in message:
            return ("destination-IP-prohibited", None)
        return ("HTTP-request-denied", None)
    if code == ErrorCode.INVALID:
        return ("HTTP-request-URI-invalid", None)
    if code == ErrorCode.TIMEOUT:
        return ("connection-timeout", None)
    if code == ErrorCode.TOO_LARGE:
        return ("HTTP-response-body-size", None)
    return ("internal-error", message)


def _handle(call: WasiHttpCall, req: OutgoingRequest, options: RequestOptions | None) -> object:
    host = call.host
    url = _url(req)
    refused = host.outbound.check(url)
    if refused is not None:
        host.logger.info("%s: outbound request refused: %s", host.name, refused[1])
        return Err(error_code(*refused))
    call.side_effects = True
    timeout = options.connect / 1e9 if options is not None and options.connect else host.outbound.timeout
    task: asyncio.Task[object] = asyncio.ensure_future(_send(host, req, url, timeout, call.request_headers))
    return FutureIncomingResponse(task)


async def _send(host: ComponentHost, req: OutgoingRequest, url: str, timeout: float, parent: Headers) -> object:
    import httpx

    if req.body is not None and not req.body.finished:
        await req.body.done.wait()
    policy = host.outbound
    pairs = [(k.encode(), v) for k, v in req.headers.entries]
    try:
        target, headers, extensions = await pinned(url, pairs, policy.allow_private)
    except CapabilityError as exc:
        return Err(error_code(exc.code, str(exc)))
    try:
        resp = await request(req.method, url, target, headers, bytes(req.data), timeout, extensions, parent)
    except httpx.TimeoutException:
        return Err(("connection-timeout", None))
    except (httpx.HTTPError, OSError, ValueError) as exc:
        return Err(("internal-error", f"request to {url} failed: {str(exc) or type(exc).__name__}"))
    if len(resp.content) > MAX_RESPONSE:
        return Err(("HTTP-response-body-size", None))
    received: list[Pair] = [(k.decode("latin-1").lower(), v) for k, v in resp.headers.raw]
    return IncomingResponse(resp.status_code, received, resp.content)


def _options_get(attr: str) -> Callable[..., object]:
    return lambda call, o: getattr(o, attr)


FUNCS: dict[str, Callable[..., object]] = {
    "[constructor]outgoing-request": _request_new,
    "[method]outgoing-request.body": _request_body,
    "[method]outgoing-request.method": lambda call, r: method_variant(r.method),
    "[method]outgoing-request.set-method": _setter("method", lambda v: variant_method(v)),  # type: ignore[arg-type]
    "[method]outgoing-request.path-with-query": lambda call, r: r.path,
    "[method]outgoing-request.set-path-with-query": _setter("path"),
    "[method]outgoing-request.scheme": lambda call, r: None if r.scheme is None else (
        (r.scheme, None) if r.scheme in ("HTTP", "HTTPS") else ("other", r.scheme)),
    "[method]outgoing-request.set-scheme": _setter("scheme", _scheme_name),
    "[method]outgoing-request.authority": lambda call, r: r.authority,
    "[method]outgoing-request.set-authority": _setter("authority"),
    "[method]outgoing-request.headers": lambda call, r: Fields(r.headers.entries, immutable=True),
    "[constructor]request-options": lambda call: RequestOptions(),
    "[method]request-options.connect-timeout": _options_get("connect"),
    "[method]request-options.set-connect-timeout": _setter("connect"),
    "[method]request-options.first-byte-timeout": _options_get("first_byte"),
    "[method]request-options.set-first-byte-timeout": _setter("first_byte"),
    "[method]request-options.between-bytes-timeout": _options_get("between_bytes"),
    "[method]request-options.set-between-bytes-timeout": _setter("between_bytes"),
    "[method]future-incoming-response.subscribe": lambda call, f: f.pollable(),
    "[method]future-incoming-response.get": lambda call, f: f.get(),
}

HANDLER: dict[str, Callable[..., object]] = {"handle": _handle}

RESOURCES = {"outgoing-request": OutgoingRequest.RID, "request-options": RequestOptions.RID,
             "future-incoming-response": FutureIncomingResponse.RID}
