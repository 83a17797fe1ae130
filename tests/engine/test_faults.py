"""Guest faults the host must contain: each is a clean error for that request only,
the instance is discarded, and the next request (and every other component) is served."""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Iterator

import pytest
import wasmtime
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzzing import fuzz_examples
from tests.guests import wat
from wasm_server.abi_codec import GuestRequest, GuestResponse, encode_response
from wasm_server.capabilities import ALL_IMPORTS, ComponentHost
from wasm_server.engine import Limits, Runtime
from wasm_server.errors import BadResponse, GuestError
from wasm_server.executors import NativeExecutor

REQ = GuestRequest(b"GET", b"/", b"", b"", b"", b"")
#: where the body starts in REQ's encoding with a body (flags, 6 strings, 2 empty lists, body length)
BODY_AT = 4 + (4 + 3) + (4 + 1) + 4 * 4 + 4 + 4 + 4

# the guest answers with the request body as its response encoding: the test controls every byte
ECHO_BODY_AS_RESPONSE = f"""
    (return (i64.or
      (i64.shl (i64.extend_i32_u (i32.add (local.get $ptr) (i32.const {BODY_AT}))) (i64.const 32))
      (i64.extend_i32_u (i32.sub (local.get $len) (i32.const {BODY_AT})))))
"""
# recursion without end: Wasmtime's stack limit stops it
STACK_OVERFLOW_EXTRA = "(func $deep (param i32) (result i32) (call $deep (i32.add (local.get 0) (i32.const 1))))"
STACK_OVERFLOW = "(drop (call $deep (i32.const 0)))"
# a packed return value pointing far outside the guest's memory
WILD_POINTER = "(return (i64.const 0x7ffffff000000010))"
ABSURD_LOG_LENGTH = "(call $log (i32.const 2) (i32.const 0) (i32.const 0x7fffffff))"
ABSURD_KV_KEY = (
    "(drop (call $kv_incr (i32.const 512) (i32.const 7) (i32.const 0) (i32.const -1) (i64.const 1) (i32.const 600)))"
)


class _Counter:
    eager = True

    async def incr(self, key: bytes, delta: int) -> int:
        return delta

    def deferred(self) -> _Counter:
        return self

    def commit_waiter(self, held: asyncio.Future[None] | None) -> asyncio.Future[None] | None:
        return held


class _Stores:
    def get(self, label: str) -> _Counter:
        return _Counter()


def host() -> ComponentHost:
    return ComponentHost("t", logging.getLogger("wasm_server.guest"), {}, frozenset({"default"}), _Stores())


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    rt = Runtime(None, ALL_IMPORTS)
    yield rt
    rt.close()


def executor(loop: asyncio.AbstractEventLoop, rt: Runtime, body: str, extra: str = "") -> NativeExecutor:
    ex = NativeExecutor(rt, rt.load(wat.guest(body, extra=extra), "fault.wasm"), host(), Limits(timeout=5))
    loop.run_until_complete(ex.check())
    return ex


@pytest.mark.parametrize(
    ("name", "body", "extra", "error", "match"),
    [
        ("stack overflow", STACK_OVERFLOW, STACK_OVERFLOW_EXTRA, GuestError, "stack"),
        ("response pointer outside memory", WILD_POINTER, "", GuestError, "out-of-bounds"),
        ("kv key with a negative length", ABSURD_KV_KEY, "", GuestError, "out-of-bounds|length"),
    ],
)
def test_fault_is_a_clean_error_and_the_module_keeps_serving(loop: asyncio.AbstractEventLoop, runtime: Runtime,
                                                             name: str, body: str, extra: str,
                                                             error: type[Exception], match: str) -> None:
    ex = executor(loop, runtime, body, extra)
    for _ in range(2):  # the failed instance was discarded; a fresh one fails the same clean way
        with pytest.raises(error, match=match):
            loop.run_until_complete(ex.handle(REQ))
    assert ex._idle == []
    ok = executor(loop, runtime, "")
    assert loop.run_until_complete(ok.handle(REQ)).status == 200


