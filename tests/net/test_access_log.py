"""The access log's lines: fields, escaping (no forged lines), JSON, buffering."""

from __future__ import annotations

import io
import json

from wasm_server.net.access_log import FLUSH_BYTES, AccessLog
from wasm_server.protocol.http1 import Request
from wasm_server.protocol.response import Response


def request(target: bytes, version: str = "1.1") -> Request:
    return Request(b"GET", target, [], b"", True, version)


async def test_a_text_line_has_every_field() -> None:
    out = io.BytesIO()
    log = AccessLog(out)
    log.request("[::1]:5000", request(b"/a?b=1"), Response(200, component="hello", request_id=b"1f-2"), 5, 0.0015)
    log.request("127.0.0.1:9", request(b"/x", "1.0"), Response(404), 0, 0.0)
    assert out.getvalue() == b""  # buffered until the flush
    log.flush()
    first, second = out.getvalue().decode().splitlines()
    assert first.endswith(' [::1]:5000 "GET /a?b=1 HTTP/1.1" 200 5 1.500ms hello 1f-2')
    assert second.endswith(' 127.0.0.1:9 "GET /x HTTP/1.0" 404 0 0.000ms - -')


async def test_a_target_cannot_forge_a_line_or_a_field() -> None:
    out = io.BytesIO()
    log = AccessLog(out)
    log.request("c", request(b'/a" 200 0 0ms x y\n2026 evil "GET /\xff'), Response(400), 0, 0.0)
    log.flush()
    (line,) = out.getvalue().splitlines()
    assert b'\\x22' in line and b"\\x0a" in line and b"\\xff" in line and line.count(b'"') == 2


async def test_json_lines_are_objects_with_the_same_fields() -> None:
    out = io.BytesIO()
    log = AccessLog(out, json_lines=True)
    log.request("c", request(b"/j"), Response(201, component="api", request_id=b"r"), 7, 0.002)
    log.flush()
    doc = json.loads(out.getvalue())
    assert doc["type"] == "access" and doc["status"] == 201 and doc["bytes"] == 7 and doc["component"] == "api"
    assert doc["request_id"] == "r" and doc["target"] == "/j" and doc["duration_ms"] == 2.0


async def test_a_full_buffer_is_written_at_once() -> None:
    out = io.BytesIO()
    log = AccessLog(out)
    for _ in range(FLUSH_BYTES // 40 + 1):
        log.request("c", request(b"/" + b"x" * 40), Response(200), 0, 0.0)
    assert len(out.getvalue()) >= FLUSH_BYTES
