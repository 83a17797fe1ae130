"""Binary encodings of ABI v1 (docs/abi.md): requests, responses, key lists.

Pure functions over bytes; the executor and the test vectors both use them.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import NamedTuple

from .errors import BadEncoding, BadOutboundRequest, BadResponse

ABI_VERSION = 1
KIND_HTTP_REQUEST = 1

Pairs = Sequence[tuple[bytes, bytes]]

_U32 = struct.Struct("<I")
_pack_u32 = _U32.pack
_unpack_u32 = _U32.unpack_from


# NamedTuples rather than frozen dataclasses: one is built per request and a
# tuple is several times cheaper to construct.


class GuestRequest(NamedTuple):
    """An inbound HTTP request as the guest sees it."""

    method: bytes
    url: bytes
    route: bytes = b""
    base: bytes = b""
    path_info: bytes = b""
    client: bytes = b""
    params: Pairs = ()
    headers: Pairs = ()
    body: bytes = b""
    flags: int = 0


#: GuestResponse.flags bit 0 (docs/abi.md)
FLAG_STREAMED = 1


class GuestResponse(NamedTuple):
    """A response as the guest returns it."""

    status: int
    headers: Pairs = ()
    body: bytes = b""
    flags: int = 0

    @property
    def streamed(self) -> bool:
        """Flag bit 0: the body was already sent with ``stream_start``/``stream_write``."""
        return bool(self.flags & FLAG_STREAMED)


class OutboundRequest(NamedTuple):
    """A request the guest asks the host to send (``http_send``)."""

    method: bytes
    url: bytes
    headers: Pairs = ()
    body: bytes = b""
    flags: int = 0


def _bytes(b: bytes) -> bytes:
    return _pack_u32(len(b)) + b


def _pairs(pairs: Pairs) -> bytes:
    parts = [_pack_u32(len(pairs))]
    for name, value in pairs:
        parts.append(_pack_u32(len(name)))
        parts.append(name)
        parts.append(_pack_u32(len(value)))
        parts.append(value)
    return b"".join(parts)


def encode_request(r: GuestRequest) -> bytes:
    """Encode an inbound request (kind 1 payload)."""
    p = _pack_u32
    method, url, route, base, path_info, client, params, headers, body, flags = r
    parts = [
        p(flags), p(len(method)), method, p(len(url)), url, p(len(route)), route, p(len(base)), base,
        p(len(path_info)), path_info, p(len(client)), client, p(len(params)),
    ]
    for name, value in params:
        parts += (p(len(name)), name, p(len(value)), value)
    parts.append(p(len(headers)))
    for name, value in headers:
        parts += (p(len(name)), name, p(len(value)), value)
    parts += (p(len(body)), body)
    return b"".join(parts)


def encode_response(r: GuestResponse) -> bytes:
    """Encode a response (what a guest SDK produces)."""
    return _pack_u32(r.status) + _pack_u32(r.flags) + _pairs(r.headers) + _bytes(r.body)


def encode_key_list(keys: list[bytes]) -> bytes:
    """Encode the result of ``kv_keys``."""
    return _pack_u32(len(keys)) + b"".join(_bytes(k) for k in keys)


class _Reader:
    """Bounds-checked reader: every length is checked against the buffer."""

    __slots__ = ("buf", "error", "pos")

    def __init__(self, buf: bytes, error: type[BadEncoding] = BadEncoding) -> None:
        self.buf = buf
        self.pos = 0
        #: what a malformed encoding raises (names what was being decoded)
        self.error = error

    def u32(self) -> int:
        if self.pos + 4 > len(self.buf):
            raise self.error(f"truncated at byte {self.pos}: expected a u32")
        (v,) = _unpack_u32(self.buf, self.pos)
        self.pos += 4
        return int(v)

    def bytes_(self) -> bytes:
        n = self.u32()
        end = self.pos + n
        if end > len(self.buf):
            raise self.error(f"length {n} at byte {self.pos - 4} runs past the end ({len(self.buf)})")
        v = self.buf[self.pos : end]
        self.pos = end
        return v

    def pairs(self) -> list[tuple[bytes, bytes]]:
        n = self.u32()
        # each pair needs at least 8 bytes, so a huge count fails fast
        if n * 8 > len(self.buf) - self.pos:
            raise self.error(f"pair count {n} at byte {self.pos - 4} runs past the end")
        return [(self.bytes_(), self.bytes_()) for _ in range(n)]

    def done(self) -> None:
        if self.pos != len(self.buf):
            raise self.error(f"{len(self.buf) - self.pos} trailing bytes after the encoding")


def decode_request(buf: bytes) -> GuestRequest:
    """Decode an inbound request encoding (used by tests and vectors)."""
    r = _Reader(buf)
    flags = r.u32()
    method, url, route, base, path_info, client = (r.bytes_() for _ in range(6))
    params = r.pairs()
    headers = r.pairs()
    body = r.bytes_()
    r.done()
    return GuestRequest(method, url, route, base, path_info, client, params, headers, body, flags)


def decode_response(buf: bytes) -> GuestResponse:
    """Decode a guest's response; raises :class:`BadResponse` saying what is wrong."""
    # fast path for well-formed input; anything odd is re-read by the checked
    # reader below, which says precisely what is wrong
    try:
        status, flags, n = _unpack_3u32(buf, 0)
        pos = 12
        headers = []
        end = len(buf)
        if 100 <= status <= 999 and n * 8 <= end:
            for _ in range(n):
                (ln,) = _unpack_u32(buf, pos)
                name = buf[pos + 4 : pos + 4 + ln]
                pos += 4 + ln
                (lv,) = _unpack_u32(buf, pos)
                value = buf[pos + 4 : pos + 4 + lv]
                pos += 4 + lv
                headers.append((name, value))
            (lb,) = _unpack_u32(buf, pos)
            if pos + 4 + lb == end:
                return GuestResponse(status, headers, buf[pos + 4 :], flags)
    except struct.error:
        pass
    return _decode_response_checked(buf)


