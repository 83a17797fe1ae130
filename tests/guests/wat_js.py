"""Tiny guests in WAT for the JS host's (hosts/js) and the studio runner's tests:
connection edges (conn_close, refusing, trapping, looping), variables, stdout/stderr,
a guest that loops only on POST."""

from __future__ import annotations

import wasmtime

# WS_OPEN refuses "/r…" (returns -1); WS_MESSAGE by its first byte: 'c' closes with
# 4000 "enough" and then tries one more send (which must not arrive), 'r' returns -1,
# 't' traps, 'l' loops forever, anything else is echoed as text; WS_CLOSE logs "closed".
CONN_WAT = r"""
(module
  (import "wasm_server" "conn_close" (func $close (param i32 i32 i32 i32) (result i32)))
  (import "wasm_server" "ws_send" (func $send (param i32 i32 i32 i32) (result i32)))
  (import "wasm_server" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "enough")
  (data (i32.const 32) "closed")
  (data (i32.const 48) "late")
  (func (export "wasm_server_abi_version") (result i32) (i32.const 1))
  (func (export "wasm_server_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "wasm_server_handle") (param $kind i32) (param $ptr i32) (param $len i32) (result i64)
    (local $conn i32) (local $first i32)
    (local.set $conn (i32.load (local.get $ptr)))
    (if (i32.eq (local.get $kind) (i32.const 6))
      (then (if (i32.eq (i32.load8_u (i32.add (local.get $ptr) (i32.const 20))) (i32.const 0x72))
        (then (return (i64.const -1))))
        (return (i64.const 0))))
    (if (i32.eq (local.get $kind) (i32.const 8))
      (then (call $log (i32.const 2) (i32.const 32) (i32.const 6)) (return (i64.const 0))))
    (if (i32.ne (local.get $kind) (i32.const 7)) (then (return (i64.const -1))))
    (local.set $first (i32.load8_u (i32.add (local.get $ptr) (i32.const 12))))
    (if (i32.eq (local.get $first) (i32.const 0x63))
      (then
        (drop (call $close (local.get $conn) (i32.const 4000) (i32.const 16) (i32.const 6)))
        (drop (call $send (local.get $conn) (i32.const 0) (i32.const 48) (i32.const 4)))
        (return (i64.const 0))))
    (if (i32.eq (local.get $first) (i32.const 0x72)) (then (return (i64.const -1))))
    (if (i32.eq (local.get $first) (i32.const 0x74)) (then (unreachable)))
    (if (i32.eq (local.get $first) (i32.const 0x6c)) (then (loop $l (br $l))))
    (drop (call $send (local.get $conn) (i32.const 0) (i32.add (local.get $ptr) (i32.const 12))
                      (i32.load (i32.add (local.get $ptr) (i32.const 8)))))
    (i64.const 0))
)
"""


def conn_guest() -> bytes:
    """The compiled CONN_WAT module."""
    return bytes(wasmtime.wat2wasm(CONN_WAT))


# Answers 200 with the variable "greeting" as its body, or 404 when there is none.
VAR_WAT = r"""
(module
  (import "wasm_server" "var_get" (func $var_get (param i32 i32) (result i64)))
  (import "wasm_server" "result_read" (func $result_read (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "greeting")
  (func (export "wasm_server_abi_version") (result i32) (i32.const 1))
  (func (export "wasm_server_alloc") (param i32) (result i32) (i32.const 8192))
  (func (export "wasm_server_handle") (param $kind i32) (param $ptr i32) (param $len i32) (result i64)
    (local $n i64)
    (local.set $n (call $var_get (i32.const 16) (i32.const 8)))
    (if (i64.lt_s (local.get $n) (i64.const 0))
      (then (i32.store (i32.const 2048) (i32.const 404)) (local.set $n (i64.const 0)))
      (else (i32.store (i32.const 2048) (i32.const 200))
            (drop (call $result_read (i32.const 2064) (i32.wrap_i64 (local.get $n))))))
    (i32.store (i32.const 2052) (i32.const 0))
    (i32.store (i32.const 2056) (i32.const 0))
    (i32.store (i32.const 2060) (i32.wrap_i64 (local.get $n)))
    (i64.or (i64.shl (i64.const 2048) (i64.const 32)) (i64.add (i64.const 16) (local.get $n))))
)
"""


def var_guest() -> bytes:
    """The compiled VAR_WAT module."""
    return bytes(wasmtime.wat2wasm(VAR_WAT))


def post_loop_guest() -> bytes:
    """Answers "hi" to every request but loops forever on a POST (its method's first byte is 'P')."""
    from tests.guests import wat

    return wat.guest("(if (i32.eq (i32.load8_u (i32.add (local.get $ptr) (i32.const 8))) (i32.const 0x50))"
                     " (then (loop $l (br $l))))")


# Writes "one\ntw" then "o\n" to stdout and "no newline" to stderr, then answers "hi".
STDIO_WAT = r"""
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "one\ntw")
  (data (i32.const 32) "o\n")
  (data (i32.const 48) "no newline")
  (data (i32.const 1024) "\c8\00\00\00\00\00\00\00\00\00\00\00\02\00\00\00hi")
  (func $out (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 256) (local.get $ptr))
    (i32.store (i32.const 260) (local.get $len))
    (drop (call $write (local.get $fd) (i32.const 256) (i32.const 1) (i32.const 264))))
  (func (export "wasm_server_abi_version") (result i32) (i32.const 1))
  (func (export "wasm_server_alloc") (param i32) (result i32) (i32.const 8192))
  (func (export "wasm_server_handle") (param $kind i32) (param $ptr i32) (param $len i32) (result i64)
    (call $out (i32.const 1) (i32.const 16) (i32.const 6))
    (call $out (i32.const 1) (i32.const 32) (i32.const 2))
    (call $out (i32.const 2) (i32.const 48) (i32.const 10))
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 18)))
)
"""


def stdio_guest() -> bytes:
    """The compiled STDIO_WAT module."""
    return bytes(wasmtime.wat2wasm(STDIO_WAT))


# UDP_DATAGRAM asks for a wake-up in 25 ms (wake_after) and checks that udp_listeners answers a
# list (4 bytes: this host has none; anything else traps); TIMER sends "tick" to 10.0.0.9:5353.
TIMER_WAT = r"""
(module
  (import "wasm_server" "wake_after" (func $wake (param i32) (result i32)))
  (import "wasm_server" "udp_listeners" (func $listeners (result i64)))
  (import "wasm_server" "udp_send" (func $send (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "10.0.0.9:5353")
  (data (i32.const 32) "tick")
  (func (export "wasm_server_abi_version") (result i32) (i32.const 1))
  (func (export "wasm_server_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "wasm_server_handle") (param $kind i32) (param $ptr i32) (param $len i32) (result i64)
    (if (i32.eq (local.get $kind) (i32.const 5))
      (then
        (drop (call $wake (i32.const 25)))
        (if (i64.ne (call $listeners) (i64.const 4)) (then (unreachable)))
        (return (i64.const 0))))
    (if (i32.eq (local.get $kind) (i32.const 9))
      (then
        (drop (call $send (i32.const 3) (i32.const 16) (i32.const 13) (i32.const 32) (i32.const 4)))
        (return (i64.const 0))))
    (i64.const -1)))
"""


def timer_guest() -> bytes:
    """The compiled TIMER_WAT module."""
    return bytes(wasmtime.wat2wasm(TIMER_WAT))
