"""WebSockets (a chat room, with the `websockets` client library) and SSE (with curl)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import EXAMPLES, Server

Factory = Callable[..., Server]


@pytest.fixture
def chat(built_examples: Path, server_factory: Factory) -> Server:
    return server_factory(EXAMPLES / "ws-chat" / "c")


async def recv_until(ws: object, text: str, limit: int = 20) -> list[str]:
    seen = []
    for _ in range(limit):
        msg = await asyncio.wait_for(ws.recv(), 5)  # type: ignore[attr-defined]
        seen.append(msg)
        if msg == text:
            return seen
    raise AssertionError(f"never got {text!r}: {seen}")


def test_every_client_receives_every_message(chat: Server) -> None:
    url = chat.url.replace("http://", "ws://") + "/chat"

    async def scenario() -> None:
        async with connect(url + "?nick=ann") as ann, connect(url + "?nick=bob") as bob, \
                connect(url + "?nick=cy") as cy:
            await recv_until(ann, "* cy joined")
            await recv_until(bob, "* cy joined")
            await ann.send("hello all")
            for ws in (ann, bob, cy):
                await recv_until(ws, "ann: hello all")
            await bob.close()
            await recv_until(cy, "* bob left")
            await cy.send("x" * 4000)
            await recv_until(ann, "cy: " + "x" * 4000)
            await cy.send(iter(["frag", "mented ", "message"]))  # three frames, one message
            await recv_until(ann, "cy: fragmented message")

    asyncio.run(scenario())


def test_ping_pong_and_close_codes(chat: Server) -> None:
    url = chat.url.replace("http://", "ws://") + "/chat"

    async def scenario() -> int | None:
        async with connect(url) as ws:
            pong = await ws.ping(b"are you there")
            await asyncio.wait_for(pong, 5)
            await ws.close(code=4000, reason="bye")
            return ws.close_code

    assert asyncio.run(scenario()) == 4000


def test_oversized_message_closes_with_1009(chat: Server) -> None:
    url = chat.url.replace("http://", "ws://") + "/chat"

    async def scenario() -> str:
        async with connect(url, max_size=None) as ws:
            # the server may close while the client is still sending: either call can see it
            with pytest.raises(ConnectionClosed) as info:
                await ws.send("y" * (2 * 1024 * 1024))
                for _ in range(10):
                    await asyncio.wait_for(ws.recv(), 5)
            return str(info.value)

    assert "1009" in asyncio.run(scenario())


def test_plain_get_on_a_websocket_route_is_426(chat: Server) -> None:
    r = httpx.get(chat.url + "/chat")
    assert r.status_code == 426 and r.headers["upgrade"] == "websocket"


def test_bad_handshake_is_400(chat: Server) -> None:
    r = httpx.get(chat.url + "/chat", headers={"Upgrade": "websocket", "Connection": "Upgrade",
                                               "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "short"})
    assert r.status_code == 400 and "Sec-WebSocket-Key" in r.text


@pytest.fixture
def clock(built_examples: Path, server_factory: Factory) -> Server:
    return server_factory(EXAMPLES / "sse-clock" / "c")


def test_sse_stream_with_curl(clock: Server) -> None:
    started = time.monotonic()
    out = subprocess.run(["curl", "-sN", "-i", f"{clock.url}/clock?n=3&ms=200"], capture_output=True, timeout=30)
    head, _, body = out.stdout.decode().partition("\r\n\r\n")
    assert "transfer-encoding: chunked" in head.lower() and "text/event-stream" in head
    events = [e for e in body.split("\n\n") if e.strip()]
    assert [e.splitlines()[0] for e in events] == ["id: 1", "id: 2", "id: 3"]
    assert all("event: tick" in e and "data: 20" in e for e in events)
    assert time.monotonic() - started >= 0.4  # the ticks really were spaced


def test_events_arrive_as_they_are_produced(clock: Server) -> None:
    with httpx.stream("GET", f"{clock.url}/clock?n=3&ms=700", timeout=10) as r:
        first_at = None
        for chunk in r.iter_text():
            if "id: 1" in chunk:
                first_at = time.monotonic()
                break
        started = first_at
    assert started is not None  # the first event came before the stream ended


def test_other_requests_are_served_while_streams_run(clock: Server) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=clock.url, timeout=10) as client:
            streams = [asyncio.ensure_future(client.get("/clock?n=3&ms=300")) for _ in range(5)]
            await asyncio.sleep(0.1)
            r = await client.get("/clock?n=1")
            assert r.status_code == 200 and "id: 1" in r.text
            assert all(s.done() is False for s in streams)  # quick one finished first
            for s in streams:
                assert (await s).text.count("event: tick") == 3

    asyncio.run(scenario())


def test_rust_sse_stream(built_examples: Path, server_factory: Factory) -> None:
    s = server_factory(EXAMPLES / "sse-clock" / "rust")
    out = subprocess.run(["curl", "-sN", f"{s.url}/clock?n=3&ms=50"], capture_output=True, timeout=30)
    events = [e for e in out.stdout.decode().split("\n\n") if e.strip()]
    assert [e.splitlines()[-1] for e in events] == ["data: tick 1 of 3", "data: tick 2 of 3", "data: tick 3 of 3"]
