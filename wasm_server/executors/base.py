"""The interface the server calls, whatever the guest ABI."""

from __future__ import annotations

from typing import Protocol

from ..abi_codec import GuestRequest, GuestResponse
from ..protocol.response import ResponseSink


class Executor(Protocol):
    """Runs HTTP requests against one component."""

    name: str

    async def check(self) -> None:
        """Instantiate once at load time and verify the module fits this ABI."""

    async def handle(self, request: GuestRequest, sink: ResponseSink | None = None) -> GuestResponse:
        """Run one request; raises GuestError / GuestTimeout / BadResponse on failure.

        ``sink`` is where a guest that streams its response sends it."""
