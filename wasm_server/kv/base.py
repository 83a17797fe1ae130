"""The async KV ``Store`` protocol, its errors and configuration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import CapabilityError

DENIED = -2
TOO_LARGE = -3
INVALID = -4
IO = -5

DEFAULT_MAX_VALUE = 1024 * 1024


class KVError(CapabilityError):
    """A KV failure with the ABI error code the guest sees (docs/abi.md)."""


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """One labelled store: its backend and limits."""

    label: str
    type: str = "sqlite"  # "sqlite" | "memory"
    path: Path | None = None
    max_value_size: int = DEFAULT_MAX_VALUE


class Store(Protocol):
    """What every backend implements. Keys and values are bytes; keys sort byte-wise.

    A backend whose coroutines never suspend sets ``eager = True`` so the
    host can run them inline (see capabilities/kv.py).
    """

    eager: bool

    async def get(self, key: bytes) -> bytes | None:
        """The value, or None if absent."""

    async def set(self, key: bytes, value: bytes) -> None:
        """Store a value (durable when this returns)."""

    async def delete(self, key: bytes) -> None:
        """Remove a key; absent keys are fine."""

    async def exists(self, key: bytes) -> bool:
        """Whether the key is present."""

    async def keys(self, prefix: bytes) -> list[bytes]:
        """Keys starting with ``prefix``, ascending."""

    async def incr(self, key: bytes, delta: int) -> int:
        """Atomically add ``delta`` to a decimal counter (absent = 0); the new value."""

    async def close(self) -> None:
        """Release resources."""


def check_value(config: StoreConfig, value: bytes) -> None:
    """Raise TOO_LARGE if ``value`` is over the store's limit."""
    if len(value) > config.max_value_size:
        raise KVError(
            TOO_LARGE,
            f"value is {len(value)} bytes; the limit of store '{config.label}' is {config.max_value_size}",
        )


def parse_counter(label: str, key: bytes, raw: bytes | None) -> int:
    """The integer in a counter value; INVALID if it is not a decimal integer."""
    if raw is None:
        return 0
    try:
        return int(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise KVError(INVALID, f"value of key {key[:64]!r} in store '{label}' is not an integer") from None


I64_MIN, I64_MAX = -(2**63), 2**63 - 1


def check_i64(label: str, value: int) -> int:
    """Counters are i64 in the ABI; refuse to overflow."""
    if not I64_MIN <= value <= I64_MAX:
        raise KVError(INVALID, f"counter in store '{label}' would overflow a signed 64-bit integer")
    return value


def prefix_end(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``prefix``
    (None when there is none, i.e. the prefix is all 0xff)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])