_unpack_3u32 = struct.Struct("<III").unpack_from


def _decode_response_checked(buf: bytes) -> GuestResponse:
    r = _Reader(buf, BadResponse)
    status = r.u32()
    if not 100 <= status <= 999:
        raise BadResponse(f"status {status} is outside 100..999")
    flags = r.u32()
    headers = r.pairs()
    body = r.bytes_()
    r.done()
    return GuestResponse(status, headers, body, flags)


def decode_outbound(buf: bytes) -> OutboundRequest:
    """Decode the guest's ``http_send`` argument."""
    r = _Reader(buf, BadOutboundRequest)
    flags = r.u32()
    method = r.bytes_()
    url = r.bytes_()
    headers = r.pairs()
    body = r.bytes_()
    r.done()
    return OutboundRequest(method, url, headers, body, flags)


def decode_key_list(buf: bytes) -> list[bytes]:
    """Decode a ``kv_keys`` result."""
    r = _Reader(buf)
    n = r.u32()
    keys = [r.bytes_() for _ in range(n)]
    r.done()
    return keys


# -- connection events (docs/abi.md, "Connection events") ----------------------

KIND_TCP_CONNECT = 2
KIND_TCP_DATA = 3
KIND_TCP_CLOSE = 4
KIND_UDP_DATAGRAM = 5
KIND_WS_OPEN = 6
KIND_WS_MESSAGE = 7
KIND_WS_CLOSE = 8
#: TIMER: the wake-up a session's guest asked for with ``wake_after`` (empty payload)
KIND_TIMER = 9


def encode_connect(conn_id: int, peer: bytes, local: bytes) -> bytes:
    """TCP_CONNECT: ``u32 conn, str peer, str local``."""
    return _pack_u32(conn_id) + _pack_u32(len(peer)) + peer + _pack_u32(len(local)) + local


def encode_data(conn_id: int, data: bytes) -> bytes:
    """TCP_DATA: ``u32 conn, bytes data``."""
    return _pack_u32(conn_id) + _pack_u32(len(data)) + data


def encode_conn(conn_id: int) -> bytes:
    """TCP_CLOSE: ``u32 conn``."""
    return _pack_u32(conn_id)


def encode_datagram(socket_id: int, peer: bytes, data: bytes) -> bytes:
    """UDP_DATAGRAM: ``u32 socket, str peer, bytes data``."""
    return _pack_u32(socket_id) + _pack_u32(len(peer)) + peer + _pack_u32(len(data)) + data


def encode_ws_message(conn_id: int, binary: bool, data: bytes) -> bytes:
    """WS_MESSAGE: ``u32 conn, u32 flags (bit 0 = binary), bytes data``."""
    return _pack_u32(conn_id) + _pack_u32(1 if binary else 0) + _pack_u32(len(data)) + data


def encode_ws_close(conn_id: int, code: int, reason: bytes) -> bytes:
    """WS_CLOSE: ``u32 conn, u32 code, str reason``."""
    return _pack_u32(conn_id) + _pack_u32(code) + _pack_u32(len(reason)) + reason
