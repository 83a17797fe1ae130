"""A WebSocket client of our own for conformance fuzzing (RFC 6455), independent of the
``websockets`` package the server uses: frames built by hand (masking, reserved bits,
any opcode, fragments), a parser for what the server sends back, a raw handshake, and a
reference model of what a conforming echo server must answer to a sequence of frames.

Used by tests/net/test_websocket.py (the session without sockets) and
tests/e2e/test_websocket_conformance.py (a real server and a raw socket).
"""

from __future__ import annotations

import base64
import codecs
import os
import socket
import struct
from dataclasses import dataclass, field

from hypothesis import strategies as st

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
DATA_OPCODES = (CONT, TEXT, BINARY)
CONTROL_OPCODES = (CLOSE, PING, PONG)
RESERVED_OPCODES = (0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF)
#: close codes RFC 6455 §7.4.1 and the IANA registry assign for use in a close frame
ASSIGNED_CLOSE_CODES = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014)
#: close codes a peer may send (3000-4999 are for libraries and apps)
VALID_CLOSE_CODES = (*ASSIGNED_CLOSE_CODES, 3000, 3999, 4000, 4999)
#: codes that must never be in a close frame (1005/1006/1015 are "no frame" markers) or are unassigned
INVALID_CLOSE_CODES = (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535)
#: byte strings that are not UTF-8, each for its own reason
INVALID_UTF8 = (
    b"\xff",  # never in UTF-8
    b"\xc0\xaf",  # overlong "/"
    b"\xed\xa0\x80",  # a UTF-16 surrogate
    b"\xf4\x90\x80\x80",  # past U+10FFFF
    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",  # valid, then a surrogate
    b"\xe2\x82",  # a code point cut short at the end of the message
    b"\x80",  # a lone continuation byte
)


@dataclass(frozen=True)
class Frame:
    """One frame as a client sends it (masked unless told otherwise)."""

    opcode: int
    payload: bytes = b""
    fin: bool = True
    rsv: int = 0  # bits RSV1 RSV2 RSV3 as 0b100, 0b010, 0b001
    masked: bool = True

    def encode(self, key: bytes = b"\x37\xfa\x21\x3d") -> bytes:
        """The frame's bytes on the wire."""
        head = bytes([(0x80 if self.fin else 0) | (self.rsv << 4) | self.opcode])
        n = len(self.payload)
        mask_bit = 0x80 if self.masked else 0
        if n < 126:
            head += bytes([mask_bit | n])
        elif n < 65536:
            head += bytes([mask_bit | 126]) + struct.pack("!H", n)
        else:
            head += bytes([mask_bit | 127]) + struct.pack("!Q", n)
        if not self.masked:
            return head + self.payload
        return head + key + mask(self.payload, key)


def mask(data: bytes, key: bytes) -> bytes:
    """RFC 6455 §5.3 masking (its own inverse)."""
    if not data:
        return b""
    repeated = (key * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(data), "big")


def close_payload(code: int, reason: bytes = b"") -> bytes:
    """The payload of a close frame."""
    return struct.pack("!H", code) + reason


def message(opcode: int, data: bytes, sizes: list[int]) -> list[Frame]:
    """``data`` as one message cut into fragments of the given sizes (the rest is the last)."""
    frames, pos = [], 0
    for size in sizes:
        if pos + size >= len(data):
            break
        frames.append(Frame(opcode if not frames else CONT, data[pos:pos + size], fin=False))
        pos += size
    frames.append(Frame(opcode if not frames else CONT, data[pos:], fin=True))
    return frames


@dataclass(frozen=True)
class ServerFrame:
    """A frame the server sent (servers never mask)."""

    opcode: int
    payload: bytes
    fin: bool = True
    rsv: int = 0

    @property
    def close_code(self) -> int | None:
        """The code of a close frame (1005 when it has none)."""
        if self.opcode != CLOSE:
            return None
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else 1005


