"""A FastAPI app with wasm components mounted next to Python routes (docs/embedding.md).

    wasm-server build examples/echo/c && wasm-server build examples/kv-counter/c
    .venv/bin/uvicorn --app-dir examples/embedding fastapi_app:api --port 8000
    curl -X POST http://127.0.0.1:8000/counter/count      # a component (KV counter in C)
    curl -d hi http://127.0.0.1:8000/echo/echo/x          # another one, with its own engine
    curl http://127.0.0.1:8000/                           # a Python route
    websocat ws://127.0.0.1:8000/echo/ws                  # the echo component's WebSocket route

Each mounted component sees its path below the mount (``/counter/count`` reaches
the counter's ``/count`` route), as under an ``[[include]]`` with a ``mount``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from wasm_server.asgi import create_app, metrics

EXAMPLES = Path(__file__).resolve().parents[1]

counter = create_app(EXAMPLES / "kv-counter" / "c")
echo = create_app(EXAMPLES / "echo" / "c")


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """Load and compile both components before the first request; drain and close them at shutdown."""
    async with counter.lifespan(), echo.lifespan():
        yield


api = FastAPI(lifespan=lifespan)


@api.get("/")
async def index() -> dict[str, object]:
    """A Python route next to the components."""
    return {"components": {"/counter": counter.app.spec.name, "/echo": echo.app.spec.name}}


@api.get("/metrics", response_class=PlainTextResponse)
async def component_metrics() -> str:
    """The components' counters in Prometheus' text format."""
    return metrics(counter, echo)


api.mount("/counter", counter)
api.mount("/echo", echo)
