"""The response seam between the HTTP edge and what produces a response."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class ResponseSink(Protocol):
    """Where a streamed response goes: its head once, then body chunks."""

    started: bool

    def start(self, status: int, headers: Sequence[tuple[bytes, bytes]]) -> bool:
        """Send the status and headers now; False if the response already started."""

    async def write(self, data: bytes) -> bool:
        """Send one body chunk, waiting while the client is slow; False once it has gone."""
