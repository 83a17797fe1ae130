"""The asyncio edge driven through a mock transport (no sockets)."""

from __future__ import annotations

import asyncio
from typing import Any

from wasm_server.net.http import MAX_PIPELINE, HttpProtocol, HttpServer
from wasm_server.protocol.http1 import Request, encode_response


class MockTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.out = bytearray()
        self.closed = False
        self.paused = False

    def write(self, data: Any) -> None:
        self.out += data

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 5555) if name == "peername" else default


async def connect(respond: Any) -> tuple[HttpProtocol, MockTransport]:
    server = HttpServer(respond)
    proto = HttpProtocol(server)
    transport = MockTransport()
    proto.connection_made(transport)
    return proto, transport


async def echo_target(req: Request, client: str, stream: object = None) -> bytes:
    return encode_response(200, [], req.target + b" " + client.encode(), keep_alive=req.keep_alive)


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_request_is_answered_with_client_address() -> None:
    proto, t = await connect(echo_target)
    proto.data_received(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
    await settle()
    assert t.out.endswith(b"/a 127.0.0.1:5555") and not t.closed


async def test_connection_close_is_honoured() -> None:
    proto, t = await connect(echo_target)
    proto.data_received(b"GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    await settle()
    assert t.closed and b"connection: close" in t.out


async def test_protocol_error_answers_and_closes() -> None:
    proto, t = await connect(echo_target)
    proto.data_received(b"NOT HTTP\r\n\r\n")
    await settle()
    assert t.out.startswith(b"HTTP/1.1 400") and t.closed


async def test_responder_crash_is_a_500_not_a_dead_server() -> None:
    async def broken(req: Request, client: str, stream: object = None) -> bytes:
        raise RuntimeError("boom")

    proto, t = await connect(broken)
    proto.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await settle()
    assert t.out.startswith(b"HTTP/1.1 500") and t.closed


async def test_deep_pipelines_pause_reading_until_drained() -> None:
    gate = asyncio.Event()

    async def slow(req: Request, client: str, stream: object = None) -> bytes:
        await gate.wait()
        return encode_response(200, [], b"ok")

    proto, t = await connect(slow)
    proto.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * (MAX_PIPELINE + 5))
    await settle()
    assert t.paused
    gate.set()
    await settle()
    for _ in range(50):
        await asyncio.sleep(0)
    assert not t.paused and t.out.count(b"HTTP/1.1 200") == MAX_PIPELINE + 5


async def test_expect_continue_written_before_body() -> None:
    proto, t = await connect(echo_target)
    proto.data_received(b"POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
    assert t.out == b"HTTP/1.1 100 Continue\r\n\r\n"
    proto.data_received(b"ok")
    await settle()
    assert b"200 OK" in t.out


class CountingTransport(MockTransport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))
        super().write(data)


async def test_responses_of_one_loop_iteration_leave_in_one_write_per_connection() -> None:
    server = HttpServer(echo_target)
    conns = []
    for _ in range(3):
        proto, t = HttpProtocol(server), CountingTransport()
        proto.connection_made(t)
        conns.append((proto, t))
    for proto, _ in conns:
        proto.data_received(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert all(t.writes == [] for _, t in conns)  # held until the iteration's callbacks ran
    await asyncio.sleep(0)
    for _, t in conns:
        assert len(t.writes) == 1
        assert t.writes[0].index(b"/1 127") < t.writes[0].index(b"/2 127")  # pipelined order kept


async def test_queued_responses_go_out_before_a_close() -> None:
    proto, t = await connect(echo_target)
    proto.data_received(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    await settle()
    assert t.closed
    assert t.out.index(b"/1 127") < t.out.index(b"/2 127")


async def test_queued_output_is_dropped_when_the_peer_is_gone() -> None:
    proto, t = await connect(echo_target)
    proto.data_received(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
    t.closed = True  # the peer went away before the loop flushed
    await settle()
    assert t.out == b""
