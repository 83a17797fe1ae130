"""The sans-I/O HTTP/1.1 core, driven with byte strings (no sockets)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzzing import fuzz_examples
from wasm_server.protocol.http1 import (
    ContinueNeeded,
    Event,
    H1Connection,
    ProtocolError,
    Request,
)


def events(*chunks: bytes, **limits: int) -> list[Event]:
    conn = H1Connection(**limits)
    out: list[Event] = []
    for c in chunks:
        conn.receive_data(c)
        while (e := conn.next_event()) is not None:
            out.append(e)
    return out


def test_pipelined_requests_come_out_in_order() -> None:
    evs = events(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
    assert [(e.method, e.target, e.body) for e in evs if isinstance(e, Request)] == [
        (b"GET", b"/a", b""),
        (b"POST", b"/b", b"abc"),
    ]


def test_byte_by_byte_feeding_gives_the_same_request() -> None:
    raw = b"PUT /x?q=1 HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nContent-Length: 5\r\n\r\nhello"
    evs = events(*[raw[i : i + 1] for i in range(len(raw))])
    assert evs == [Request(b"PUT", b"/x?q=1", [(b"host", b"h"), (b"x-a", b"1"), (b"content-length", b"5")],
                           b"hello", True, "1.1")]


def test_chunked_body_is_dechunked() -> None:
    (req,) = events(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    assert isinstance(req, Request) and req.body == b"abcde"


def test_http10_closes_by_default() -> None:
    (req,) = events(b"GET / HTTP/1.0\r\n\r\n")
    assert isinstance(req, Request) and not req.keep_alive


def test_expect_continue_is_announced_before_the_body() -> None:
    conn = H1Connection()
    conn.receive_data(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
    assert conn.next_event() == ContinueNeeded()
    assert conn.next_event() is None
    conn.receive_data(b"ok")
    e = conn.next_event()
    assert isinstance(e, Request) and e.body == b"ok"


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", 413),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nb\r\nhello world\r\n0\r\n\r\n", 413),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 300 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X%d: 1\r\n" % i for i in range(20)) + b"\r\n", 431),
        (b"GET /" + b"a" * 300 + b" HTTP/1.1\r\n\r\n", 414),
        (b"garbage\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", 400),
    ],
)
def test_bad_input_gives_one_protocol_error(raw: bytes, status: int) -> None:
    evs = events(raw, max_body=10, max_header_bytes=256, max_headers=10)
    assert len(evs) == 1 and isinstance(evs[0], ProtocolError)
    assert evs[0].status == status


def test_nothing_is_parsed_after_an_error() -> None:
    conn = H1Connection()
    conn.receive_data(b"garbage\r\n\r\n")
    conn.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert isinstance(conn.next_event(), ProtocolError)
    assert conn.next_event() is None and conn.failed


@settings(max_examples=fuzz_examples(300), deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_never_raises(data: bytes) -> None:
    conn = H1Connection()
    conn.receive_data(data)
    while conn.next_event() is not None:
        pass


@pytest.mark.parametrize(
    ("name", "raw", "status"),
    [
        ("content-length with transfer-encoding", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("transfer-encoding with content-length", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
         b"Content-Length: 5\r\n\r\n0\r\n\r\n", 400),
        ("duplicate content-length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
         b"hello!", 400),
        ("signed content-length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello", 400),
        ("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400),
        ("space before colon", b"GET / HTTP/1.1\r\nHost: x\r\nX-A : a\r\n\r\n", 400),
        ("bare LF line ends", b"GET / HTTP/1.1\nHost: x\n\n", 400),
        ("control byte in a header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", 400),
        ("unknown transfer coding", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
         b"0\r\n\r\n", 501),
        ("no host in HTTP/1.1", b"GET / HTTP/1.1\r\n\r\n", 400),
        ("two hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ],
)
def test_request_smuggling_shapes_are_refused(name: str, raw: bytes, status: int) -> None:
    evs = events(raw)
    assert len(evs) == 1 and isinstance(evs[0], ProtocolError), name
    assert evs[0].status == status, (name, evs[0].reason)


def test_invalid_utf8_in_a_header_value_is_passed_on_as_bytes() -> None:
    # obs-text (0x80-0xff) is allowed by RFC 9110; the guest gets the bytes as received
    evs = events(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: \xff\xfe\r\n\r\n")
    assert isinstance(evs[0], Request) and (b"x-a", b"\xff\xfe") in evs[0].headers


def test_http10_without_host_is_accepted() -> None:
    evs = events(b"GET / HTTP/1.0\r\n\r\n")
    assert isinstance(evs[0], Request)
