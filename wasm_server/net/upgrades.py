""":class:`NoUpgrades`, the mixin of services that speak only HTTP.

Apart from net/http.py (which re-exports it) because net/http.py is compiled with mypyc
(wasm_server.COMPILED), and Python classes cannot inherit from compiled ones: the admin API,
the HTTPS redirect and the tests' services subclass this mixin.
"""

from __future__ import annotations

import asyncio

from ..protocol.http1 import Request
from ..protocol.response import Response, Upgraded, error


class NoUpgrades:
    """Mixin for services that speak only HTTP."""

    async def upgrade(self, request: Request, client: str, transport: asyncio.Transport) -> Response | Upgraded:
        """Refuse every protocol upgrade."""
        return error(501, "protocol upgrades are not supported here", close=True)
