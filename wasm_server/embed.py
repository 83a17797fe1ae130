"""Call a wasm-server app from Python, without HTTP: a sandboxed plugin, or a test.

    from wasm_server.embed import App, Request

    with App.load_sync("examples/kv-counter/c") as app:       # its own event loop, in a thread
        print(app.call_sync(Request("POST", "/count")).text)  # "1\\n"

    async with await App.load("examples/hello/c") as app:     # in the running loop
        resp = await app.call(Request("GET", "/hi"))

The request goes through the same seam as an HTTP request to ``wasm-server up``
(``App.respond(request, client, sink)``): routing, the component's limits and
admission gate, KV, outbound allow-lists, request ids, guest failures as 500/502/504
are those of the server. A streamed response is collected: :attr:`Response.body`
is the whole body and :attr:`Response.chunks` its pieces as the guest wrote them.

An app belongs to the event loop that loaded it. ``call`` from another loop and
``call_sync`` from any other thread run the call on that loop and wait for it;
``call_sync`` inside the app's own loop would block it and is refused.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from .config import RuntimeConfig
from .hosted import CollectingSink, HostedApp, Source
from .protocol.http1 import Request as WireRequest
from .protocol.response import Response as WireResponse

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from .app import App as LoadedApp

__all__ = ["App", "Request", "Response"]

HeaderPairs = Sequence[tuple[str, str]]
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Request:
    """A request to a component: method, target (path and ``?query``), headers, body.

    ``headers``: pairs or a mapping (names are sent lower-cased, as the HTTP edge does);
    ``client``: the peer address the guest sees."""

    method: str = "GET"
    target: str = "/"
    headers: HeaderPairs | Mapping[str, str] = ()
    body: bytes = b""
    client: str = "127.0.0.1:0"

    def wire(self) -> WireRequest:
        """The seam's request value."""
        if not self.target.startswith("/"):
            raise ValueError(f"the target must start with '/', got {self.target!r}")
        pairs = self.headers.items() if isinstance(self.headers, Mapping) else self.headers
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs]
        if self.body and not any(k == b"content-length" for k, _ in headers):
            headers.append((b"content-length", b"%d" % len(self.body)))
        return WireRequest(self.method.upper().encode("latin-1"), self.target.encode("latin-1"), headers, self.body,
                           True, "1.1")


@dataclass(frozen=True, slots=True)
class Response:
    """A component's answer: status, headers (in order, names as the guest wrote them), body."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    #: the pieces of a streamed body as the guest wrote them (empty for a whole response)
    chunks: tuple[bytes, ...] = field(default=())
    #: the component that answered ("" when the server answered itself: 404, 413 …)
    component: str = ""
    request_id: str = ""

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (any letter case), or None."""
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    @property
    def text(self) -> str:
        """The body as UTF-8 text."""
        return self.body.decode()

    def json(self) -> object:
        """The body parsed as JSON."""
        return json.loads(self.body)


class App:
    """A loaded wasm-server app you call with :class:`Request` values (not ``wasm_server.app.App``,
    which it wraps: :attr:`app`)."""

    def __init__(self, host: HostedApp, loop: asyncio.AbstractEventLoop,
                 thread: threading.Thread | None = None) -> None:
        self._host = host
        self._loop = loop
        self._thread = thread

    @classmethod
    async def load(cls, manifest: Source, *, data_dir: Path | str | None = None,
                   config: RuntimeConfig | None = None) -> App:
        """Load and compile ``manifest`` (a wasm-server.toml or its directory) in the running loop.
        ``config`` and ``data_dir`` as for :func:`wasm_server.asgi.create_app`."""
        host = HostedApp(manifest, data_dir=data_dir, config=config)
        await host.start()
        return cls(host, asyncio.get_running_loop())

    @classmethod
    def load_sync(cls, manifest: Source, *, data_dir: Path | str | None = None,
                  config: RuntimeConfig | None = None) -> App:
        """:meth:`load` for synchronous programs: the app gets an event loop of its own in a
        daemon thread (closed by :meth:`close`)."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="wasm-server-embed", daemon=True)
        thread.start()
        host = HostedApp(manifest, data_dir=data_dir, config=config)
        try:
            asyncio.run_coroutine_threadsafe(host.start(), loop).result()
        except BaseException:
            _stop_loop(loop, thread)
            raise
        return cls(host, loop, thread)

    @property
    def app(self) -> LoadedApp:
        """The running app (its spec, per-component stats, stores …)."""
        return self._host.app

    async def call(self, request: Request) -> Response:
        """Send ``request`` to the component its route names and return the whole response."""
        if _running_loop() is self._loop:
            return await self._call(request)
        return await asyncio.wrap_future(self._submit(self._call(request)))

    def call_sync(self, request: Request, timeout: float | None = None) -> Response:
        """:meth:`call` from synchronous code (any thread but the app's loop's own)."""
        if _running_loop() is self._loop:
            raise RuntimeError("call_sync() would block the event loop the app runs on: use `await app.call()`")
        return self._submit(self._call(request)).result(timeout)

    async def _call(self, request: Request) -> Response:
        host = self._host
        wire = request.wire()
        refused = host.too_large(len(wire.body))
        if refused is not None:
            return _public(refused, ())
        sink = CollectingSink()
        resp = await host.respond(wire, request.client, sink)
        return _public(sink.response(resp), tuple(sink.chunks) if resp.streamed else ())

    def metrics(self) -> str:
        """The per-component counters in Prometheus' text format."""
        return self._host.metrics()

    async def aclose(self) -> None:
        """Wait for calls in flight, then close the app (its stores, its engine)."""
        if _running_loop() is self._loop:
            await self._host.stop()
        else:
            await asyncio.wrap_future(self._submit(self._host.stop()))
        if self._thread is not None:
            _stop_loop(self._loop, self._thread)

    def close(self) -> None:
        """:meth:`aclose` from synchronous code."""
        if _running_loop() is self._loop:
            raise RuntimeError("close() would block the event loop the app runs on: use `await app.aclose()`")
        if self._loop.is_closed():
            return
        self._submit(self._host.stop()).result()
        if self._thread is not None:
            _stop_loop(self._loop, self._thread)

    def _submit(self, coro: Coroutine[object, object, _T]) -> Future[_T]:
        if self._loop.is_closed():
            coro.close()
            raise RuntimeError("the app is closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def __aenter__(self) -> App:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    def __enter__(self) -> App:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _public(resp: WireResponse, chunks: tuple[bytes, ...]) -> Response:
    headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in resp.headers)
    return Response(resp.status, headers, resp.body, chunks, resp.component, resp.request_id.decode("latin-1"))


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _stop_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()
