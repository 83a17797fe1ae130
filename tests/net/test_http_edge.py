"""The asyncio edge driven through a mock transport (no sockets)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from wasm_server.net.http import MAX_PIPELINE, HttpProtocol, HttpServer, NoUpgrades
from wasm_server.protocol.http1 import Headers, Request
from wasm_server.protocol.response import Response, ResponseSink


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


Handler = Callable[[Request, str, ResponseSink], Awaitable[Response]]


class Service(NoUpgrades):
    """An HttpService made of one handler function."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def respond(self, req: Request, client: str, sink: ResponseSink) -> Response:
        return await self.handler(req, client, sink)


async def connect(respond: Handler) -> tuple[HttpProtocol, MockTransport]:
    server = HttpServer(Service(respond))
    proto = HttpProtocol(server)
    transport = MockTransport()
    proto.connection_made(transport)
    return proto, transport


async def echo_target(req: Request, client: str, sink: ResponseSink) -> Response:
    return Response(200, (), req.target + b" " + client.encode())


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
    async def broken(req: Request, client: str, sink: ResponseSink) -> Response:
        raise RuntimeError("boom")

    proto, t = await connect(broken)
    proto.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await settle()
    assert t.out.startswith(b"HTTP/1.1 500") and t.closed


async def test_deep_pipelines_pause_reading_until_drained() -> None:
    gate = asyncio.Event()

    async def slow(req: Request, client: str, sink: ResponseSink) -> Response:
        await gate.wait()
        return Response(200, (), b"ok")

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
    server = HttpServer(Service(echo_target))
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


async def test_head_gets_get_headers_and_no_body() -> None:
    proto, t = await connect(echo_target)
    proto.data_received(b"HEAD /abc HTTP/1.1\r\nHost: x\r\n\r\n")
    await settle()
    head, _, body = bytes(t.out).partition(b"\r\n\r\n")
    assert b"content-length: %d" % len(b"/abc 127.0.0.1:5555") in head and body == b""


async def test_head_keeps_the_length_a_responder_gave_without_a_body() -> None:
    async def file_server(req: Request, client: str, sink: ResponseSink) -> Response:
        # what Go's http.FileServer answers to HEAD: the file's length, no body
        return Response(200, ((b"content-length", b"16"),), b"")

    proto, t = await connect(file_server)
    proto.data_received(b"HEAD /f.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    await settle()
    assert b"content-length: 16\r\n" in t.out and t.out.endswith(b"\r\n\r\n")


async def stream_three(req: Request, client: str, sink: ResponseSink) -> Response:
    headers: Headers = ((b"content-type", b"text/plain"),)
    assert sink.start(200, headers)
    assert not sink.start(200, headers)  # one head per response
    for part in (b"a", b"bb", b"ccc"):
        assert await sink.write(part)
    return Response(200, streamed=True)


async def test_streamed_body_is_chunked_on_http11_and_the_connection_stays() -> None:
    proto, t = await connect(stream_three)
    proto.data_received(b"GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
    await settle()
    assert b"transfer-encoding: chunked" in t.out
    assert t.out.endswith(b"1\r\na\r\n2\r\nbb\r\n3\r\nccc\r\n0\r\n\r\n") and not t.closed


async def test_streamed_body_to_http10_is_raw_and_ends_with_the_connection() -> None:
    proto, t = await connect(stream_three)
    proto.data_received(b"GET /s HTTP/1.0\r\n\r\n")
    await settle()
    assert b"transfer-encoding" not in t.out and t.out.endswith(b"\r\n\r\nabbccc") and t.closed


async def test_streamed_head_request_sends_no_chunks() -> None:
    proto, t = await connect(stream_three)
    proto.data_received(b"HEAD /s HTTP/1.1\r\nHost: x\r\n\r\n")
    await settle()
    assert t.out.endswith(b"\r\n\r\n") and b"ccc" not in t.out and not t.closed


async def test_a_responder_failing_after_the_head_leaves_the_body_unfinished() -> None:
    async def dies_midway(req: Request, client: str, sink: ResponseSink) -> Response:
        sink.start(200, ())
        await sink.write(b"part")
        return Response(500, (), b"failed")  # too late for a status: the client must see a cut body

    proto, t = await connect(dies_midway)
    proto.data_received(b"GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
    await settle()
    assert t.closed and not t.out.endswith(b"0\r\n\r\n") and b"failed" not in t.out


async def test_http10_keep_alive_is_confirmed() -> None:
    proto, t = await connect(echo_target)
    proto.data_received(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    await settle()
    assert b"connection: keep-alive" in t.out and not t.closed


async def test_draining_server_closes_after_the_response() -> None:
    proto, t = await connect(echo_target)
    proto.server.draining = True
    proto.data_received(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
    await settle()
    assert b"connection: close" in t.out and t.closed


async def test_switch_serves_the_next_request_with_the_new_service() -> None:
    proto, t = await connect(echo_target)

    async def other(req: Request, client: str, sink: ResponseSink) -> Response:
        return Response(200, (), b"new")

    proto.server.switch(Service(other))
    proto.data_received(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
    await settle()
    assert t.out.endswith(b"new")


async def test_an_upgrade_that_raises_still_answers_the_client() -> None:
    class Broken(Service):
        async def upgrade(self, request: Request, client: str, transport: asyncio.Transport) -> Response:
            raise AssertionError("not a native executor")

    server = HttpServer(Broken(echo_target))
    proto, t = HttpProtocol(server), MockTransport()
    proto.connection_made(t)
    proto.data_received(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
    await settle()
    assert t.out.startswith(b"HTTP/1.1 500") and t.closed
