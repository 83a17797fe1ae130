"""wasm-server as an ASGI 3 application: serve an app under uvicorn, hypercorn, granian …
or mount it in a Starlette / FastAPI app next to Python routes (docs/embedding.md).

    WASM_SERVER_MANIFEST=examples/gallery uvicorn wasm_server.asgi:app
    WASM_SERVER_MANIFEST=examples/gallery uvicorn --factory wasm_server.asgi:create_app_from_env

    api = FastAPI(lifespan=wasm.lifespan)  # wasm = create_app("examples/hello/c")
    api.mount("/wasm", wasm)               # the component sees /wasm/x as /x

Requests go through the same seam as ``wasm-server up``'s HTTP edge (``App.respond``
with a response sink), so limits, KV, outbound allow-lists, request ids and metrics
behave the same; WebSocket routes run on the project's WebSocket session.
"""

from __future__ import annotations

from pathlib import Path

from ..config import RuntimeConfig
from ..hosted import CONFIG_ENV, MANIFEST_ENV, Source, manifest_from_env, metrics_text
from .application import AsgiApp

__all__ = ["CONFIG_ENV", "MANIFEST_ENV", "AsgiApp", "app", "create_app", "create_app_from_env", "metrics"]


def create_app(manifest: Source, *, data_dir: Path | str | None = None,
               config: RuntimeConfig | None = None) -> AsgiApp:
    """An ASGI app serving ``manifest`` (a wasm-server.toml, its directory, or a loaded App).

    ``config``: the runtime config (default: ``$WASM_SERVER_CONFIG`` and the ``WASM_SERVER_*``
    variables, as ``wasm-server up`` without flags); ``data_dir``: where the KV store lives
    (default: ``.wasm-server/`` beside the manifest). Nothing is loaded until start-up."""
    return AsgiApp(manifest, data_dir=data_dir, config=config)


def create_app_from_env() -> AsgiApp:
    """``create_app($WASM_SERVER_MANIFEST)``, for ``uvicorn --factory``: fails at once with a clear
    message when the variable is not set."""
    return AsgiApp(manifest_from_env())


def metrics(*apps: AsgiApp) -> str:
    """The counters of ``apps`` (those loaded) as one Prometheus exposition, for a /metrics route."""
    return metrics_text(a.host for a in apps)


#: ``uvicorn wasm_server.asgi:app``: serves ``$WASM_SERVER_MANIFEST``, read at start-up
app = AsgiApp(None)