def parse_frames(buf: bytearray) -> list[ServerFrame]:
    """Take every complete server frame off the front of ``buf``."""
    out = []
    while len(buf) >= 2:
        b0, b1 = buf[0], buf[1]
        assert not b1 & 0x80, "the server masked a frame"
        n, pos = b1 & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                break
            n, pos = struct.unpack("!H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10:
                break
            n, pos = struct.unpack("!Q", buf[2:10])[0], 10
        if len(buf) < pos + n:
            break
        out.append(ServerFrame(b0 & 0x0F, bytes(buf[pos:pos + n]), bool(b0 & 0x80), (b0 >> 4) & 0x7))
        del buf[:pos + n]
    return out


# -- the reference model -----------------------------------------------------------------


@dataclass
class Expected:
    """What a conforming echo server answers to a frame sequence."""

    #: complete messages, in order: (binary, data)
    messages: list[tuple[bool, bytes]] = field(default_factory=list)
    #: pong payloads, in order
    pongs: list[bytes] = field(default_factory=list)
    #: the code of the server's close frame (None: the frames leave the connection open)
    close: int | None = None
    #: the server's close frame payload when it echoes the client's close
    close_echo: bytes | None = None


def expect(frames: list[Frame], *, max_message: int, max_fragments: int) -> Expected:
    """The answer RFC 6455 requires (plus this server's documented limits) to ``frames``."""
    out = Expected()
    current: int | None = None  # bytes of the unfinished message so far
    binary, parts, decoder = False, [], None

    def fail(code: int) -> Expected:
        out.close = code
        return out

    for f in frames:
        if f.opcode not in DATA_OPCODES + CONTROL_OPCODES or not f.masked:
            return fail(1002)
        if len(f.payload) > max_message - (current or 0):
            return fail(1009)  # checked on the frame's length, before its contents
        if f.rsv:
            return fail(1002)  # no extension negotiated
        if f.opcode in CONTROL_OPCODES and (not f.fin or len(f.payload) > 125):
            return fail(1002)
        if f.opcode == PING:
            out.pongs.append(f.payload)
        elif f.opcode == CLOSE:
            if len(f.payload) == 1:
                return fail(1002)
            if len(f.payload) >= 2:
                try:  # both wrong: the reason is looked at first
                    f.payload[2:].decode()
                except UnicodeDecodeError:
                    return fail(1007)
                code = struct.unpack("!H", f.payload[:2])[0]
                if not (code in ASSIGNED_CLOSE_CODES or 3000 <= code <= 4999):
                    return fail(1002)
            out.close_echo = f.payload
            return fail(struct.unpack("!H", f.payload[:2])[0] if f.payload else 1005)
        elif f.opcode in (TEXT, BINARY):
            if current is not None:
                return fail(1002)  # a new message inside an unfinished one
            binary, parts = f.opcode == BINARY, []
            decoder = None if binary else codecs.getincrementaldecoder("utf-8")()
        elif f.opcode == CONT and current is None:
            return fail(1002)
        if f.opcode in DATA_OPCODES:
            if len(parts) >= max_fragments:
                return fail(1009)  # too big to process, counted in frames
            if decoder is not None:
                try:
                    decoder.decode(f.payload, f.fin)
                except UnicodeDecodeError:
                    return fail(1007)
            parts.append(f.payload)
            if f.fin:
                out.messages.append((binary, b"".join(parts)))
                current = None
            else:
                current = (current or 0) + len(f.payload)
    return out


# -- hypothesis strategies -----------------------------------------------------------------

_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=40).map(str.encode)


@st.composite
def _message(draw: st.DrawFn) -> list[Frame]:
    if draw(st.booleans()):
        opcode, data = BINARY, draw(st.binary(max_size=60))
    else:
        opcode = TEXT
        data = draw(_text)
        if draw(st.integers(0, 5)) == 0:  # now and then, not UTF-8
            bad = draw(st.sampled_from(INVALID_UTF8))
            at = draw(st.integers(0, len(data)))
            data = data[:at] + bad + data[at:]
    # fragment sizes are in bytes: they cut multi-byte code points as often as not
    sizes = draw(st.lists(st.integers(0, 8), max_size=6))
    return message(opcode, data, sizes)


