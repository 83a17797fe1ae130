"""TLS for HTTPS listeners: one certificate by default, others chosen by SNI name.

Contexts are built (and every certificate/key pair checked) at start-up, so a
missing file or a key that does not match its certificate is a ConfigError
naming the file, not a failed handshake later. HTTPS speaks HTTP/1.1 (ALPN
``http/1.1``).
"""

from __future__ import annotations

import fnmatch
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..protocol.http1 import Request
from ..protocol.response import Response, ResponseSink
from .http import NoUpgrades


@dataclass(frozen=True, slots=True)
class CertPair:
    """A certificate chain and its key, for ``hosts`` (empty: the default)."""

    cert: Path
    key: Path
    hosts: tuple[str, ...] = ()


def _context(pair: CertPair) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    for path in (pair.cert, pair.key):
        if not path.is_file():
            raise ConfigError(f"TLS file {path} does not exist (make a local one with `wasm-server dev-cert DIR`)")
    try:
        ctx.load_cert_chain(str(pair.cert), str(pair.key))
    except ssl.SSLError as exc:
        raise ConfigError(f"cannot use {pair.cert} with {pair.key}: {exc.reason or exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {pair.cert} / {pair.key}: {exc.strerror}") from None
    return ctx


def pick(name: str, named: Sequence[tuple[str, ssl.SSLContext]]) -> ssl.SSLContext | None:
    """The context for SNI ``name``: an exact host first, then a ``*.`` wildcard (one label)."""
    name = name.lower().rstrip(".")
    for host, ctx in named:
        if host == name:
            return ctx
    for host, ctx in named:
        if host.startswith("*.") and fnmatch.fnmatchcase(name, host) and name.count(".") == host.count("."):
            return ctx
    return None


def server_context(default: CertPair | None, by_host: Sequence[CertPair] = ()) -> ssl.SSLContext:
    """The listening context: ``default`` (or the first named pair), switching by SNI name."""
    if default is None and not by_host:
        raise ConfigError("an HTTPS listener needs a certificate: --cert FILE --key FILE or [[tls.certificates]]")
    base = _context(default if default is not None else by_host[0])
    named = [(h.lower(), ctx) for pair in by_host for ctx in [_context(pair)] for h in pair.hosts]
    if named:
        def choose(sock: ssl.SSLObject, server_name: str | None, _ctx: ssl.SSLContext) -> None:
            if server_name:
                chosen = pick(server_name, named)
                if chosen is not None:
                    sock.context = chosen
            return None

        base.sni_callback = choose
    return base


class Redirect(NoUpgrades):
    """A service that sends every plain-HTTP request to HTTPS with 308 (method and body kept)."""

    def __init__(self, https_port: int) -> None:
        self.https_port = https_port

    async def respond(self, req: Request, client: str, sink: ResponseSink) -> Response:
        """308 to the same host and target on the HTTPS port."""
        host = next((v for k, v in req.headers if k == b"host"), b"").decode("latin-1")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if not name:
            name = "localhost"
        port = "" if self.https_port == 443 else f":{self.https_port}"
        location = f"https://{name}{port}{req.target.decode('latin-1')}"
        return Response(308, ((b"location", location.encode()), (b"content-type", b"text/plain")),
                        f"moved to {location}\n".encode())
