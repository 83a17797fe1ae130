"""The same requests to `wasm-server up` and to the ASGI app under uvicorn get the same answers."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.asgi.conftest import uvicorn_serving
from tests.e2e.conftest import start_server
from wasm_server.asgi import create_app

pytestmark = pytest.mark.timeout(600)

#: headers each server sets its own way
OWN = {"date", "server", "x-request-id", "connection", "transfer-encoding"}


def answer(resp: httpx.Response) -> tuple[int, dict[str, str], bytes]:
    return resp.status_code, {k: v for k, v in resp.headers.items() if k not in OWN}, resp.content


async def test_the_same_answers_as_up(asgi_manifest: Path, tmp_path: Path) -> None:
    up = start_server(asgi_manifest, tmp_path / "up-data")
    try:
        async with uvicorn_serving(create_app(asgi_manifest, data_dir=tmp_path / "asgi-data")) as where, \
                httpx.AsyncClient() as client:
            for method, target, body in [
                ("GET", "/trap", b""),  # a guest trap: 500 and the same error body
                ("GET", "/loop", b""),  # past its deadline: 504
                ("GET", "/nothing", b""),  # no route: 404
                ("PUT", "/count", b""),  # 405 with allow
                ("POST", "/count", b""),
                ("HEAD", "/count", b""),
                ("GET", "/hello/a/b?c=d", b""),
                ("POST", "/echo/x?y=1", b"z" * 70000),
                ("GET", "/ws", b""),  # a WebSocket route asked for plain HTTP: 426
            ]:
                ours = await client.request(method, f"http://{where}{target}", content=body)
                theirs = await client.request(method, f"{up.url}{target}", content=body)
                assert answer(ours) == answer(theirs), (method, target)
            for host in (where, up.url.removeprefix("http://")):  # App.websocket_route serves both
                async with connect(f"ws://{host}/ws") as ws:
                    await ws.send("same session")
                    assert await ws.recv() == "same session"
                with pytest.raises(InvalidStatus) as refused:
                    async with connect(f"ws://{host}/nothing"):
                        pass
                assert refused.value.response.status_code == 404
                assert refused.value.response.body == b"404 Not Found: no route matches /nothing\n"
    finally:
        up.stop(signal.SIGTERM)
