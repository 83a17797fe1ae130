"""WAGI's CGI output parsing and environment, without running a guest."""

from __future__ import annotations

import pytest

from wasm_server.abi_codec import GuestRequest
from wasm_server.errors import BadResponse
from wasm_server.executors.wagi import cgi_environment, parse_cgi_output


def test_headers_blank_line_and_body() -> None:
    resp = parse_cgi_output(b"Content-Type: text/plain\nX-A: 1\n\nhello\n\nworld")
    assert resp.status == 200
    assert resp.headers == [(b"Content-Type", b"text/plain"), (b"X-A", b"1")]
    assert resp.body == b"hello\n\nworld"  # only the first blank line separates


def test_crlf_lines_work_too() -> None:
    resp = parse_cgi_output(b"Content-Type: text/html\r\nStatus: 404 Not Found\r\n\r\n<p>gone</p>")
    assert (resp.status, resp.headers, resp.body) == (404, [(b"Content-Type", b"text/html")], b"<p>gone</p>")


def test_status_is_taken_out_of_the_headers() -> None:
    resp = parse_cgi_output(b"Status: 201\nContent-Type: a/b\n\n")
    assert (resp.status, resp.headers, resp.body) == (201, [(b"Content-Type", b"a/b")], b"")


def test_location_without_status_is_a_redirect() -> None:
    resp = parse_cgi_output(b"Location: /elsewhere\n\n")
    assert resp.status == 302 and resp.headers == [(b"Location", b"/elsewhere")]


def test_location_with_status_keeps_the_status() -> None:
    assert parse_cgi_output(b"Status: 301\nLocation: /new\n\n").status == 301


def test_header_values_are_stripped() -> None:
    assert parse_cgi_output(b"X-Pad:    v   \n\n").headers == [(b"X-Pad", b"v")]


@pytest.mark.parametrize(("out", "reason"), [
    (b"Content-Type: text/plain\nno blank line", "no blank line"),
    (b"", "no blank line"),
    (b"not a header\n\nbody", "malformed CGI header line"),
    (b"Status: abc\n\n", "bad CGI Status"),
    (b"Status: 99\n\n", "bad CGI Status"),
    (b"Status: 1000\n\n", "bad CGI Status"),
])
def test_malformed_output_is_a_bad_response_saying_why(out: bytes, reason: str) -> None:
    with pytest.raises(BadResponse, match=reason):
        parse_cgi_output(out)


def test_environment_carries_the_request() -> None:
    req = GuestRequest(
        b"POST", b"/app/items/7?x=1&y=%20", b"/app/items/{id}", b"", b"/app/items/7", b"[::1]:5000",
        [(b"id", b"7")],
        [(b"host", b"example.test"), (b"content-type", b"text/plain"), (b"authorization", b"secret"),
         (b"x-custom", b"v")],
        b"body",
    )
    env = cgi_environment(req, "127.0.0.1", "8080")
    assert env["REQUEST_METHOD"] == "POST" and env["QUERY_STRING"] == "x=1&y=%20"
    assert env["CONTENT_LENGTH"] == "4" and env["CONTENT_TYPE"] == "text/plain"
    assert env["REMOTE_ADDR"] == "::1" and env["X_PARAM_ID"] == "7"
    assert env["HTTP_X_CUSTOM"] == "v" and env["HTTP_HOST"] == "example.test"
    assert "HTTP_AUTHORIZATION" not in env  # CGI never passes credentials on
    assert env["X_FULL_URL"] == "http://example.test/app/items/7?x=1&y=%20"
    assert env["X_MATCHED_ROUTE"] == "/app/items/{id}"
