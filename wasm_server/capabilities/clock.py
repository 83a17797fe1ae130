"""Time: ``sleep_ms`` suspends the guest while the server serves others."""

from __future__ import annotations

import asyncio

from ..engine import HostImport, HostResult
from ..errors import ErrorCode
from .call import GuestCall

MAX_SLEEP_MS = 24 * 3600 * 1000


async def _sleep(ms: int) -> int:
    await asyncio.sleep(ms / 1000)
    return 0


def sleep_ms(state: GuestCall, ms: int) -> HostResult:
    """Suspend the guest for ``ms`` milliseconds; the request's deadline still applies."""
    if ms < 0 or ms > MAX_SLEEP_MS:
        state.result = f"sleep of {ms} ms is out of range".encode()
        return ErrorCode.INVALID
    return _sleep(ms)


IMPORTS = [HostImport("sleep_ms", "i", "i", sleep_ms, is_async=True)]