def test_a_log_line_with_an_absurd_length_is_cut_not_fatal(loop: asyncio.AbstractEventLoop, runtime: Runtime,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    ex = executor(loop, runtime, ABSURD_LOG_LENGTH)
    with pytest.raises(GuestError, match="out-of-bounds"):
        # 16 KiB from offset 0 fits the guest's 64 KiB page; the declared length does not
        loop.run_until_complete(executor(loop, runtime, "(call $log (i32.const 2) (i32.const 65000) "
                                                        "(i32.const 0x7fffffff))").handle(REQ))
    with caplog.at_level(logging.INFO, logger="wasm_server.guest"):
        assert loop.run_until_complete(ex.handle(REQ)).status == 200
    assert max(len(r.getMessage()) for r in caplog.records) <= 16 * 1024 + 16


def test_a_guest_that_ignores_a_large_body_still_answers(loop: asyncio.AbstractEventLoop, runtime: Runtime) -> None:
    ex = executor(loop, runtime, "")
    big = GuestRequest(b"POST", b"/", b"", b"", b"", b"", [], [], b"x" * (8 << 20))
    assert loop.run_until_complete(ex.handle(big)).status == 200


_echo: dict[str, NativeExecutor] = {}


@settings(max_examples=fuzz_examples(300), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.binary(max_size=200),
    st.builds(lambda status, headers, body: encode_response(GuestResponse(status, headers, body)),
              st.integers(0, 2000), st.lists(st.tuples(st.binary(max_size=20), st.binary(max_size=40)), max_size=4),
              st.binary(max_size=50)),
    st.builds(lambda raw, cut: raw[:cut],
              st.builds(lambda n: struct.pack("<III", 200, 0, n), st.integers(0, 2**32 - 1)), st.integers(0, 12)),
))
def test_fuzzed_guest_responses_are_decoded_or_refused_never_crash(loop: asyncio.AbstractEventLoop,
                                                                   runtime: Runtime, raw: bytes) -> None:
    ex = _echo.get("ex") or _echo.setdefault("ex", executor(loop, runtime, ECHO_BODY_AS_RESPONSE))
    req = GuestRequest(b"GET", b"/", b"", b"", b"", b"", [], [], raw)
    try:
        resp = loop.run_until_complete(ex.handle(req))
    except BadResponse:
        return
    assert 100 <= resp.status <= 999
    assert encode_response(resp) == raw  # what was accepted is exactly what the guest said


SLEPT = encode_response(GuestResponse(200, [], b"slept"))


def _poll_guest(nanoseconds: int) -> bytes:
    """A guest whose handler sleeps through WASI poll_oneoff (what C's sleep() and Go's time.Sleep do)."""
    data = "".join(f"\\{b:02x}" for b in SLEPT)
    text = f"""(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "{data}")
  (func (export "wasm_server_abi_version") (result i32) (i32.const 1))
  (func (export "wasm_server_alloc") (param i32) (result i32) (i32.const 8192))
  (func (export "wasm_server_handle") (param i32 i32 i32) (result i64)
    (i64.store (i32.const 4096) (i64.const 7))
    (i32.store8 (i32.const 4104) (i32.const 0))
    (i32.store (i32.const 4112) (i32.const 1))
    (i64.store (i32.const 4120) (i64.const {nanoseconds}))
    (if (i32.ne (call $poll (i32.const 4096) (i32.const 4200) (i32.const 1) (i32.const 4300)) (i32.const 0))
      (then unreachable))
    (if (i32.ne (i32.load (i32.const 4300)) (i32.const 1)) (then unreachable))
    (if (i64.ne (i64.load (i32.const 4200)) (i64.const 7)) (then unreachable))
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const {len(SLEPT)}))))"""
    return bytes(wasmtime.wat2wasm(text))


def test_a_sleeping_guest_does_not_stall_others_and_meets_its_deadline(loop: asyncio.AbstractEventLoop,
                                                                      runtime: Runtime) -> None:
    sleeper = NativeExecutor(runtime, runtime.load(_poll_guest(3_000_000_000), "sleep.wasm"), host(),
                             Limits(timeout=0.5))
    ok = executor(loop, runtime, "")

    async def scenario() -> tuple[int, type[BaseException] | None]:
        await sleeper.check()
        task = asyncio.ensure_future(sleeper.handle(REQ))
        await asyncio.sleep(0.01)
        answered = (await ok.handle(REQ)).status  # while the other one sleeps
        done = not task.done()
        try:
            await task
        except BaseException as exc:
            return (answered if done else -1), type(exc)
        return answered, None

    answered, error = loop.run_until_complete(scenario())
    assert answered == 200
    assert error is not None and error.__name__ == "GuestTimeout"


def test_a_short_wasi_sleep_completes_with_its_event(loop: asyncio.AbstractEventLoop, runtime: Runtime) -> None:
    import time as _time

    sleeper = NativeExecutor(runtime, runtime.load(_poll_guest(30_000_000), "nap.wasm"), host(), Limits())
    loop.run_until_complete(sleeper.check())
    started = _time.monotonic()
    resp = loop.run_until_complete(sleeper.handle(REQ))
    assert resp.body == b"slept" and _time.monotonic() - started >= 0.03
