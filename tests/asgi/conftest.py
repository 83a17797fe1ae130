"""An app of C examples and WAT guests, served by real ASGI servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import CLI, EXAMPLES, ROOT, free_port
from tests.guests import wat
from wasm_server.asgi.scope import Receive, Scope, Send

#: the C examples the app includes (each built once per test session)
C_EXAMPLES = ("hello", "echo", "kv-counter", "sse-clock")


def manifest_text() -> str:
    """hello under /hello, echo (/echo/..., /ws), the KV counter (/count), the SSE clock (/clock),
    a guest that traps (/trap) and one that loops past its 1 s deadline (/loop)."""
    includes = [f'[[include]]\npath = "{EXAMPLES / name / "c"}"\n' + ('mount = "/hello"\n' if name == "hello" else "")
                for name in C_EXAMPLES]
    return "\n".join([
        '[app]\nname = "asgi-test"\n',
        *includes,
        '[[component]]\nname = "trap"\nsource = "trap.wasm"\nroutes = ["/trap"]\n',
        '[[component]]\nname = "loop"\nsource = "loop.wasm"\nroutes = ["/loop"]\n[component.limits]\ntimeout = "1s"\n',
    ])


@pytest.fixture(scope="session")
def asgi_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test app's manifest, its C examples built (``wasm-server build``)."""
    for name in C_EXAMPLES:
        proc = subprocess.run([*CLI, "build", str(EXAMPLES / name / "c")], cwd=ROOT, capture_output=True, text=True,
                              timeout=900)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    root = tmp_path_factory.mktemp("asgi-app")
    (root / "trap.wasm").write_bytes(wat.guest(wat.TRAP))
    (root / "loop.wasm").write_bytes(wat.guest(wat.LOOP))
    (root / "wasm-server.toml").write_text(manifest_text())
    return root / "wasm-server.toml"


App = object  # an ASGI application (the servers' own types differ; each checks what it needs)


@contextlib.asynccontextmanager
async def uvicorn_serving(app: App, port: int | None = None) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn in this event loop on 127.0.0.1 (lifespan on); yields its URL."""
    import uvicorn

    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning",
                            ws="websockets-sansio", loop="none", timeout_graceful_shutdown=30)
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.02)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 60)


@contextlib.asynccontextmanager
async def hypercorn_serving(app: App) -> AsyncIterator[str]:
    """Serve ``app`` with hypercorn in this event loop on 127.0.0.1; yields its URL."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    stop = asyncio.Event()
    task = asyncio.ensure_future(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    for _ in range(3000):
        if task.done():
            task.result()
            raise RuntimeError("hypercorn stopped before it started")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.02)
            continue
        writer.close()
        await writer.wait_closed()
        break
    try:
        yield f"127.0.0.1:{port}"
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


@pytest.fixture(params=["uvicorn", "hypercorn"])
def asgi_server(request: pytest.FixtureRequest) -> Iterator[object]:
    """Which server serves the app: uvicorn, then hypercorn."""
    yield uvicorn_serving if request.param == "uvicorn" else hypercorn_serving


async def lifespan(app: App, *events: str) -> list[dict[str, object]]:
    """Drive ``app``'s lifespan scope with ``events`` (``startup``, ``shutdown``) without a server;
    returns what it sent."""
    sent: list[dict[str, object]] = []
    queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    for event in events:
        queue.put_nowait({"type": f"lifespan.{event}"})

    async def receive() -> dict[str, object]:
        return await queue.get()

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    call: Receive = receive  # type: ignore[assignment]
    out: Send = send  # type: ignore[assignment]
    scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    await asyncio.wait_for(app(scope, call, out), 120)  # type: ignore[operator]
    return sent


