"""WebSocket sessions without sockets: frames from our own fuzzing client (tests/wsfuzz.py)
go into a session on a fake transport; what the guest receives and what goes back on the
wire are checked against the reference model of RFC 6455."""

from __future__ import annotations

import asyncio
import tracemalloc
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzzing import fuzz_examples
from tests.net.sessionfakes import FakeTarget, FakeTransport, settle, ws_close_codes, ws_messages
from tests.wsfuzz import (
    BINARY,
    CLOSE,
    CONT,
    PING,
    PONG,
    TEXT,
    Frame,
    ServerFrame,
    close_payload,
    expect,
    frame_sequences,
    message,
    parse_frames,
)
from wasm_server.abi_codec import KIND_WS_MESSAGE, KIND_WS_OPEN, GuestRequest
from wasm_server.errors import ConfigError
from wasm_server.manifest import load_manifest
from wasm_server.net.connections import ConnectionRegistry
from wasm_server.net.http import HttpProtocol, HttpServer
from wasm_server.net.session import SessionLimits
from wasm_server.net.tcp import TcpSession
from wasm_server.net.websocket import MAX_FRAGMENTS, WebSocketSession, negotiate, upgrade
from wasm_server.protocol.http1 import Request
from wasm_server.protocol.response import Response, ResponseSink, ResponseWriter, Upgraded

