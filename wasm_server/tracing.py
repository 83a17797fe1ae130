"""OpenTelemetry traces of requests, KV calls and outbound HTTP — off unless configured.

Off (the default), the request path pays one ``TRACER is None`` test per request and
OpenTelemetry is never imported. On (``[tracing]`` in the runtime config, or
:func:`install` from an embedding program or a test):

* every routed HTTP request is a SERVER span (``component``, ``route``, status, request id),
  a child of the client's W3C ``traceparent`` when it sent one;
* the guest sees a ``traceparent`` header naming that span — and that header is also how the
  host finds the parent of the guest's KV calls and outbound requests (CLIENT spans), so the
  engine and the executors carry no tracing state of their own;
* an outbound request carries its own span's ``traceparent`` to the destination.

WebSocket, TCP and UDP sessions are not traced.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer

Headers = Sequence[tuple[bytes, bytes]]
T = TypeVar("T")

#: the tracer requests are traced with; None = tracing is off
TRACER: Tracer | None = None
#: the provider configure_otlp made (flushed by shutdown)
_EXPORTING: TracerProvider | None = None
_TRACEPARENT = b"traceparent"


def install(provider: TracerProvider) -> None:
    """Trace from now on into ``provider`` (its processors and exporters)."""
    from . import __version__

    global TRACER
    TRACER = provider.get_tracer("wasm-server", __version__)


def uninstall() -> None:
    """Stop tracing (spans already started still end)."""
    global TRACER
    TRACER = None


def configure_otlp(endpoint: str, *, service_name: str = "wasm-server", headers: dict[str, str] | None = None) -> None:
    """Export spans over OTLP/HTTP (protobuf) to ``endpoint`` (``http://collector:4318``), batched.

    Needs the ``otel`` extra (``pip install 'wasm-server[otel]'``): without it, a ConfigError
    that says so."""
    from .errors import ConfigError

    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise ConfigError(f"[tracing] needs OpenTelemetry ({exc.name} is missing): "
                          "pip install 'wasm-server[otel]'") from None
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    url = endpoint.rstrip("/")
    if not url.endswith("/v1/traces"):
        url += "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url, headers=headers)))
    install(provider)
    global _EXPORTING
    _EXPORTING = provider


def shutdown() -> None:
    """Stop tracing; spans :func:`configure_otlp` batched are exported first (at server shutdown)."""
    global _EXPORTING
    uninstall()
    if _EXPORTING is not None:
        _EXPORTING.shutdown()
        _EXPORTING = None


def _header(headers: Headers, name: bytes) -> bytes | None:
    return next((v for k, v in headers if k.lower() == name), None)


def _context_of(headers: Headers) -> Context | None:
    """The trace context a ``traceparent`` (and ``tracestate``) in ``headers`` names, if any."""
    parent = _header(headers, _TRACEPARENT)
    if parent is None:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier = {"traceparent": parent.decode("latin-1")}
    state = _header(headers, b"tracestate")
    if state is not None:
        carrier["tracestate"] = state.decode("latin-1")
    return TraceContextTextMapPropagator().extract(carrier)


def with_traceparent(span: Span, headers: Headers) -> list[tuple[bytes, bytes]]:
    """``headers`` with their ``traceparent`` (and ``tracestate``) replaced by ones naming ``span``."""
    from opentelemetry.trace import set_span_in_context
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier, context=set_span_in_context(span))
    kept = [(k, v) for k, v in headers if k.lower() not in (_TRACEPARENT, b"tracestate")]
    return [*kept, *((k.encode(), v.encode("latin-1")) for k, v in carrier.items())]


def request_span(tracer: Tracer, method: bytes, target: bytes, route: str, component: str,
                 request_id: bytes, headers: Headers) -> Span:
    """The SERVER span of one routed request (ended by :func:`end_request`)."""
    from opentelemetry.trace import SpanKind

    method_s = method.decode("latin-1")
    return tracer.start_span(
        f"{method_s} {route}", context=_context_of(headers), kind=SpanKind.SERVER,
        attributes={
            "http.request.method": method_s,
            "url.path": target.split(b"?", 1)[0].decode("latin-1"),
            "http.route": route,
            "wasm_server.component": component,
            "wasm_server.request_id": request_id.decode("latin-1"),
        })


def end_request(span: Span, status: int) -> None:
    """Record the response status (5xx marks the span as an error) and end it."""
    from opentelemetry.trace import Status, StatusCode

    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
    span.end()


def child_span(name: str, parent_headers: Headers, attributes: dict[str, str | int]) -> Span | None:
    """A CLIENT span under the request whose headers are ``parent_headers`` (None when off)."""
    tracer = TRACER
    if tracer is None:
        return None
    from opentelemetry.trace import SpanKind

    return tracer.start_span(name, context=_context_of(parent_headers), kind=SpanKind.CLIENT, attributes=attributes)


def end_child(span: Span, error: str | None = None, status: int | None = None) -> None:
    """End a KV or outbound span: ``error`` (a message) marks it failed."""
    from opentelemetry.trace import Status, StatusCode

    if status is not None:
        span.set_attribute("http.response.status_code", status)
    if error is not None or (status is not None and status >= 500):
        span.set_status(Status(StatusCode.ERROR, error))
    span.end()


def finish(span: Span, result: T | Awaitable[T], failure: Callable[[T], str | None]) -> T | Awaitable[T]:
    """End ``span`` when ``result`` is known: now, or when the awaitable a host call returned
    finishes. ``failure`` says whether a result is an error (its message) or None."""
    if not isinstance(result, Awaitable):
        end_child(span, failure(result))
        return result
    pending: Awaitable[T] = result

    async def wait() -> T:
        try:
            value = await pending
        except BaseException as exc:
            end_child(span, str(exc) or type(exc).__name__)
            raise
        end_child(span, failure(value))
        return value

    return wait()
