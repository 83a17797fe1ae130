"""A FastAPI app mounting a component under /wasm next to a Python route."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Mount
from websockets.asyncio.client import connect

from tests.asgi.conftest import uvicorn_serving
from wasm_server.asgi import create_app

pytestmark = pytest.mark.timeout(600)


async def test_fastapi_mounts_a_component_next_to_python_routes(asgi_manifest: Path, tmp_path: Path) -> None:
    wasm = create_app(asgi_manifest, data_dir=tmp_path / "data")
    api = FastAPI(lifespan=wasm.lifespan)

    @api.get("/py")
    async def python_route() -> dict[str, str]:
        return {"from": "python"}

    api.mount("/wasm", wasm)
    async with uvicorn_serving(api) as where:
        assert wasm.host.loaded  # the parent's lifespan loaded it before the first request
        async with httpx.AsyncClient(base_url=f"http://{where}") as client:
            py = await client.get("/py")
            hello = await client.get("/wasm/hello/x?y=1")
            count = await client.post("/wasm/count")
            echo = await client.post("/wasm/echo/deep/er?q=2", content=b"body")
            missing = await client.get("/wasm/nothing")
        async with connect(f"ws://{where}/wasm/ws") as ws:
            await ws.send("through the mount")
            assert await ws.recv() == "through the mount"
    assert py.json() == {"from": "python"}
    # the component sees its path relative to the mount, as under an [[include]] mount
    assert hello.text == "Hello from C\npath: /x\n"
    assert count.text == "1\n"
    assert echo.content == b"body"
    assert echo.headers["x-echo-url"] == "/echo/deep/er?q=2"
    assert echo.headers["x-echo-path"] == "/deep/er"
    assert (missing.status_code, missing.text) == (404, "404 Not Found: no route matches /nothing\n")
    assert not wasm.host.loaded  # closed by the parent's shutdown


async def test_a_mount_without_lifespan_loads_on_first_request(asgi_manifest: Path, tmp_path: Path) -> None:
    wasm = create_app(asgi_manifest, data_dir=tmp_path / "data")
    api = FastAPI(routes=[Mount("/plugins/wasm", app=wasm)])
    async with uvicorn_serving(api) as where:
        assert not wasm.host.loaded  # Starlette sends a mounted app no lifespan events
        async with httpx.AsyncClient(base_url=f"http://{where}") as client:
            hello = await client.get("/plugins/wasm/hello/")
    assert hello.text == "Hello from C\npath: /\n"
    assert wasm.host.loaded
    await wasm.shutdown()