LIMITS = SessionLimits(max_connections=10, idle_timeout=300.0)
KEY = [(b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ==")]
UPGRADE = [(b"upgrade", b"websocket"), (b"connection", b"Upgrade"), (b"sec-websocket-version", b"13"), *KEY]


def open_session(target: FakeTarget, *, max_message: int = 1 << 20, extensions: list[object] | None = None,
                 limits: SessionLimits = LIMITS) -> tuple[WebSocketSession, FakeTransport]:
    t = FakeTransport()
    session = WebSocketSession(target, ConnectionRegistry(), limits, t,  # type: ignore[arg-type]
                               GuestRequest(b"GET", b"/ws"), "127.0.0.1:5555", max_message=max_message,
                               extensions=extensions or [])  # type: ignore[arg-type]
    assert session.admit()
    session.start(b"")
    return session, t


def sent(t: FakeTransport) -> list[ServerFrame]:
    return parse_frames(bytearray(t.out))


def close_code(t: FakeTransport) -> int | None:
    codes = [f.close_code for f in sent(t) if f.opcode == CLOSE]
    return codes[0] if codes else None


async def feed(frames: list[Frame], *, max_message: int = 1 << 20, cuts: list[int] | None = None,
               ) -> tuple[FakeTarget, FakeTransport]:
    target = FakeTarget()
    session, t = open_session(target, max_message=max_message)
    wire = b"".join(f.encode() for f in frames)
    pos = 0
    for cut in sorted(cuts or []):  # the same bytes in arbitrary reads
        session.data_received(wire[pos:cut])
        pos = max(pos, cut)
    session.data_received(wire[pos:])
    await settle()
    return target, t


# -- the fuzz ------------------------------------------------------------------------------


@settings(max_examples=fuzz_examples(300), deadline=None)
@given(frame_sequences(), st.lists(st.integers(0, 400), max_size=4), st.sampled_from([1 << 20, 40]))
def test_fuzz_the_guest_and_the_peer_get_what_rfc_6455_says(frames: list[Frame], cuts: list[int],
                                                             max_message: int) -> None:
    target, t = asyncio.run(feed(frames, max_message=max_message, cuts=cuts))
    want = expect(frames, max_message=max_message, max_fragments=MAX_FRAGMENTS)
    out = sent(t)
    assert ws_messages(target.events) == want.messages
    assert [f.payload for f in out if f.opcode == PONG] == want.pongs
    assert close_code(t) == want.close
    assert t.closed == (want.close is not None)  # failed or closed: the TCP connection ends too
    if want.close is not None:
        assert ws_close_codes(target.events) == [want.close]  # the guest hears why, once
    if want.close_echo is not None:
        assert [f.payload for f in out if f.opcode == CLOSE] == [want.close_echo]


# -- UTF-8 ---------------------------------------------------------------------------------


async def test_a_code_point_split_across_fragments_is_accepted() -> None:
    text = "caf\u00e9 \U0001f600".encode()
    frames = [Frame(TEXT, text[:4], fin=False), Frame(CONT, text[4:5], fin=False), Frame(CONT, text[5:-2],
              fin=False), Frame(CONT, text[-2:])]
    target, t = await feed(frames)
    assert ws_messages(target.events) == [(False, text)] and close_code(t) is None


async def test_invalid_utf8_fails_with_1007_before_the_guest_sees_it() -> None:
    target, t = await feed([Frame(TEXT, b"ok"), Frame(TEXT, b"bad \xed\xa0\x80")])
    assert ws_messages(target.events) == [(False, b"ok")]
    assert close_code(t) == 1007 and t.closed and ws_close_codes(target.events) == [1007]


async def test_invalid_utf8_fails_at_once_not_at_the_end_of_the_message() -> None:
    target = FakeTarget()
    session, t = open_session(target)
    session.data_received(Frame(TEXT, b"\xff", fin=False).encode())
    assert close_code(t) == 1007  # no final fragment needed to know


async def test_a_message_cut_inside_a_code_point_at_its_end_is_1007() -> None:
    _, t = await feed([Frame(TEXT, b"\xe2\x82", fin=False), Frame(CONT, b"")])
    assert close_code(t) == 1007


async def test_binary_is_not_checked() -> None:
    target, _ = await feed([Frame(BINARY, b"\xff\xfe")])
    assert ws_messages(target.events) == [(True, b"\xff\xfe")]


# -- fragments and sizes -----------------------------------------------------------------------


async def test_the_most_fragments_a_message_may_have() -> None:
    frames = message(BINARY, b"x" * MAX_FRAGMENTS, [1] * (MAX_FRAGMENTS - 1))
    assert len(frames) == MAX_FRAGMENTS
    target, t = await feed(frames)
    assert ws_messages(target.events) == [(True, b"x" * MAX_FRAGMENTS)] and close_code(t) is None


async def test_one_fragment_more_is_1009() -> None:
    frames = message(BINARY, b"x" * (MAX_FRAGMENTS + 1), [1] * MAX_FRAGMENTS)
    target, t = await feed(frames)
    assert ws_messages(target.events) == [] and close_code(t) == 1009
    assert ws_close_codes(target.events) == [1009]


async def test_empty_fragments_count_too() -> None:
    frames = [Frame(TEXT, b"", fin=False), *[Frame(CONT, b"", fin=False)] * MAX_FRAGMENTS, Frame(PING, b"after")]
    _, t = await feed(frames)
    assert close_code(t) == 1009
    assert [f for f in sent(t) if f.opcode == PONG] == []  # nothing behind the failing frame is answered


@pytest.mark.parametrize("sizes", [[], [100] * 10, [1000, 1]])
async def test_the_message_limit_counts_the_whole_message(sizes: list[int]) -> None:
    limit = 1024
    target, t = await feed(message(BINARY, b"y" * limit, sizes), max_message=limit)
    assert ws_messages(target.events) == [(True, b"y" * limit)]
    _, t = await feed(message(BINARY, b"y" * (limit + 1), sizes), max_message=limit)
    assert close_code(t) == 1009


async def test_pings_between_fragments_are_answered_and_the_message_survives() -> None:
    frames = [Frame(TEXT, b"he", fin=False), Frame(PING, b"1"), Frame(CONT, b"ll", fin=False), Frame(PONG, b"x"),
              Frame(PING, b"2"), Frame(CONT, b"o")]
    target, t = await feed(frames)
    assert [f.payload for f in sent(t) if f.opcode == PONG] == [b"1", b"2"]
    assert ws_messages(target.events) == [(False, b"hello")]


async def test_a_close_inside_a_fragmented_message_closes_normally() -> None:
    target, t = await feed([Frame(TEXT, b"he", fin=False), Frame(CLOSE, close_payload(1000, b"bye"))])
    assert close_code(t) == 1000 and ws_messages(target.events) == []
    assert ws_close_codes(target.events) == [1000]


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 2999, 5000])
async def test_invalid_close_codes_are_1002(code: int) -> None:
    _, t = await feed([Frame(CLOSE, close_payload(code))])
    assert close_code(t) == 1002


# -- the guest's side -----------------------------------------------------------------------


async def test_echo_and_the_guest_closing_with_a_code_it_may_not_send() -> None:
    target = FakeTarget()
    session, t = open_session(target)

    def answer(kind: int, payload: bytes) -> int:
        if kind == KIND_WS_MESSAGE:
            assert session.send(payload[12:], binary=False)
            session.close(1005, b"r" * 300)  # 1005 is never sent; the reason is too long for a frame
        return 0

    target.answer = answer
    session.data_received(Frame(TEXT, b"hi").encode())
    await settle()
    out = sent(t)
    assert [(f.opcode, f.payload) for f in out[:1]] == [(TEXT, b"hi")]
    assert close_code(t) == 1011
    assert not session.send(b"late")  # closing: nothing more goes out


async def test_a_guest_refusing_the_open_closes_with_1008() -> None:
    target = FakeTarget(answer=lambda kind, payload: -1 if kind == KIND_WS_OPEN else 0)
    _, t = open_session(target)
    await settle()
    assert close_code(t) == 1008


