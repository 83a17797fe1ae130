"""The wasi-http host pieces on their own: fields validation, streams, the bulk list<u8> path."""

from __future__ import annotations

import pytest
from wasmtime import _ffi as ffi

from wasm_server.capabilities.host import ComponentHost
from wasm_server.engine import _component_values as cv
from wasm_server.engine.component import ComponentTrap, Err
from wasm_server.executors.wasi_http.call import WasiHttpCall
from wasm_server.executors.wasi_http.http_types import Exchange, Fields, header_error, method_variant, variant_method
from wasm_server.executors.wasi_http.io import InputStream, OutputStream


@pytest.mark.parametrize("name", ["connection", "Transfer-Encoding", "upgrade", "keep-alive", "te",
                                  "proxy-connection", "http2-settings"])
def test_forbidden_header_names(name: str) -> None:
    assert header_error(name, b"x") == "forbidden"


@pytest.mark.parametrize(("name", "value"), [("bad name", b"x"), ("", b"x"), ("a(b", b"x"), ("x", b"a\r\nb"),
                                             ("x", b"a\nb"), ("x", b"\x00"), ("x", b" padded ")])
def test_invalid_header_syntax(name: str, value: bytes) -> None:
    assert header_error(name, value) == "invalid-syntax"


def test_valid_headers_pass() -> None:
    assert header_error("x-custom", b"value with spaces\tand tab") is None
    assert header_error("content-type", b"") is None


def test_fields_are_a_case_insensitive_multimap() -> None:
    f = Fields()
    assert f.append("X-A", b"1") is None and f.append("x-a", b"2") is None
    assert f.get("X-a") == [b"1", b"2"]
    assert f.set("x-a", [b"3"]) is None and f.get("x-a") == [b"3"]
    assert f.delete("X-A") is None and f.get("x-a") == []
    assert f.append("connection", b"close") == Err(("forbidden", None))
    assert f.entries == []


def test_immutable_fields_refuse_changes() -> None:
    f = Fields([("a", b"1")], immutable=True)
    for result in (f.set("a", [b"2"]), f.append("b", b"1"), f.delete("a")):
        assert result == Err(("immutable", None))
    assert f.get("a") == [b"1"]


def test_method_variants_round_trip() -> None:
    assert method_variant("GET") == ("get", None)
    assert method_variant("PURGE") == ("other", "PURGE")
    assert variant_method(("patch", None)) == "PATCH"
    assert variant_method(("other", "PURGE")) == "PURGE"


def test_input_stream_reads_then_closes() -> None:
    s = InputStream(b"abcdef")
    assert s.read(4) == b"abcd" and s.read(4) == b"ef"
    assert s.read(4) == Err(("closed", None))


def test_output_stream_refuses_more_than_check_write_allowed() -> None:
    got: list[bytes] = []
    s = OutputStream(lambda b: got.append(b), budget=lambda: 4)
    assert s.write(b"abcd") is None and got == [b"abcd"]
    with pytest.raises(ComponentTrap, match="more bytes than check-write"):
        s.write(b"abcde")


def test_response_body_is_buffered_until_it_is_big() -> None:
    forwarded: list[bytes] = []

    def start(_resp: object) -> object:
        return lambda data: forwarded.append(data)

    ex = Exchange(start)  # type: ignore[arg-type]
    ex.response = object()  # type: ignore[assignment]
    ex.body_write(b"x" * 10)
    assert forwarded == [] and not ex.streamed
    ex.body_write(b"y" * (256 * 1024))
    assert ex.streamed and sum(map(len, forwarded)) == 10 + 256 * 1024 and not ex.body


@pytest.mark.parametrize("data", [b"", b"\x00", bytes(range(256)) * 1000])
def test_list_u8_moves_in_bulk_both_ways(data: bytes) -> None:
    val = ffi.wasmtime_component_val_t()
    cv._lower_bytes(data, val)
    assert val.kind == cv.K_LIST and val.of.list.size == len(data)
    if data:
        assert val.of.list.data[len(data) - 1].kind == cv.K_U8  # each element is a real u8 value
    assert cv._lift_bytes(val) == data
    ffi.wasmtime_component_val_delete(val)


def test_call_clears_its_resource_table_and_finishes_dropped_bodies() -> None:
    import logging

    call = WasiHttpCall(ComponentHost("t", logging.getLogger("t")), Exchange())
    from wasm_server.executors.wasi_http.http_types import OutgoingBody

    body = OutgoingBody(lambda b: None)
    rep = call.put(body)
    call.put(Fields())
    assert call.get(rep) is body
    call.clear()
    assert call.table == {} and body.finished
    with pytest.raises(ComponentTrap, match="unknown resource handle"):
        call.get(rep)
