"""Guest stdout/stderr reach the server log as lines tagged with component and request id (bug 10a)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
import wasmtime

from tests.guests import wat
from wasm_server.abi_codec import GuestRequest
from wasm_server.capabilities import ALL_IMPORTS, ComponentHost
from wasm_server.capabilities.stdio import MAX_BYTES
from wasm_server.engine import Limits, Runtime
from wasm_server.executors import NativeExecutor, WagiExecutor

HEADERS = [(b"host", b"t"), (b"x-request-id", b"req-42")]
REQ = GuestRequest(b"GET", b"/", b"/...", b"", b"/", b"127.0.0.1:1", [], HEADERS)
PACKED_HELLO = (1024 << 32) | len(wat.HELLO)


def _esc(data: bytes) -> str:
    return "".join(f"\\{b:02x}" for b in data)


def _module(exports: str, handle_body: str, *, strings: dict[int, bytes]) -> bytes:
    """An ABI v1 guest whose handler runs ``handle_body`` (with ``$write(fd, ptr, len)``)."""
    data = "\n".join(f'(data (i32.const {at}) "{_esc(text)}")' for at, text in strings.items())
    return bytes(wasmtime.wat2wasm(f"""
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "{_esc(wat.HELLO)}")
  {data}
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  {exports}
  (func (export "wasm_server_handle") (param $kind i32) (param $ptr i32) (param $len i32) (result i64)
    (local $i i32)
    {handle_body}
    (i64.const {PACKED_HELLO})))
"""))


NATIVE_EXPORTS = """
  (func (export "wasm_server_abi_version") (result i32) (i32.const 1))
  (func (export "wasm_server_alloc") (param i32) (result i32) (i32.const 8192))
"""
OUT = b"hello from stdout\n"
ERR = b"first\nsecond line on stderr\nno newline"
PRINTS = f"""
    (drop (call $write (i32.const 1) (i32.const 2048) (i32.const {len(OUT)})))
    (drop (call $write (i32.const 2) (i32.const 3072) (i32.const {len(ERR)})))
    (i32.store (i32.const 16) (call $write (i32.const 7) (i32.const 2048) (i32.const 4)))
"""
# 1000 writes of a 100-byte line: 100 kB, more than one request may log
LINE = b"x" * 99 + b"\n"
FLOOD = f"""
    (loop $l
      (drop (call $write (i32.const 2) (i32.const 2048) (i32.const {len(LINE)})))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
"""


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    rt = Runtime(None, ALL_IMPORTS)
    yield rt
    rt.close()


def _host() -> ComponentHost:
    return ComponentHost("printer", logging.getLogger("wasm_server.guest"))


def _guest_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "wasm_server.guest"]


async def test_native_stdout_and_stderr_lines_reach_the_log(runtime: Runtime,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    wasm = _module(NATIVE_EXPORTS, PRINTS, strings={2048: OUT, 3072: ERR})
    ex = NativeExecutor(runtime, runtime.load(wasm, "printer.wasm"), _host(), Limits())
    await ex.check()
    caplog.set_level(logging.INFO, "wasm_server.guest")
    assert (await ex.handle(REQ)).status == 200
    got = [(r.levelno, r.getMessage()) for r in _guest_lines(caplog)]
    assert got == [
        (logging.INFO, "[printer] hello from stdout (stdout, request req-42)"),
        (logging.WARNING, "[printer] first (stderr, request req-42)"),
        (logging.WARNING, "[printer] second line on stderr (stderr, request req-42)"),
        (logging.WARNING, "[printer] no newline (stderr, request req-42)"),  # flushed when the request ended
    ]


async def test_a_reused_instance_tags_each_request_with_its_own_id(runtime: Runtime,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    wasm = _module(NATIVE_EXPORTS, PRINTS, strings={2048: OUT, 3072: ERR})
    ex = NativeExecutor(runtime, runtime.load(wasm, "printer.wasm"), _host(), Limits(), instance_reuse=10)
    await ex.check()
    caplog.set_level(logging.INFO, "wasm_server.guest")
    for rid in (b"one", b"two"):
        await ex.handle(GuestRequest(b"GET", b"/", headers=[(b"x-request-id", rid)]))
    ids = [r.getMessage().rpartition("request ")[2] for r in _guest_lines(caplog)]
    assert ids == ["one)"] * 4 + ["two)"] * 4


async def test_a_flood_is_cut_at_the_per_request_bound(runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    wasm = _module(NATIVE_EXPORTS, FLOOD, strings={2048: LINE})
    ex = NativeExecutor(runtime, runtime.load(wasm, "flood.wasm"), _host(), Limits(), instance_reuse=10)
    await ex.check()
    caplog.set_level(logging.INFO, "wasm_server.guest")
    for _ in range(2):
        assert (await ex.handle(REQ)).status == 200  # the guest's writes all "succeed"
    records = _guest_lines(caplog)
    lines = [r for r in records if "(stderr, request req-42)" in r.getMessage()]
    notices = [r.getMessage() for r in records if "dropped" in r.getMessage()]
    # the budget ends inside a line: its start is logged too
    per_request = -(-MAX_BYTES // len(LINE))
    assert len(lines) == 2 * per_request  # the budget starts again with each request
    text = sum(len(r.getMessage()) - len("[printer]  (stderr, request req-42)") for r in lines)
    assert text + 2 * (per_request - 1) == 2 * MAX_BYTES  # every byte of the budget, newlines included
    dropped = 1000 * len(LINE) - MAX_BYTES
    assert notices == [f"[printer] {dropped} more bytes of output dropped: at most {MAX_BYTES} bytes per "
                       "request are logged (request req-42)"] * 2


WAGI_FLOOD = bytes(wasmtime.wat2wasm(f"""
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "Content-Type: text/plain\\n\\nok\\n")
  (data (i32.const 2048) "{_esc(LINE)}")
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    (local $i i32)
    (loop $l
      (call $write (i32.const 2) (i32.const 2048) (i32.const {len(LINE)}))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
    (call $write (i32.const 1) (i32.const 100) (i32.const 29))))
"""))


async def test_wagi_stdout_is_the_response_and_stderr_is_bounded_like_native(
        runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    ex = WagiExecutor(runtime, runtime.load(WAGI_FLOOD, "wagi.wasm"), _host(), Limits())
    await ex.check()
    caplog.set_level(logging.INFO, "wasm_server.guest")
    resp = await ex.handle(REQ)
    assert (resp.status, resp.body) == (200, b"ok\n")
    records = _guest_lines(caplog)
    assert len([r for r in records if "(stderr, request req-42)" in r.getMessage()]) == -(-MAX_BYTES // len(LINE))
    assert sum("dropped" in r.getMessage() for r in records) == 1


async def test_writes_to_other_descriptors_are_ebadf(runtime: Runtime) -> None:
    wasm = _module(NATIVE_EXPORTS + '(func (export "errno") (result i32) (i32.load (i32.const 16)))', PRINTS,
                   strings={2048: OUT, 3072: ERR})
    ex = NativeExecutor(runtime, runtime.load(wasm, "printer.wasm"), _host(), Limits(), instance_reuse=10)
    await ex.check()
    await ex.handle(REQ)
    inst, _ = ex._idle[0]
    assert await inst.call_i32(b"errno", 1e18) == 8  # WASI EBADF
