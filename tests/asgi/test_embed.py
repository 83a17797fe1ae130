"""wasm_server.embed: calling an app from Python without HTTP, async and sync, and its examples."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.asgi.conftest import uvicorn_serving
from tests.e2e.conftest import EXAMPLES, ROOT
from wasm_server.config import RuntimeConfig
from wasm_server.embed import App, Request, Response

pytestmark = pytest.mark.timeout(600)


async def test_async_calls(asgi_manifest: Path, tmp_path: Path) -> None:
    async with await App.load(asgi_manifest, data_dir=tmp_path / "data") as app:
        hello = await app.call(Request("GET", "/hello/a?b=c", {"X-Whatever": "1"}))
        counts = [await app.call(Request("POST", "/count")) for _ in range(2)]
        echo = await app.call(Request("PUT", "/echo/e", [("x-test-k", "v")], b"\x00payload"))
        trap = await app.call(Request("GET", "/trap"))
        missing = await app.call(Request("GET", "/none"))
        assert app.app.stats["hello-c"].requests == 1
    assert isinstance(hello, Response)
    assert (hello.status, hello.text) == (200, "Hello from C\npath: /a\n")
    assert hello.header("Content-Type") == "text/plain; charset=utf-8"
    assert hello.component == "hello-c" and hello.request_id == hello.header("x-request-id")
    assert [c.text for c in counts] == ["1\n", "2\n"]
    assert echo.body == b"\x00payload" and echo.header("x-echo-method") == "PUT"
    assert echo.header("x-echo-x-test-k") == "v"
    assert (trap.status, trap.text, trap.component) == (500, "component 'trap' failed\n", "trap")
    assert (missing.status, missing.text) == (404, "404 Not Found: no route matches /none\n")


async def test_a_streamed_response_is_collected_with_its_pieces(asgi_manifest: Path, tmp_path: Path) -> None:
    async with await App.load(asgi_manifest, data_dir=tmp_path / "data") as app:
        resp = await app.call(Request("GET", "/clock?n=3&ms=0"))
    assert resp.status == 200 and resp.header("content-type") == "text/event-stream"
    assert len(resp.chunks) == 3 and all(c.startswith(b"id: ") for c in resp.chunks)
    assert resp.body == b"".join(resp.chunks)


async def test_the_body_limit(asgi_manifest: Path, tmp_path: Path) -> None:
    config = RuntimeConfig(max_body=10, data_dir=tmp_path / "data")
    async with await App.load(asgi_manifest, config=config) as app:
        over = await app.call(Request("POST", "/echo/x", body=b"x" * 11))
        fits = await app.call(Request("POST", "/echo/x", body=b"x" * 10))
    assert (over.status, over.text) == (413, "413 Request Entity Too Large: request body of 11 bytes is over the "
                                             "10 limit\n")
    assert fits.body == b"x" * 10


async def test_close_waits_for_calls_in_flight(asgi_manifest: Path, tmp_path: Path) -> None:
    app = await App.load(asgi_manifest, data_dir=tmp_path / "data")
    loaded = app.app
    running = asyncio.ensure_future(app.call(Request("GET", "/clock?n=3&ms=200")))
    while not loaded.running_requests()["sse-clock-c"]:
        await asyncio.sleep(0.01)
    await app.aclose()
    assert running.done() and running.result().body.count(b"event: tick\n") == 3
    assert loaded.closed


async def test_closing_frees_the_engine(asgi_manifest: Path, tmp_path: Path) -> None:
    """Regression: the App's graph has cycles, so its engine (terabytes of reserved address space
    with the pooling allocator) waited for the cycle collector, and a process loading and closing
    ~30 apps aborted in Wasmtime ("failed to create memory pool mapping")."""
    app = await App.load(asgi_manifest, data_dir=tmp_path / "data")
    runtime = weakref.ref(app.app.runtime)
    await app.aclose()
    assert runtime() is None


async def test_calls_from_another_thread_and_loop(asgi_manifest: Path, tmp_path: Path) -> None:
    async with await App.load(asgi_manifest, data_dir=tmp_path / "data") as app:
        with pytest.raises(RuntimeError, match="would block the event loop"):
            app.call_sync(Request("GET", "/hello/"))
        sync_answer = await asyncio.to_thread(app.call_sync, Request("GET", "/hello/from-a-thread"))
        other: list[Response] = []
        thread = threading.Thread(target=lambda: other.append(asyncio.run(app.call(Request("GET", "/hello/loop")))))
        thread.start()
        await asyncio.to_thread(thread.join)
    assert sync_answer.text.endswith("path: /from-a-thread\n")
    assert other[0].text.endswith("path: /loop\n")


def test_sync_calls_on_the_apps_own_loop(asgi_manifest: Path, tmp_path: Path) -> None:
    with App.load_sync(asgi_manifest, data_dir=tmp_path / "data") as app:
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: app.call_sync(Request("POST", "/count")), range(8)))
        final = app.call_sync(Request("GET", "/count"))
    assert sorted(int(a.text) for a in answers) == list(range(1, 9))  # increments are exact
    assert final.text == "8\n"
    with pytest.raises(RuntimeError, match="closed"):
        app.call_sync(Request("GET", "/count"))


def test_a_bad_manifest_fails_the_load_with_its_error(tmp_path: Path) -> None:
    """Also a regression: a failed load left its engine's epoch ticker running, which kept the
    engine (and its reserved address space) alive for good."""
    (tmp_path / "wasm-server.toml").write_text('[[component]]\nname = "gone"\nsource = "gone.wasm"\nroutes = ["/"]\n')
    tickers = {t for t in threading.enumerate() if t.name == "wasm-epoch"}
    with pytest.raises(Exception, match="component 'gone': cannot read"):
        App.load_sync(tmp_path, data_dir=tmp_path / "data")
    assert not [t for t in threading.enumerate() if t.name == "wasm-server-embed"]  # its loop was stopped
    for ticker in {t for t in threading.enumerate() if t.name == "wasm-epoch"} - tickers:
        ticker.join(5)
        assert not ticker.is_alive()


def test_a_request_target_must_be_a_path() -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        Request("GET", "http://x/").wire()


def test_the_embedding_example_runs(asgi_manifest: Path, tmp_path: Path) -> None:
    """examples/embedding/plugins.py, as docs/embedding.md tells users to run it."""
    proc = subprocess.run([sys.executable, "examples/embedding/plugins.py", str(tmp_path / "data")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "counter after 3 POSTs: 3 (status 200)",
        "GET /count: 3",
        *(f"200 text/plain; charset=utf-8: path: /user/{n}" for n in range(3)),
    ]


async def test_the_fastapi_example_serves(asgi_manifest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """examples/embedding/fastapi_app.py under uvicorn (asgi_manifest: its examples are built)."""
    monkeypatch.setenv("WASM_SERVER_DATA_DIR", str(tmp_path / "data"))
    spec = importlib.util.spec_from_file_location("fastapi_example", EXAMPLES / "embedding" / "fastapi_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    async with uvicorn_serving(module.api) as where:
        async with httpx.AsyncClient(base_url=f"http://{where}") as client:
            index = await client.get("/")
            count = await client.post("/counter/count")
            echo = await client.post("/echo/echo/x", content=b"hi")
            metrics = await client.get("/metrics")
        async with connect(f"ws://{where}/echo/ws") as ws:
            await ws.send("ws through FastAPI")
            assert await ws.recv() == "ws through FastAPI"
    assert index.json() == {"components": {"/counter": "c", "/echo": "c"}}
    assert count.text == "1\n"
    assert echo.content == b"hi" and echo.headers["x-echo-path"] == "/x"
    assert 'wasm_server_requests_total{app="c",component="kv-counter-c"} 1' in metrics.text
    assert 'wasm_server_requests_total{app="c",component="echo-c"} 1' in metrics.text
    assert metrics.text.count("# TYPE wasm_server_requests_total counter") == 1
