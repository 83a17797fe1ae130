"""The ABI v1 codec and the shared vectors every SDK tests against."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wasm_server import abi_vectors
from wasm_server.abi_codec import (
    GuestRequest,
    GuestResponse,
    decode_key_list,
    decode_request,
    decode_response,
    encode_key_list,
    encode_request,
    encode_response,
)
from wasm_server.errors import BadResponse

ABI_DIR = Path(__file__).resolve().parents[1] / "sdk" / "abi"

blob = st.binary(max_size=64)
pairs = st.lists(st.tuples(blob, blob), max_size=5)


def test_committed_vectors_are_current() -> None:
    for name, text in abi_vectors.render().items():
        assert (ABI_DIR / name).read_text() == text, f"regenerate {name}: python -m wasm_server.abi_vectors"


def test_vectors_decode_to_their_fields() -> None:
    data = json.loads((ABI_DIR / "vectors.json").read_text())
    assert data["requests"] and data["responses"]
    for v in data["requests"]:
        r = decode_request(bytes.fromhex(v["encoded"]))
        assert r.method.hex() == v["method"] and r.url.hex() == v["url"]
        assert [[k.hex(), x.hex()] for k, x in r.headers] == v["headers"]
        assert r.body.hex() == v["body"]
    for v in data["responses"]:
        resp = decode_response(bytes.fromhex(v["encoded"]))
        assert resp.status == v["status"] and resp.body.hex() == v["body"]


@given(blob, blob, blob, pairs, pairs, st.binary(max_size=300))
def test_request_round_trip(method: bytes, url: bytes, route: bytes, params: list[tuple[bytes, bytes]],
                            headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    r = GuestRequest(method, url, route, b"", url, b"1.2.3.4:5", params, headers, body)
    assert decode_request(encode_request(r)) == r


@given(st.integers(100, 999), pairs, st.binary(max_size=300))
def test_response_round_trip(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    r = GuestResponse(status, headers, body)
    assert decode_response(encode_response(r)) == r


@given(st.binary(max_size=200))
def test_garbage_never_crashes_the_decoder(data: bytes) -> None:
    try:
        decode_response(data)
    except BadResponse:
        pass


@pytest.mark.parametrize(
    ("buf", "reason"),
    [
        (b"", "truncated"),
        (encode_response(GuestResponse(200))[:-2], "truncated"),
        (encode_response(GuestResponse(42)), "outside 100..999"),
        (encode_response(GuestResponse(200)) + b"x", "trailing"),
        (b"\xc8\0\0\0\0\0\0\0\xff\xff\xff\xff", "pair count"),
    ],
)
def test_malformed_responses_say_what_is_wrong(buf: bytes, reason: str) -> None:
    with pytest.raises(BadResponse, match=reason):
        decode_response(buf)


def test_key_list_round_trip() -> None:
    keys = [b"a", b"", b"\xff\x00"]
    assert decode_key_list(encode_key_list(keys)) == keys
