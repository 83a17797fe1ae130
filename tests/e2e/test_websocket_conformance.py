"""WebSocket conformance against a real server (issue 11, bug 9): our own fuzzing client
(tests/wsfuzz.py, raw socket, hand-built frames) and the `websockets` client library
talk to the C echo example; afterwards plain HTTP on the same server still answers."""

from __future__ import annotations

import asyncio
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from tests.e2e.conftest import Server, start_server
from tests.e2e.test_websocket_limits import echo_app
from tests.fuzzing import fuzz_examples
from tests.wsfuzz import (
    BINARY,
    CLOSE,
    CONT,
    PING,
    PONG,
    TEXT,
    Frame,
    RawClient,
    close_payload,
    expect,
    frame_sequences,
    message,
)
from wasm_server.net.websocket import MAX_FRAGMENTS

Factory = Callable[..., Server]
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def echo(built_examples: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One echo server for the module, with a 64 KiB message limit."""
    tmp = tmp_path_factory.mktemp("ws-conformance")
    server = start_server(echo_app(tmp, '[component.limits]\nwebsocket_message = "64KiB"\n'), tmp / "data")
    yield server
    server.stop()


def client(server: Server, extra: list[str] | None = None) -> RawClient:
    c = RawClient("127.0.0.1", server.port, "/ws", extra)
    assert c.status == 101, c.status
    return c


def data_frames(frames: list[object]) -> list[tuple[bool, bytes]]:
    return [(f.opcode == BINARY, f.payload) for f in frames if f.opcode in (TEXT, BINARY)]  # type: ignore[attr-defined]


def http_still_answers(server: Server) -> None:
    r = httpx.get(server.url + "/echo/after", timeout=30)
    assert r.status_code == 200 and r.headers["x-echo-path"] == "/after"


def close_of(c: RawClient) -> int | None:
    frames, closed = c.receive_all()
    assert closed, "the server left the connection open"
    codes = [f.close_code for f in frames if f.opcode == CLOSE]
    return codes[0] if codes else None


@settings(max_examples=fuzz_examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=frame_sequences())
def test_fuzz_every_sequence_gets_the_right_answer_and_the_server_lives(echo: Server, frames: list[Frame]) -> None:
    want = expect(frames, max_message=LIMIT, max_fragments=MAX_FRAGMENTS)
    if want.close is None:  # end it ourselves, so that every example ends in a close
        frames = [*frames, Frame(CLOSE, close_payload(1000, b"done"))]
        want = expect(frames, max_message=LIMIT, max_fragments=MAX_FRAGMENTS)
    c = client(echo)
    try:
        c.send(frames)
        got, closed = c.receive_all()
    finally:
        c.close()
    assert closed, "the server neither closed nor answered"
    assert [f.payload for f in got if f.opcode == PONG] == want.pongs
    assert [f.close_code for f in got if f.opcode == CLOSE] == [want.close]
    if want.close_echo is not None:
        assert [f.payload for f in got if f.opcode == CLOSE] == [want.close_echo]
    # echoes race the close, so some may be cut off, but never wrong or out of order
    echoed = data_frames(got)
    assert echoed == want.messages[:len(echoed)]


def test_http_answers_after_the_fuzz(echo: Server) -> None:
    c = client(echo)
    c.send([Frame(PING, b"still here")])
    assert [f.payload for f in c.receive(1)] == [b"still here"]
    c.close()
    http_still_answers(echo)


def test_invalid_utf8_is_1007_and_never_reaches_the_guest(echo: Server) -> None:
    c = client(echo)
    # a valid message whose last code point is split across fragments comes back whole
    euro = "\u20ac".encode()
    c.send([Frame(TEXT, b"price " + euro[:1], fin=False), Frame(CONT, euro[1:])])
    assert data_frames(c.receive(1)) == [(False, "price \u20ac".encode())]
    # an invalid one is refused by the host (before, the guest got it and failed: 1011)
    c.send([Frame(TEXT, b"\xce\xbd", fin=False), Frame(CONT, b"\xff")])
    frames, closed = c.receive_all()
    c.close()
    assert data_frames(frames) == []
    assert [f.close_code for f in frames if f.opcode == CLOSE] == [1007] and closed


def test_the_manifest_message_limit_is_1009_past_it(echo: Server) -> None:
    url = echo.url.replace("http://", "ws://") + "/ws"

    async def scenario() -> str:
        async with connect(url, max_size=None) as ws:
            await ws.send(b"z" * LIMIT)
            assert await asyncio.wait_for(ws.recv(), 10) == b"z" * LIMIT
            with pytest.raises(ConnectionClosed) as info:
                await ws.send(b"z" * (LIMIT + 1))
                await asyncio.wait_for(ws.recv(), 10)
            return str(info.value)

    assert "1009" in asyncio.run(scenario())


def test_a_message_in_too_many_fragments_is_1009(echo: Server) -> None:
    c = client(echo)
    c.send(message(BINARY, b"f" * (MAX_FRAGMENTS + 1), [1] * MAX_FRAGMENTS))
    assert close_of(c) == 1009
    c.close()
    http_still_answers(echo)


def test_a_long_fragmented_upload_does_not_hold_up_other_requests(echo: Server) -> None:
    """The first half of a message in 16-byte fragments is in; while the rest is not
    sent yet, an unrelated GET is answered; then the message completes, whole."""
    payload = bytes(range(256)) * 250  # 64000 bytes in 4000 fragments
    frames = message(BINARY, payload, [16] * 3999)
    c = client(echo)
    c.send([*frames[:2000], Frame(PING, b"half")])
    assert [f.payload for f in c.receive(1) if f.opcode == PONG] == [b"half"]  # the server read that far
    done = threading.Event()

    def get() -> None:
        http_still_answers(echo)
        done.set()

    getter = threading.Thread(target=get)
    getter.start()
    getter.join(60)
    assert done.is_set()  # answered while the WebSocket message is still unfinished
    c.send(frames[2000:])
    got = data_frames(c.receive(1))
    c.close()
    assert got == [(True, payload)]


def test_permessage_deflate_is_negotiated_with_the_websockets_client(echo: Server) -> None:
    url = echo.url.replace("http://", "ws://") + "/ws"
    variants = [
        None,  # the library's default offer (client_max_window_bits)
        ClientPerMessageDeflateFactory(server_no_context_takeover=True, client_no_context_takeover=True,
                                       server_max_window_bits=10, client_max_window_bits=9),
    ]

    async def talk(factory: ClientPerMessageDeflateFactory | None) -> tuple[str, list[str | bytes]]:
        extensions = [factory] if factory is not None else None
        async with connect(url, extensions=extensions, compression=None if factory else "deflate") as ws:
            header = ws.response.headers["Sec-WebSocket-Extensions"]
            out: list[str | bytes] = []
            for msg in ("compress me " * 2000, "compress me " * 2000, b"\x00" * 30000, "small"):
                await ws.send(msg)
                out.append(await asyncio.wait_for(ws.recv(), 10))
            return header, out

    default_header, default_out = asyncio.run(talk(variants[0]))
    assert default_header == "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"
    assert default_out == ["compress me " * 2000, "compress me " * 2000, b"\x00" * 30000, "small"]
    header, out = asyncio.run(talk(variants[1]))
    assert header == ("permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                      "server_max_window_bits=10; client_max_window_bits=9")
    assert out == default_out


def test_a_compression_bomb_is_1009_and_the_server_goes_on(echo: Server) -> None:
    c = client(echo, ["Sec-WebSocket-Extensions: permessage-deflate"])
    assert c.headers[b"sec-websocket-extensions"].startswith(b"permessage-deflate")
    compressor = zlib.compressobj(wbits=-15)
    bomb = (compressor.compress(b"\x00" * (48 << 20)) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]
    assert len(bomb) < LIMIT  # under the limit on the wire: only inflating shows it is 48 MiB
    c.send([Frame(BINARY, bomb, rsv=0b100)])
    assert close_of(c) == 1009
    c.close()
    http_still_answers(echo)
