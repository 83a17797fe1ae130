"""The response state machine: framing decided in one place, driven with plain values."""

from __future__ import annotations

import pytest

from wasm_server.protocol.http1 import Request
from wasm_server.protocol.response import Response, ResponseWriter, encode, error


def writer_for(method: bytes = b"GET", version: str = "1.1", keep_alive: bool = True) -> ResponseWriter:
    w = ResponseWriter()
    w.begin(Request(method, b"/", [], b"", keep_alive, version))
    return w


def split(raw: bytes) -> tuple[bytes, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return head, body


def test_framing_headers_are_the_writers_own() -> None:
    raw = writer_for().complete(Response(200, ((b"x-a", b"1"), (b"content-length", b"999"),
                                              (b"Transfer-Encoding", b"chunked"), (b"bad\nname", b"v")), b"hey"))
    head, body = split(raw)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"x-a: 1" in head
    assert b"content-length: 3" in head and b"999" not in head and b"bad" not in head and b"chunked" not in head
    assert body == b"hey"


def test_head_carries_get_length_and_no_body() -> None:
    head, body = split(writer_for(b"HEAD").complete(Response(200, (), b"hello")))
    assert b"content-length: 5" in head and body == b""


def test_head_answered_without_body_keeps_the_responders_length() -> None:
    head, _ = split(writer_for(b"HEAD").complete(Response(200, ((b"Content-Length", b"16"),))))
    assert b"content-length: 16" in head


def test_head_with_a_nonsense_length_says_zero() -> None:
    head, _ = split(writer_for(b"HEAD").complete(Response(200, ((b"content-length", b"-1"),))))
    assert b"content-length: 0" in head


@pytest.mark.parametrize("status", [204, 304, 101])
def test_no_body_statuses_have_neither_body_nor_length(status: int) -> None:
    head, body = split(writer_for().complete(Response(status, (), b"ignored")))
    assert b"content-length" not in head and body == b""


def test_close_and_http10_keep_alive() -> None:
    w = writer_for(keep_alive=False)
    assert b"connection: close" in w.complete(Response(200)) and not w.keep_alive
    w = writer_for(version="1.0")
    assert b"connection: keep-alive" in w.complete(Response(200)) and w.keep_alive
    w = writer_for()
    assert b"connection: close" in w.complete(error(400, "bad", close=True)) and not w.keep_alive


def test_streamed_http11_is_chunked() -> None:
    w = writer_for()
    head = w.start(200, ())
    assert b"transfer-encoding: chunked" in head
    assert w.chunk(b"hello") + w.chunk(b"") + w.end() == b"5\r\nhello\r\n0\r\n\r\n"
    assert w.sent == 5 and w.keep_alive


def test_streamed_http10_is_raw_and_closes() -> None:
    w = writer_for(version="1.0")
    head = w.start(200, ())
    assert b"transfer-encoding" not in head and b"connection: close" in head
    assert w.chunk(b"hello") == b"hello" and w.end() == b"" and not w.keep_alive


def test_streamed_head_and_204_send_no_body_bytes() -> None:
    for w, status in ((writer_for(b"HEAD"), 200), (writer_for(), 204), (writer_for(version="1.0"), 304)):
        w.start(status, ())
        assert w.chunk(b"x") == b"" and w.end() == b""


def test_switching_protocols_carries_upgrade_headers() -> None:
    raw = writer_for().switching([(b"upgrade", b"websocket"), (b"sec-websocket-accept", b"abc")])
    assert raw.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"upgrade: websocket\r\n" in raw and b"connection: Upgrade\r\n" in raw and raw.endswith(b"\r\n\r\n")


def test_standalone_encode_is_closing_by_default() -> None:
    raw = encode(error(503, "busy"))
    assert raw.startswith(b"HTTP/1.1 503 Service Unavailable") and b"connection: close" in raw
    assert raw.endswith(b"503 Service Unavailable: busy\n")
