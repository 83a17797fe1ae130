"""Tiny ABI v1 guests written in WAT, for engine and fault tests (no toolchain needed)."""

from __future__ import annotations

import struct

import wasmtime

from wasm_server.abi_codec import GuestResponse, encode_response

HELLO = encode_response(GuestResponse(200, [(b"content-type", b"text/plain")], b"hi"))


def _esc(data: bytes) -> str:
    return "".join(f"\\{b:02x}" for b in data)


# a reusable request buffer at 65536 (in a second page the guest grows to), and an
# alloc that traps: a host that uses the buffer never calls alloc
REQUEST_BUFFER = """
  (func (export "wasm_server_request_buffer") (param $n i32) (result i32)
    (if (i32.lt_u (memory.size) (i32.const 3)) (then (drop (memory.grow (i32.const 2)))))
    (if (i32.gt_u (local.get $n) (i32.const 131072)) (then (return (i32.const 0))))
    (i32.const 65536))
"""


def guest(handle_body: str = "", *, version: int = 1, response: bytes = HELLO, extra: str = "",
          request_buffer: bool = False) -> bytes:
    """An ABI v1 guest whose ``wasm_server_handle`` runs ``handle_body`` then
    returns ``response`` (placed at offset 1024)."""
    packed = (1024 << 32) | len(response)
    request_buffer_wat = REQUEST_BUFFER if request_buffer else ""
    alloc_guard = "(unreachable)" if request_buffer else ""
    wat = f"""
(module
  (import "wasm_server" "log" (func $log (param i32 i32 i32)))
  (import "wasm_server" "kv_incr" (func $kv_incr (param i32 i32 i32 i32 i64 i32) (result i32)))
  (import "wasm_server" "sleep_ms" (func $sleep_ms (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 8192))
  (data (i32.const 1024) "{_esc(response)}")
  (data (i32.const 512) "default")
  (data (i32.const 520) "counter")
  (func (export "wasm_server_abi_version") (result i32) (i32.const {version}))
  {request_buffer_wat}
  (func (export "wasm_server_alloc") (param $n i32) (result i32)
    (local $p i32)
    {alloc_guard}
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.eq (memory.grow (i32.add (i32.shr_u (local.get $n) (i32.const 16)) (i32.const 1)))
                        (i32.const -1))
        (then (return (i32.const 0))))))
    (local.get $p))
  (func (export "wasm_server_handle") (param $kind i32) (param $ptr i32) (param $len i32) (result i64)
    {handle_body}
    (i64.const {packed}))
  {extra}
)"""
    return bytes(wasmtime.wat2wasm(wat))


TRAP = "(unreachable)"
LOOP = "(loop $l (br $l))"
GROW = "(loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) (unreachable)"
LOG_INFO = '(call $log (i32.const 2) (i32.const 512) (i32.const 7))'
INCR = (
    "(drop (call $kv_incr (i32.const 512) (i32.const 7) (i32.const 520) (i32.const 7) (i64.const 1) (i32.const 600)))"
)
INCR_UNDECLARED = (
    "(drop (call $kv_incr (i32.const 520) (i32.const 7) (i32.const 520) (i32.const 7) (i64.const 1) (i32.const 600)))"
)
SLEEP_300MS = "(drop (call $sleep_ms (i32.const 300)))"
OOB_LOG = "(call $log (i32.const 2) (i32.const -16) (i32.const 1000))"


def u32(n: int) -> bytes:
    """Little-endian u32."""
    return struct.pack("<I", n)


WAGI_HELLO = wasmtime.wat2wasm(r"""
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "Content-Type: text/plain\nStatus: 201\n\nhello wagi\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 49))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
""")
