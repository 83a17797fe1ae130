"""`wasm-server up --watch`: a component swapped under load without one failed request."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.e2e.conftest import Server
from tests.e2e.wat_app import write_app
from tests.guests import wat
from wasm_server.abi_codec import GuestResponse, encode_response

Factory = Callable[..., Server]


def version(n: int) -> bytes:
    return wat.guest(response=encode_response(GuestResponse(200, [(b"content-type", b"text/plain")],
                                                             f"v{n}".encode())))


def replace(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # a build writes the new module, then it appears at once


async def hammer(url: str, seconds: float, clients: int = 8) -> list[tuple[int, str]]:
    results: list[tuple[int, str]] = []
    stop = time.monotonic() + seconds

    async def one(client: httpx.AsyncClient) -> None:
        while time.monotonic() < stop:
            try:
                r = await client.get(url)
                results.append((r.status_code, r.text))
            except httpx.HTTPError as exc:
                results.append((0, repr(exc)))

    async with httpx.AsyncClient(timeout=10) as client:
        await asyncio.gather(*(one(client) for _ in range(clients)))
    return results


def test_swap_under_load_fails_no_request(server_factory: Factory, tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", {"svc": (version(1), 'routes = ["/..."]')})
    s = server_factory(app, "--watch")

    wrk = None
    if shutil.which("wrk"):  # a second, independent client: wrk counts non-2xx and socket errors
        wrk = subprocess.Popen(["wrk", "-t1", "-c10", "-d4s", f"{s.url}/x"], stdout=subprocess.PIPE, text=True)

    async def scenario() -> list[tuple[int, str]]:
        load = asyncio.ensure_future(hammer(f"{s.url}/x", 4.0))
        await asyncio.sleep(1.0)
        replace(app / "svc.wasm", version(2))
        return await load

    results = asyncio.run(scenario())
    if wrk is not None:
        out, _ = wrk.communicate(timeout=30)
        assert re.search(r"\d+ requests in", out), out
        assert "Non-2xx" not in out and "Socket errors" not in out, out
    failures = [r for r in results if r[0] != 200]
    assert not failures, failures[:5]
    bodies = [b for _, b in results]
    assert "v1" in bodies and "v2" in bodies
    assert set(bodies[-20:]) == {"v2"}  # the new version took over and stayed
    assert "redeployed" in s.log()


def test_a_change_that_does_not_load_keeps_the_old_version(server_factory: Factory, tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", {"svc": (version(1), 'routes = ["/..."]')})
    s = server_factory(app, "--watch")
    replace(app / "svc.wasm", b"not wasm at all")
    deadline = time.monotonic() + 5
    while "redeploy failed" not in s.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "redeploy failed, still serving the previous version" in s.log()
    assert httpx.get(f"{s.url}/x").text == "v1"
    (app / "wasm-server.toml").write_text((app / "wasm-server.toml").read_text() + "\nbogus = 1\n")
    time.sleep(1.5)
    assert httpx.get(f"{s.url}/x").text == "v1"
    replace(app / "svc.wasm", version(3))  # the manifest is still broken: nothing changes
    (app / "wasm-server.toml").write_text((app / "wasm-server.toml").read_text().replace("\nbogus = 1\n", ""))
    deadline = time.monotonic() + 5
    while httpx.get(f"{s.url}/x").text != "v3" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert httpx.get(f"{s.url}/x").text == "v3"  # fixed: the next version loads
