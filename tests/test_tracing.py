"""OpenTelemetry traces (wasm_server/tracing.py) with the SDK's in-memory exporter: a span per
request, KV calls and outbound requests as its children, ``traceparent`` in and out; and
nothing imported or recorded when tracing is off."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode, format_span_id, format_trace_id

from tests.e2e import conftest as e2e
from tests.e2e.conftest import CLI, EXAMPLES, ROOT, Upstream
from tests.e2e.wasi_http_guests import python_guest
from wasm_server import tracing
from wasm_server.app import App
from wasm_server.config import load_runtime_config
from wasm_server.errors import ConfigError
from wasm_server.kv import StoreManager
from wasm_server.manifest import load_manifest
from wasm_server.protocol.http1 import Headers, Request
from wasm_server.protocol.response import Response

pytestmark = pytest.mark.timeout(600)  # builds two C examples, and the test component when not cached

CLIENT_PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class Sink:
    """A ResponseSink for in-process requests (nothing here streams)."""

    started = False

    def start(self, status: int, headers: Headers) -> bool:
        self.started = True
        return True

    async def write(self, data: bytes) -> bool:
        return True


upstream = e2e.upstream  # the shared outbound destination (a fixture of tests/e2e); records traceparents


@pytest.fixture(scope="module")
def c_examples() -> Path:
    for name in ("kv-counter", "echo"):
        proc = subprocess.run([*CLI, "build", str(EXAMPLES / name / "c")], cwd=ROOT, capture_output=True,
                              text=True, timeout=500)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return EXAMPLES


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    yield exporter
    tracing.uninstall()


def _app_manifest(where: Path, text: str) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    (where / "wasm-server.toml").write_text(text)
    return where / "wasm-server.toml"


@pytest.fixture
async def c_app(c_examples: Path, tmp_path: Path) -> AsyncIterator[App]:
    manifest = _app_manifest(tmp_path / "app", "".join(
        f'[[include]]\npath = "{c_examples / name / "c"}"\n' for name in ("kv-counter", "echo")))
    app = await App.load(load_manifest(manifest), tmp_path / "data", None, StoreManager.default(tmp_path / "data"))
    yield app
    await app.close()


async def _get(app: App, target: str, *headers: tuple[bytes, bytes], method: bytes = b"GET") -> Response:
    return await app.respond(Request(method, target.encode(), list(headers), b"", True, "1.1"), "127.0.0.1:1", Sink())


def _one(spans: list[ReadableSpan], kind: SpanKind) -> ReadableSpan:
    found = [s for s in spans if s.kind == kind]
    assert len(found) == 1, [(s.name, s.kind) for s in spans]
    return found[0]


def _traceparent(span: ReadableSpan) -> str:
    """The W3C traceparent naming ``span``."""
    ctx = span.context
    return f"00-{format_trace_id(ctx.trace_id)}-{format_span_id(ctx.span_id)}-{int(ctx.trace_flags):02x}"


def _parent_id(span: ReadableSpan) -> int:
    assert span.parent is not None, f"{span.name} has no parent"
    return span.parent.span_id


async def test_a_request_is_a_server_span_with_its_kv_calls_as_children(c_app: App,
                                                                         spans: InMemorySpanExporter) -> None:
    resp = await _get(c_app, "/count", (b"traceparent", CLIENT_PARENT.encode()), method=b"POST")
    assert resp.status == 200
    finished = list(spans.get_finished_spans())
    server = _one(finished, SpanKind.SERVER)
    assert server.name == "POST /count"
    attrs = dict(server.attributes or {})
    assert attrs["wasm_server.component"] == "kv-counter-c" and attrs["http.route"] == "/count"
    assert attrs["http.response.status_code"] == 200 and attrs["url.path"] == "/count"
    rid = dict(resp.headers)[b"x-request-id"].decode()
    assert attrs["wasm_server.request_id"] == rid
    assert server.status.status_code == StatusCode.UNSET
    # the client's traceparent is the parent: one trace from the client through the guest
    assert format_trace_id(server.context.trace_id) == CLIENT_PARENT.split("-")[1]
    assert format_span_id(_parent_id(server)) == CLIENT_PARENT.split("-")[2]
    kv = [s for s in finished if s.name.startswith("kv.")]
    assert kv and {s.name for s in kv} <= {"kv.get", "kv.set", "kv.incr"}, [s.name for s in kv]
    for s in kv:
        assert s.kind == SpanKind.CLIENT and _parent_id(s) == server.context.span_id
        assert s.context.trace_id == server.context.trace_id
        assert dict(s.attributes or {})["wasm_server.kv.store"] == "default"


async def test_outbound_requests_are_children_and_carry_their_traceparent(c_app: App, spans: InMemorySpanExporter,
                                                                          upstream: int) -> None:
    Upstream.traceparents.clear()
    resp = await _get(c_app, "/fetch", (b"x-fetch-url", f"http://127.0.0.1:{upstream}/x".encode()))
    assert resp.status == 200, resp.body
    finished = list(spans.get_finished_spans())
    server = _one(finished, SpanKind.SERVER)
    assert server.parent is None  # no traceparent came in: a new trace
    outbound = _one(finished, SpanKind.CLIENT)
    assert outbound.name == "GET" and _parent_id(outbound) == server.context.span_id
    assert dict(outbound.attributes or {})["http.response.status_code"] == 200
    assert Upstream.traceparents == [_traceparent(outbound)]


async def test_a_failing_guest_marks_its_span_as_an_error(c_app: App, spans: InMemorySpanExporter) -> None:
    resp = await _get(c_app, "/fetch", (b"x-fetch-url", b"http://127.0.0.1:1/refused"))
    assert resp.status >= 400
    server = _one(list(spans.get_finished_spans()), SpanKind.SERVER)
    assert dict(server.attributes or {})["http.response.status_code"] == resp.status
    outbound = _one(list(spans.get_finished_spans()), SpanKind.CLIENT)
    assert outbound.status.status_code == StatusCode.ERROR


async def test_components_kv_and_outbound_spans(tmp_path: Path, spans: InMemorySpanExporter, upstream: int) -> None:
    """The same for a wasi:http component (the componentize-py test guest)."""
    guest = python_guest()
    manifest = _app_manifest(tmp_path / "app", (
        f'[[component]]\nname = "py"\nsource = "{guest}"\nabi = "wasi-http"\nroutes = ["/..."]\n'
        'key_value_stores = ["default"]\nallowed_outbound_hosts = ["http://127.0.0.1:*"]\n'))
    app = await App.load(load_manifest(manifest), tmp_path / "data", None, StoreManager.default(tmp_path / "data"))
    try:
        assert (await _get(app, "/kv")).status == 200
        finished = list(spans.get_finished_spans())
        server = _one(finished, SpanKind.SERVER)
        kv = [s for s in finished if s.kind == SpanKind.CLIENT]
        assert [s.name for s in kv] == ["kv.incr", "kv.set", "kv.get"]
        assert all(_parent_id(s) == server.context.span_id for s in kv)
        spans.clear()
        Upstream.traceparents.clear()
        assert (await _get(app, f"/fetch?127.0.0.1:{upstream}/y")).status == 200
        finished = list(spans.get_finished_spans())
        outbound = _one(finished, SpanKind.CLIENT)
        assert _parent_id(outbound) == _one(finished, SpanKind.SERVER).context.span_id
        assert Upstream.traceparents == [_traceparent(outbound)]
    finally:
        await app.close()


async def test_no_spans_and_no_traceparent_when_off(c_app: App, upstream: int) -> None:
    assert tracing.TRACER is None
    Upstream.traceparents.clear()
    resp = await _get(c_app, "/fetch", (b"x-fetch-url", f"http://127.0.0.1:{upstream}/z".encode()))
    assert resp.status == 200
    assert Upstream.traceparents == [None]


def test_off_by_default_imports_nothing(c_examples: Path) -> None:
    """Serving requests with tracing off never imports OpenTelemetry (no cost when off)."""
    code = (
        "import asyncio, sys, tempfile\n"
        "from pathlib import Path\n"
        "class Sink:\n"
        "    started = False\n"
        "from wasm_server.app import App\n"
        "from wasm_server.kv import StoreManager\n"
        "from wasm_server.manifest import load_manifest\n"
        "from wasm_server.protocol.http1 import Request\n"
        "async def main():\n"
        "    d = Path(tempfile.mkdtemp())\n"
        f"    app = await App.load(load_manifest(Path({str(c_examples / 'kv-counter' / 'c')!r})), d, None,"
        " StoreManager.default(d))\n"
        "    r = await app.respond(Request(b'POST', b'/count', [], b'', True, '1.1'), 'x', Sink())\n"
        "    await app.close()\n"
        "    print(r.status, any(m.startswith('opentelemetry') for m in sys.modules))\n"
        "asyncio.run(main())\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["200", "False"], out.stderr


def test_runtime_config_tracing_table(tmp_path: Path) -> None:
    cfg = tmp_path / "runtime.toml"
    cfg.write_text('[tracing]\notlp_endpoint = "http://127.0.0.1:4318"\nservice_name = "edge-1"\n')
    config = load_runtime_config(cfg, {})
    assert config.otlp_endpoint == "http://127.0.0.1:4318" and config.trace_service_name == "edge-1"
    cfg.write_text('[tracing]\notlp_endpoint = "127.0.0.1:4318"\n')
    with pytest.raises(ConfigError, match="http:// or https:// URL"):
        load_runtime_config(cfg, {})
    assert load_runtime_config(None, {}).otlp_endpoint is None


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver: keeps the spans of every export it is sent."""

    spans: list[tuple[str, int]] = []

    def do_POST(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        body = self.rfile.read(int(self.headers["content-length"]))
        if self.path == "/v1/traces" and self.headers["content-type"] == "application/x-protobuf":
            export = ExportTraceServiceRequest.FromString(body)
            for resource in export.resource_spans:
                for scope in resource.scope_spans:
                    Collector.spans.extend((s.name, s.kind) for s in scope.spans)
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_server_exports_over_otlp_when_configured(c_examples: Path, tmp_path: Path) -> None:
    """`wasm-server up` with WASM_SERVER_OTLP_ENDPOINT sends its spans to a real OTLP/HTTP
    receiver on loopback (flushed at shutdown)."""
    import os

    import httpx

    from tests.e2e.conftest import start_server

    collector = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    Collector.spans.clear()
    os.environ["WASM_SERVER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{collector.server_address[1]}"
    try:
        server = start_server(c_examples / "kv-counter" / "c", tmp_path / "data")
    finally:
        del os.environ["WASM_SERVER_OTLP_ENDPOINT"]
    try:
        for _ in range(3):
            assert httpx.post(f"{server.url}/count").status_code == 200
    finally:
        assert server.stop() == 0, server.log_path.read_text()
        collector.shutdown()
        collector.server_close()
    names = [name for name, _ in Collector.spans]
    assert names.count("POST /count") == 3, names
    assert "kv.incr" in names