async def test_an_idle_websocket_is_closed_with_1001() -> None:
    target = FakeTarget()
    _, t = open_session(target, limits=SessionLimits(max_connections=10, idle_timeout=0.1))
    for _ in range(500):
        if close_code(t) is not None:
            break
        await asyncio.sleep(0.01)
    assert close_code(t) == 1001


async def test_messages_after_the_close_do_not_reach_the_guest() -> None:
    target = FakeTarget()
    session, _ = open_session(target)
    session.close(1000, b"")
    session.data_received(Frame(TEXT, b"late").encode())
    await settle()
    assert ws_messages(target.events) == []


# -- the handshake, admission and permessage-deflate ---------------------------------------------


def wire(result: Response | Upgraded) -> tuple[bytes, WebSocketSession | None]:
    """What the HTTP edge writes for an upgrade's answer, and the session that takes over."""
    writer = ResponseWriter()
    writer.begin(Request(b"GET", b"/ws", UPGRADE, b"", True, "1.1"))
    if isinstance(result, Response):
        return writer.complete(result), None
    assert isinstance(result.session, WebSocketSession)
    return writer.switching(result.headers), result.session


async def test_upgrade_past_connections_max_is_503_before_any_101() -> None:
    registry, target = ConnectionRegistry(), FakeTarget()
    limits = SessionLimits(max_connections=1, idle_timeout=300.0)
    request = GuestRequest(b"GET", b"/ws", headers=UPGRADE)
    first, session = wire(upgrade(target, registry, limits, FakeTransport(), request, "a", max_message=1024))  # type: ignore[arg-type]
    assert first.startswith(b"HTTP/1.1 101") and session is not None
    second, none = wire(upgrade(target, registry, limits, FakeTransport(), request, "b", max_message=1024))  # type: ignore[arg-type]
    assert second.startswith(b"HTTP/1.1 503") and b"retry-after: 1" in second and none is None
    session.connection_lost()
    third, _ = wire(upgrade(target, registry, limits, FakeTransport(), request, "c", max_message=1024))  # type: ignore[arg-type]
    assert third.startswith(b"HTTP/1.1 101")


async def test_upgrade_with_a_bad_extensions_header_is_400() -> None:
    request = GuestRequest(b"GET", b"/ws", headers=[*UPGRADE, (b"sec-websocket-extensions", b"permessage-deflate;;")])
    answer, session = wire(upgrade(FakeTarget(), ConnectionRegistry(), LIMITS, FakeTransport(),  # type: ignore[arg-type]
                                   request, "a", max_message=1024))
    assert answer.startswith(b"HTTP/1.1 400") and b"Sec-WebSocket-Extensions" in answer and session is None


@pytest.mark.parametrize(("offer", "answer"), [
    (b"permessage-deflate", b"permessage-deflate; server_max_window_bits=12"),
    (b"permessage-deflate; client_max_window_bits",
     b"permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"),
    (b"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; "
     b"client_max_window_bits=9",
     b"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; "
     b"client_max_window_bits=9"),
    (b"permessage-deflate; unknown=1", None),  # RFC 7692 §5: decline, do not fail
    (b"permessage-deflate; server_max_window_bits=99, permessage-deflate", b"permessage-deflate; "
     b"server_max_window_bits=12"),  # the first offer is invalid, the second is taken
    (b"x-webkit-deflate-frame", None),
])
def test_negotiation(offer: bytes, answer: bytes | None) -> None:
    header, extensions = negotiate([(b"sec-websocket-extensions", offer)])
    assert header == answer and len(extensions) == (answer is not None)


def deflate(data: bytes, compressor: zlib._Compress) -> bytes:
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]  # RFC 7692 §7.2.1: the sync-flush tail is left off


async def test_compressed_messages_with_context_takeover_are_inflated_for_the_guest() -> None:
    _, extensions = negotiate([(b"sec-websocket-extensions", b"permessage-deflate")])
    target = FakeTarget()
    session, t = open_session(target, extensions=list(extensions))
    compressor = zlib.compressobj(wbits=-15)
    text = "r\u00e9p\u00e9t\u00e9 ".encode() * 200
    for _ in range(3):  # later messages refer back to earlier ones
        session.data_received(Frame(TEXT, deflate(text, compressor), rsv=0b100).encode())
    session.data_received(Frame(BINARY, b"plain").encode())  # uncompressed is allowed too
    await settle()
    assert ws_messages(target.events) == [(False, text)] * 3 + [(True, b"plain")]
    assert close_code(t) is None


