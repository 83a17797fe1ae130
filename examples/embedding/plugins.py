"""Call WebAssembly components from a Python program, without HTTP (docs/embedding.md).

    .venv/bin/python examples/embedding/plugins.py

Loads two example apps (build them first: `wasm-server build examples/hello/c` and
`wasm-server build examples/kv-counter/c`) and calls them as sandboxed plugins: the
request goes through the same path as an HTTP request to `wasm-server up`, so the
components' limits, KV store and outbound allow-list apply.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from wasm_server.embed import App, Request

EXAMPLES = Path(__file__).resolve().parents[1]


def synchronous(data_dir: Path) -> None:
    """A plain program: the app runs on an event loop of its own, in a thread."""
    with App.load_sync(EXAMPLES / "kv-counter" / "c", data_dir=data_dir) as counter:
        for _ in range(3):
            resp = counter.call_sync(Request("POST", "/count"))
        print(f"counter after 3 POSTs: {resp.text.strip()} (status {resp.status})")
        print(f"GET /count: {counter.call_sync(Request('GET', '/count')).text.strip()}")


async def asynchronous(data_dir: Path) -> None:
    """An asyncio program: the app runs in the program's own loop; calls run concurrently."""
    async with await App.load(EXAMPLES / "hello" / "c", data_dir=data_dir) as hello:
        answers = await asyncio.gather(*(hello.call(Request("GET", f"/user/{n}")) for n in range(3)))
        for resp in answers:
            print(f"{resp.status} {resp.header('content-type')}: {resp.text.splitlines()[-1]}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:  # the KV store's file lives here
        data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tmp)
        synchronous(data_dir)
        asyncio.run(asynchronous(data_dir))


if __name__ == "__main__":
    main()
