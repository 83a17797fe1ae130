"""Sizes and durations as written in manifests and runtime configs: ``"64MiB"``, ``"500ms"``.

Its own module so that manifest.py and config.py both use it without importing each other.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import ConfigError

__all__ = ["parse_duration", "parse_size"]

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kib|mib|gib|kb|mb|gb)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kib": 1024, "kb": 1000, "mib": 1024**2, "mb": 1000**2, "gib": 1024**3, "gb": 1000**3}
_TIME_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_TIME_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_size(value: Any, *, file: str, field: str) -> int:
    """``67108864``, ``"64MiB"``, ``"512 KiB"`` → bytes."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    m = _SIZE_RE.match(value) if isinstance(value, str) else None
    if not m:
        raise ConfigError(f"expected a size like \"64MiB\" or a byte count, got {value!r}", file=file, field=field)
    n = int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()])
    if n <= 0:
        raise ConfigError("must be positive", file=file, field=field)
    return n


def parse_duration(value: Any, *, file: str, field: str) -> float:
    """``10``, ``"10s"``, ``"500ms"``, ``"2m"`` → seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    m = _TIME_RE.match(value) if isinstance(value, str) else None
    if not m or float(m.group(1)) <= 0:
        raise ConfigError(f"expected a duration like \"10s\" or \"500ms\", got {value!r}", file=file, field=field)
    return float(m.group(1)) * _TIME_UNITS[m.group(2) or "s"]