async def test_a_compression_bomb_is_1009_without_inflating_it() -> None:
    _, extensions = negotiate([(b"sec-websocket-extensions", b"permessage-deflate")])
    target = FakeTarget()
    session, t = open_session(target, max_message=1 << 20, extensions=list(extensions))
    bomb = deflate(b"\x00" * (200 << 20), zlib.compressobj(wbits=-15))  # 200 MiB in ~200 KB
    assert len(bomb) < 1 << 20
    tracemalloc.start()
    session.data_received(Frame(BINARY, bomb, rsv=0b100).encode())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    await settle()
    assert close_code(t) == 1009 and ws_messages(target.events) == []
    assert peak < 16 << 20  # a few times the limit at most, never the 200 MiB


async def test_compressed_text_is_checked_after_inflating() -> None:
    _, extensions = negotiate([(b"sec-websocket-extensions", b"permessage-deflate")])
    target = FakeTarget()
    session, t = open_session(target, extensions=list(extensions))
    session.data_received(Frame(TEXT, deflate(b"ok \xff", zlib.compressobj(wbits=-15)), rsv=0b100).encode())
    await settle()
    assert close_code(t) == 1007


async def test_rsv1_without_negotiation_is_1002() -> None:
    _, t = await feed([Frame(TEXT, deflate(b"hi", zlib.compressobj(wbits=-15)), rsv=0b100)])
    assert close_code(t) == 1002


# -- limits.websocket_message in the manifest ---------------------------------------------------


def manifest(tmp_path: Path, limits: str) -> Path:
    path = tmp_path / "wasm-server.toml"
    path.write_text('[[component]]\nname = "ws"\nsource = "ws.wasm"\nroutes = [{ path = "/ws", websocket = true }]\n'
                    f"[component.limits]\n{limits}\n")
    return path


@pytest.mark.parametrize(("value", "size"), [(None, 1 << 20), ('"64KiB"', 64 << 10), ('"64MiB"', 64 << 20),
                                             ("4096", 4096)])
def test_websocket_message_limit_defaults_to_1mib_and_goes_up_to_64mib(tmp_path: Path, value: str | None,
                                                                      size: int) -> None:
    (comp,) = load_manifest(manifest(tmp_path, f"websocket_message = {value}" if value else "")).components
    assert comp.websocket_message == size


@pytest.mark.parametrize(("value", "reason"), [('"65MiB"', "over the 64MiB maximum"), ('"1GiB"', "over the 64MiB"),
                                               ("0", "expected a size"), ('"lots"', "expected a size")])
def test_websocket_message_limit_past_64mib_is_refused_at_load(tmp_path: Path, value: str, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_manifest(manifest(tmp_path, f"websocket_message = {value}"))
    assert "limits.websocket_message" in str(info.value) and reason in str(info.value)


# -- the seams around the session --------------------------------------------------------------


async def test_tcp_and_websocket_connections_of_a_component_count_together() -> None:
    registry, target = ConnectionRegistry(), FakeTarget()
    limits = SessionLimits(max_connections=1, idle_timeout=300.0)
    request = GuestRequest(b"GET", b"/ws", headers=UPGRADE)
    answer, _ = wire(upgrade(target, registry, limits, FakeTransport(), request, "a", max_message=1024))  # type: ignore[arg-type]
    assert answer.startswith(b"HTTP/1.1 101")
    tcp = TcpSession(target, registry, limits)  # type: ignore[arg-type]
    t = FakeTransport()
    tcp.connection_made(t)
    assert t.aborted


async def test_the_http_edge_hands_the_connection_and_its_write_pressure_to_the_session() -> None:
    registry, target = ConnectionRegistry(), FakeTarget()

    class Service:
        async def respond(self, req: Request, client: str, sink: ResponseSink) -> Response:
            raise AssertionError("an upgrade is not a plain request")

        async def upgrade(self, req: Request, client: str, transport: asyncio.Transport) -> Response | Upgraded:
            request = GuestRequest(req.method, req.target, headers=req.headers)
            return upgrade(target, registry, LIMITS, transport, request, client, max_message=1024)

    proto = HttpProtocol(HttpServer(Service()))
    t = FakeTransport()
    proto.connection_made(t)
    head = b"".join(b"%s: %s\r\n" % pair for pair in UPGRADE)
    proto.data_received(b"GET /ws HTTP/1.1\r\nhost: x\r\n" + head + b"\r\n" + Frame(TEXT, b"early").encode())
    await settle()
    assert t.out.startswith(b"HTTP/1.1 101")
    assert ws_messages(target.events) == [(False, b"early")]  # bytes behind the head were not lost
    proto.pause_writing()
    assert not t.reading  # the peer does not read: the session stops reading from it
    proto.resume_writing()
    assert t.reading
    proto.connection_lost(None)
    await settle()
    assert ws_close_codes(target.events) == [1006] and registry.groups["comp"].sessions == set()
