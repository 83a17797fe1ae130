"""The component's WebSocket limits under an ASGI server: connections.max, idle timeout, message size."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.asgi.conftest import uvicorn_serving
from tests.e2e.conftest import EXAMPLES
from wasm_server.asgi import create_app

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def limited(asgi_manifest: Path, tmp_path: Path) -> Path:
    """The echo example with one connection at most, idle after 300 ms, messages up to 1 KiB."""
    (tmp_path / "wasm-server.toml").write_text(f"""
[[component]]
name = "echo-c"
source = "{EXAMPLES / "echo" / "c" / "echo.wasm"}"
routes = [{{ path = "/ws", websocket = true }}]
[component.limits]
websocket_message = "1KiB"
[component.connections]
max = 1
idle_timeout = "300ms"
""")
    return tmp_path


async def test_connections_max_and_idle_timeout(limited: Path) -> None:
    async with uvicorn_serving(create_app(limited, data_dir=limited / "data")) as where:
        async with connect(f"ws://{where}/ws") as first:
            with pytest.raises(InvalidStatus) as refused:
                async with connect(f"ws://{where}/ws"):
                    pass
            assert refused.value.response.status_code == 503
            assert refused.value.response.headers["retry-after"] == "1"
            await first.send("still here")
            assert await first.recv() == "still here"
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(first.recv(), 30)  # idle: the server closes it
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1001, "idle timeout")
        # its place is free again
        async with connect(f"ws://{where}/ws") as again:
            await again.send(b"x")
            assert await again.recv() == b"x"


async def test_a_message_over_the_limit_closes_with_1009(limited: Path) -> None:
    async with uvicorn_serving(create_app(limited, data_dir=limited / "data")) as where, \
            connect(f"ws://{where}/ws") as ws:
        await ws.send("a" * 1024)
        assert await ws.recv() == "a" * 1024
        await ws.send("b" * 1025)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
