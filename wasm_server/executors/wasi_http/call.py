"""The host state of one wasi-http instance, as every host function sees it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...capabilities import ComponentHost
from ...engine.component import ComponentCall
from ...protocol.http1 import Headers

if TYPE_CHECKING:
    from .http_types import Exchange


class WasiHttpCall(ComponentCall):
    """The component's capabilities (``host``) and the current request's exchange."""

    def __init__(self, host: ComponentHost, exchange: Exchange) -> None:
        super().__init__()
        self.host = host
        self.exchange = exchange
        #: headers of the request being handled (their ``traceparent`` parents its spans, tracing.py)
        self.request_headers: Headers = ()
        #: bytes of stdout/stderr logged for the current request
        self.logged = 0
        #: the current request changed something outside the instance (a KV write, an
        #: outbound request): it is never run a second time
        self.side_effects = False

    def log_line(self, stream: str, line: bytes) -> None:
        """One line the guest printed."""
        self.host.logger.info("%s [%s] %s", self.host.name, stream, line.decode("utf-8", "replace"))

    def dropped(self, obj: object) -> None:
        """A dropped resource: an unfinished outgoing body counts as finished (so an
        outbound request waiting for it goes out)."""
        finish = getattr(obj, "finish_dropped", None)
        if finish is not None:
            finish()
