"""The ASGI app under real servers (uvicorn, hypercorn) on 127.0.0.1, with httpx and websockets."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.asgi.conftest import hypercorn_serving, uvicorn_serving
from tests.e2e import conftest as e2e
from wasm_server.asgi import AsgiApp, create_app
from wasm_server.config import RuntimeConfig

pytestmark = pytest.mark.timeout(600)

Serving = Callable[[AsgiApp], AbstractAsyncContextManager[str]]


@pytest.fixture
async def served(asgi_server: Serving, asgi_manifest: Path, tmp_path: Path) -> AsyncIterator[tuple[str, AsgiApp]]:
    """The test app served by uvicorn or hypercorn: (host:port, the ASGI app)."""
    app = create_app(asgi_manifest, data_dir=tmp_path / "data")
    async with asgi_server(app) as where:
        yield where, app


upstream = e2e.upstream  # the shared outbound destination (a fixture of tests/e2e)


async def test_hello_with_the_path_below_its_mount(served: tuple[str, AsgiApp]) -> None:
    where, app = served
    async with httpx.AsyncClient(base_url=f"http://{where}") as client:
        resp = await client.get("/hello/there?x=1")
    assert resp.status_code == 200
    assert resp.text == "Hello from C\npath: /there\n"
    assert resp.headers["content-type"] == "text/plain; charset=utf-8"
    assert resp.headers["x-request-id"]
    assert app.app.stats["hello-c"].requests == 1  # the same App and counters as `up`
    assert 'wasm_server_requests_total{app="asgi-test",component="hello-c"} 1' in app.metrics()


async def test_kv_counter_post_and_head(served: tuple[str, AsgiApp]) -> None:
    where, _ = served
    async with httpx.AsyncClient(base_url=f"http://{where}") as client:
        assert (await client.post("/count")).text == "1\n"
        assert (await client.post("/count")).text == "2\n"
        assert (await client.get("/count")).text == "2\n"
        head = await client.head("/count")
        wrong = await client.put("/count")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == "2"  # what GET would carry
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, POST"


async def test_echo_of_a_one_mebibyte_body(served: tuple[str, AsgiApp]) -> None:
    where, _ = served
    body = os.urandom(1024 * 1024)
    async with httpx.AsyncClient(base_url=f"http://{where}") as client:
        resp = await client.post("/echo/big?q=1", content=body, headers={"x-test-a": "1"})
    assert resp.status_code == 200
    assert resp.content == body
    assert resp.headers["x-echo-url"] == "/echo/big?q=1"
    assert resp.headers["x-echo-path"] == "/big"
    assert resp.headers["x-echo-x-test-a"] == "1"


async def test_a_streamed_response_arrives_in_pieces(served: tuple[str, AsgiApp]) -> None:
    where, _ = served
    async with httpx.AsyncClient(base_url=f"http://{where}") as client, \
            client.stream("GET", "/clock?n=3&ms=300") as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "text/event-stream"
        pieces = [piece async for piece in resp.aiter_raw()]
    # the first piece left before the guest wrote the last event (a buffered body would be one piece)
    assert b"id: 1\n" in pieces[0] and b"id: 3\n" not in pieces[0]
    body = b"".join(pieces)
    assert body.count(b"event: tick\n") == 3 and body.endswith(b"\n\n")


async def test_a_stream_stops_when_its_client_leaves(served: tuple[str, AsgiApp]) -> None:
    where, app = served
    async with httpx.AsyncClient(base_url=f"http://{where}") as client:
        async with client.stream("GET", "/clock?n=3600&ms=20") as resp:
            async for piece in resp.aiter_raw():
                assert b"id: 1\n" in piece
                break
        assert app.app.running_requests()["sse-clock-c"] == 1
    for _ in range(500):  # the guest's next write fails and it returns
        if app.app.running_requests()["sse-clock-c"] == 0:
            break
        await asyncio.sleep(0.02)
    assert app.app.running_requests()["sse-clock-c"] == 0


async def test_websocket_echo(served: tuple[str, AsgiApp]) -> None:
    where, app = served
    async with connect(f"ws://{where}/ws") as ws:
        await ws.send("hello")
        assert await ws.recv() == "hello"
        await ws.send(b"\x00\x01binary")
        assert await ws.recv() == b"\x00\x01binary"
        assert len(app.app.connections.conns) == 1  # counted with the component's connections
    for _ in range(250):
        if not app.app.connections.conns:
            break
        await asyncio.sleep(0.02)
    assert not app.app.connections.conns


async def test_a_websocket_handshake_to_no_route_is_refused(served: tuple[str, AsgiApp]) -> None:
    where, _ = served
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"ws://{where}/nothing-here"):
            pass
    assert refused.value.response.status_code == 404
    assert refused.value.response.body == b"404 Not Found: no route matches /nothing-here\n"


async def test_guest_failures_answer_as_up_does(served: tuple[str, AsgiApp]) -> None:
    where, app = served
    async with httpx.AsyncClient(base_url=f"http://{where}") as client:
        trap = await client.get("/trap")
        loop = await client.get("/loop")
    assert (trap.status_code, trap.text) == (500, "component 'trap' failed\n")
    assert (loop.status_code, loop.text) == (504, "component 'loop' did not answer within its deadline\n")
    assert app.app.stats["trap"].traps == 1 and app.app.stats["loop"].timeouts == 1


async def test_outbound_allow_list(served: tuple[str, AsgiApp], upstream: int) -> None:
    where, _ = served
    async with httpx.AsyncClient(base_url=f"http://{where}") as client:
        allowed = await client.get("/fetch", headers={"x-fetch-url": f"http://127.0.0.1:{upstream}/up"})
        denied = await client.get("/fetch", headers={"x-fetch-url": f"http://localhost:{upstream}/up"})
    assert allowed.status_code == 200 and allowed.text == "upstream saw /up\n"
    assert denied.status_code == 403 and denied.text.startswith("denied")


async def test_the_body_limit_is_the_edges(asgi_server: Serving, asgi_manifest: Path, tmp_path: Path) -> None:
    app = create_app(asgi_manifest, config=RuntimeConfig(max_body=1000, data_dir=tmp_path / "data"))
    async with asgi_server(app) as where, httpx.AsyncClient(base_url=f"http://{where}") as client:
        over = await client.post("/echo/x", content=b"x" * 1001)
        under = await client.post("/echo/x", content=b"x" * 1000)

        async def trickle() -> AsyncIterator[bytes]:  # chunked: no content-length to refuse early
            for _ in range(11):
                yield b"y" * 100

        streamed = await client.post("/echo/x", content=trickle())
    too_large = "413 Request Entity Too Large: request body"
    assert (over.status_code, over.text) == (413, f"{too_large} of 1001 bytes is over the 1000 limit\n")
    assert under.status_code == 200 and len(under.content) == 1000
    assert (streamed.status_code, streamed.text) == (413, f"{too_large} is over the 1000 byte limit\n")


async def test_shutdown_lets_a_running_stream_finish(asgi_manifest: Path, tmp_path: Path) -> None:
    app = create_app(asgi_manifest, data_dir=tmp_path / "data")
    async with httpx.AsyncClient() as client:
        server = uvicorn_serving(app)
        where = await server.__aenter__()
        async with client.stream("GET", f"http://{where}/clock?n=3&ms=300") as resp:
            pieces = resp.aiter_raw()
            first = await anext(pieces)
            stopping = asyncio.ensure_future(server.__aexit__(None, None, None))
            rest = [piece async for piece in pieces]
        await stopping
    assert b"".join([first, *rest]).count(b"event: tick\n") == 3
    assert not app.host.loaded  # lifespan shutdown closed the app after the drain


async def test_hypercorn_serves_the_same(asgi_manifest: Path, tmp_path: Path) -> None:
    """hypercorn (its own HTTP and WebSocket stack) with the lifespan it sends."""
    app = create_app(asgi_manifest, data_dir=tmp_path / "data")
    async with hypercorn_serving(app) as where:
        assert app.host.loaded  # loaded at start-up, before any request
        async with httpx.AsyncClient(base_url=f"http://{where}") as client:
            assert (await client.get("/hello/")).text == "Hello from C\npath: /\n"
    assert not app.host.loaded
