"""`connections.max` and `connections.idle_timeout` hold for WebSocket connections too
(issue 11, bug 1), seen by the `websockets` client library against a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.e2e.conftest import EXAMPLES, Server

Factory = Callable[..., Server]


def echo_app(tmp_path: Path, extra: str = "") -> Path:
    """The C echo example (HTTP echo + WebSocket echo on /ws) under a manifest of the test's own."""
    app = tmp_path / "ws-echo"
    app.mkdir(exist_ok=True)
    (app / "echo.wasm").write_bytes((EXAMPLES / "echo" / "c" / "echo.wasm").read_bytes())
    (app / "wasm-server.toml").write_text(
        '[[component]]\nname = "echo"\nsource = "echo.wasm"\n'
        'routes = ["/echo/...", { path = "/ws", websocket = true }]\n' + extra
    )
    return app


def test_websockets_obey_connections_max_and_idle_timeout(built_examples: Path, server_factory: Factory,
                                                          tmp_path: Path) -> None:
    server = server_factory(echo_app(tmp_path, '[component.connections]\nmax = 1\nidle_timeout = "1s"\n'))
    url = server.url.replace("http://", "ws://") + "/ws"

    async def scenario() -> None:
        first = await connect(url)
        await first.send("hello")
        assert await asyncio.wait_for(first.recv(), 10) == "hello"
        for _ in range(2):  # the second and third get a clear "busy" before any upgrade
            with pytest.raises(InvalidStatus) as refused:
                await connect(url)
            assert refused.value.response.status_code == 503
            assert refused.value.response.headers["retry-after"] == "1"
        # the first one now sits idle: the server closes it (bounded wait, no timing claim)
        await asyncio.wait_for(first.wait_closed(), 30)
        assert first.close_code == 1001 and first.close_reason == "idle timeout"
        # its place is free again
        async with connect(url) as again:
            await again.send(b"\x01\x02")
            assert await asyncio.wait_for(again.recv(), 10) == b"\x01\x02"

    asyncio.run(scenario())
    assert "connections is the limit" in server.log()
    assert httpx.get(server.url + "/echo/x").status_code == 200  # plain HTTP is not counted
