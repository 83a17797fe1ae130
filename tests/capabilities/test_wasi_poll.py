"""The ``poll_oneoff`` planner: how long to sleep and which events to report."""

from __future__ import annotations

import struct
import time

from wasm_server.capabilities.wasi_poll import ABSTIME, CLOCK, EINVAL, EVENT, FD_READ, FD_WRITE, SUBSCRIPTION, plan

_EVENT = struct.Struct("<QHB5xQH6x")


def clock(userdata: int, timeout_ns: int, *, clock_id: int = 1, flags: int = 0) -> bytes:
    raw = struct.pack("<QB7xIxxxxQQH", userdata, CLOCK, clock_id, timeout_ns, 0, flags)
    return raw.ljust(SUBSCRIPTION, b"\0")


def fd(userdata: int, tag: int, fd_num: int) -> bytes:
    return struct.pack("<QB7xI", userdata, tag, fd_num).ljust(SUBSCRIPTION, b"\0")


def events(raw: list[bytes]) -> list[tuple[int, int, int]]:
    """(userdata, errno, type) of each event."""
    assert all(len(e) == EVENT for e in raw)
    return [_EVENT.unpack(e)[:3] for e in raw]


def test_a_relative_clock_sleeps_its_timeout() -> None:
    wait, out = plan(clock(7, 250_000_000), 1)
    assert wait == 0.25 and events(out) == [(7, 0, CLOCK)]


def test_the_earliest_clock_wins_and_only_it_fires() -> None:
    subs = clock(1, 300_000_000) + clock(2, 100_000_000) + clock(3, 100_000_000)
    wait, out = plan(subs, 3)
    assert wait == 0.1 and events(out) == [(2, 0, CLOCK), (3, 0, CLOCK)]


def test_an_absolute_clock_in_the_past_is_due_now() -> None:
    wait, out = plan(clock(5, time.monotonic_ns() - 1_000_000, flags=ABSTIME), 1)
    assert wait == 0.0 and events(out) == [(5, 0, CLOCK)]


def test_an_absolute_realtime_clock_counts_from_now() -> None:
    wait, _ = plan(clock(5, time.time_ns() + 2_000_000_000, clock_id=0, flags=ABSTIME), 1)
    assert 1.5 < wait <= 2.0


def test_fd_subscriptions_are_ready_at_once_and_clocks_then_do_not_fire() -> None:
    subs = clock(1, 10**9) + fd(2, FD_READ, 0) + fd(3, FD_WRITE, 1)
    wait, out = plan(subs, 3)
    assert wait == 0.0 and events(out) == [(2, 0, FD_READ), (3, 0, FD_WRITE)]


def test_an_unknown_subscription_tag_is_einval() -> None:
    wait, out = plan(fd(9, 7, 0), 1)
    assert wait == 0.0 and events(out) == [(9, EINVAL, 7)]


def test_no_subscriptions_report_nothing() -> None:
    assert plan(b"", 0) == (0.0, [])
