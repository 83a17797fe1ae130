"""The latency proxy of the two-location test, on loopback: order, delay, pipelining, cut/heal."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.locations.latency_proxy import LatencyProxy, Route, control

ROOT = Path(__file__).resolve().parents[2]


async def echo_server() -> asyncio.Server:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    return await asyncio.start_server(echo, "127.0.0.1", 0)


@pytest.fixture
async def proxied() -> AsyncIterator[tuple[LatencyProxy, int]]:
    upstream = await echo_server()
    port = upstream.sockets[0].getsockname()[1]
    proxy = LatencyProxy([Route(("127.0.0.1", 0), ("127.0.0.1", port))], delay=0.05)
    await proxy.start()
    try:
        yield proxy, proxy.routes[0].listen[1]
    finally:
        await proxy.close()
        upstream.close()
        await upstream.wait_closed()


async def test_bytes_arrive_in_order_after_at_least_the_delay_each_way(proxied: tuple[LatencyProxy, int]) -> None:
    _, port = proxied
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = bytes(range(256)) * 4096  # 1 MiB: many chunks, each must keep its place
    started = time.monotonic()
    writer.write(payload)
    await writer.drain()
    echoed = await reader.readexactly(len(payload))
    took = time.monotonic() - started
    assert echoed == payload
    assert took >= 2 * 0.05  # a lower bound is what the proxy promises: never faster than the delay
    writer.close()
    await writer.wait_closed()


async def test_chunks_are_pipelined_not_one_per_delay(proxied: tuple[LatencyProxy, int]) -> None:
    proxy, port = proxied
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for i in range(20):  # separate writes, read as separate chunks, all within one delay
        writer.write(b"%02d" % i)
        await writer.drain()
        await asyncio.sleep(0.001)
    assert await reader.readexactly(40) == b"".join(b"%02d" % i for i in range(20))
    assert proxy.stats.max_in_flight > 1  # several chunks were on the wire at once
    writer.close()
    await writer.wait_closed()


async def test_half_close_arrives_after_the_data_before_it(proxied: tuple[LatencyProxy, int]) -> None:
    _, port = proxied
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"last words")
    writer.write_eof()
    assert await reader.read() == b"last words"  # the echo server closes after our EOF reached it
    writer.close()
    await writer.wait_closed()


async def test_cut_aborts_live_connections_and_refuses_new_ones_until_healed(
        proxied: tuple[LatencyProxy, int]) -> None:
    proxy, port = proxied
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"ping")
    assert await reader.readexactly(4) == b"ping"
    assert await proxy.command("cut") == "ok cut"
    assert await reader.read() == b""  # the live connection is gone
    writer.close()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
    assert await proxy.command("heal") == "ok healed"
    reader, writer = await asyncio.open_connection("127.0.0.1", port)  # the same port again
    writer.write(b"pong")
    assert await reader.readexactly(4) == b"pong"
    writer.close()
    await writer.wait_closed()
    assert proxy.stats.aborted_by_cut == 2  # both ends of the one live connection


async def test_delay_per_direction_changes_at_run_time(proxied: tuple[LatencyProxy, int]) -> None:
    proxy, _ = proxied
    assert await proxy.command("delay 10 30") == "ok delay 10 30"
    assert (proxy.delay, proxy.back_delay) == (0.01, 0.03)
    assert (await proxy.command("bogus")).startswith("error: unknown command 'bogus'")


def test_route_parsing_names_the_expected_form() -> None:
    assert Route.parse("10.0.0.1:7000=10.0.2.1:7001") == Route(("10.0.0.1", 7000), ("10.0.2.1", 7001))
    with pytest.raises(ValueError, match="LISTEN_HOST:PORT=TARGET_HOST:PORT"):
        Route.parse("10.0.0.1:7000")


def test_the_command_line_proxy_is_controlled_through_its_socket(tmp_path: Path) -> None:
    sock = tmp_path / "wan.sock"
    proc = subprocess.Popen([sys.executable, "-m", "tests.locations.latency_proxy", "--delay-ms", "5",
                             "--control", str(sock), "--route", "127.0.0.1:0=127.0.0.1:9"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        assert control(sock, "cut") == "ok cut"
        assert '"cut": true' in control(sock, "stats")
        assert control(sock, "heal") == "ok healed"
        with pytest.raises(RuntimeError, match="unknown command"):
            control(sock, "nonsense")
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