@st.composite
def _odd_frame(draw: st.DrawFn) -> list[Frame]:
    kind = draw(st.sampled_from(["ping", "pong", "ping", "rsv", "opcode", "cont", "start", "long_ping",
                                 "frag_ping", "unmasked"]))
    payload = draw(st.binary(max_size=20))
    if kind == "ping":
        return [Frame(PING, payload)]
    if kind == "pong":
        return [Frame(PONG, payload)]
    if kind == "rsv":
        return [Frame(draw(st.sampled_from([TEXT, BINARY, PING])), b"", rsv=draw(st.integers(1, 7)))]
    if kind == "opcode":
        return [Frame(draw(st.sampled_from(RESERVED_OPCODES)), payload)]
    if kind == "cont":
        return [Frame(CONT, payload, fin=draw(st.booleans()))]
    if kind == "start":  # the first fragment of a message that never ends
        return [Frame(draw(st.sampled_from([TEXT, BINARY])), b"ab", fin=False)]
    if kind == "long_ping":
        return [Frame(PING, b"p" * draw(st.integers(126, 300)))]
    if kind == "frag_ping":
        return [Frame(PING, payload, fin=False)]
    return [Frame(BINARY, payload, masked=False)]


@st.composite
def _close(draw: st.DrawFn) -> list[Frame]:
    choice = draw(st.integers(0, 4))
    if choice == 0:
        return [Frame(CLOSE, b"")]
    if choice == 1:
        return [Frame(CLOSE, b"\x03")]  # one byte: too short for a code
    code = draw(st.sampled_from(VALID_CLOSE_CODES + INVALID_CLOSE_CODES))
    reason = draw(st.sampled_from([b"", b"bye", "d\u00e9j\u00e0".encode(), b"\xff\xfe"]))
    return [Frame(CLOSE, close_payload(code, reason))]


@st.composite
def frame_sequences(draw: st.DrawFn) -> list[Frame]:
    """Sequences of frames: mostly sound messages and pings, with every kind of fault mixed in,
    control frames inside fragmented messages, and sometimes a close at the end."""
    frames: list[Frame] = []
    for _ in range(draw(st.integers(1, 6))):
        part = draw(st.one_of(_message(), _message(), _odd_frame()))
        if len(part) > 1 and draw(st.booleans()):  # a ping between two fragments
            at = draw(st.integers(1, len(part) - 1))
            part = [*part[:at], Frame(PING, b"mid"), *part[at:]]
        frames += part
    if draw(st.booleans()):
        frames += draw(_close())
    return frames


# -- a raw client over a socket -----------------------------------------------------------


def handshake_request(host: str, port: int, path: str, extra: list[str] | None = None) -> bytes:
    """An upgrade request with a fresh key."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13", *(extra or [])]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class RawClient:
    """A WebSocket connection driven frame by frame."""

    def __init__(self, host: str, port: int, path: str, extra: list[str] | None = None,
                 timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.sendall(handshake_request(host, port, path, extra))
        self.buf = bytearray()
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.buf += chunk
        head, _, rest = bytes(self.buf).partition(b"\r\n\r\n")
        self.status = int(head.split(b" ", 2)[1]) if head else 0
        self.headers = {k.strip().lower(): v.strip() for k, _, v in
                        (line.partition(b":") for line in head.split(b"\r\n")[1:])}
        self.buf = bytearray(rest)

    def send(self, frames: list[Frame]) -> None:
        """Send frames in one write."""
        self.sock.sendall(b"".join(f.encode() for f in frames))

    def receive_all(self) -> tuple[list[ServerFrame], bool]:
        """Frames until the server closes the TCP connection (or the socket times out);
        True when the server did close."""
        frames = parse_frames(self.buf)
        closed = False
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    closed = True
                    break
                self.buf += chunk
                frames += parse_frames(self.buf)
        except TimeoutError:
            pass
        except ConnectionResetError:
            closed = True
        return frames, closed

    def receive(self, count: int) -> list[ServerFrame]:
        """At least ``count`` frames (fewer if the server closes first)."""
        frames = parse_frames(self.buf)
        while len(frames) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buf += chunk
            frames += parse_frames(self.buf)
        return frames

    def close(self) -> None:
        """Drop the socket."""
        self.sock.close()
