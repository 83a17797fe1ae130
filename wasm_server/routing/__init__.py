"""Routing: manifest route patterns → components, as pure functions."""

from __future__ import annotations

from .patterns import Pattern, compile_pattern
from .router import Match, MethodNotAllowed, Router, RouteSpec, normalize_host, routes_table

__all__ = [
    "Match",
    "MethodNotAllowed",
    "Pattern",
    "RouteSpec",
    "Router",
    "compile_pattern",
    "normalize_host",
    "routes_table",
]
