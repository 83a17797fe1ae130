"""The async KV ``Store`` protocol, its errors, its configuration and the checks every backend shares."""

from __future__ import annotations

import asyncio
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import urlsplit

from ..errors import CapabilityError, ConfigError, ErrorCode

DEFAULT_MAX_VALUE = 1024 * 1024
DEFAULT_TIMEOUT = 2.0  # seconds, redis and cassandra stores
BACKENDS = ("sqlite", "memory", "redis", "cassandra")
CONSISTENCY_LEVELS = ("ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_ONE", "LOCAL_QUORUM", "EACH_QUORUM")
DEFAULT_KEYSPACE = "wasm_server"
#: Cassandra refuses a mutation larger than half its commit log segment (32 MiB by default)
CASSANDRA_MAX_VALUE = 16 * 1024 * 1024
I64_MIN, I64_MAX = -(2**63), 2**63 - 1

# Strict on purpose: int() would also take " 42", "4_2" and non-ASCII digits,
# which other backends (and SDKs reading the counter back) would not.
_DECIMAL = re.compile(rb"[+-]?[0-9]+")
_MAX_DIGITS = 20  # sign + 19 digits hold any i64; longer strings are out of range without parsing them


class KVError(CapabilityError):
    """A KV failure carrying the ABI error code the guest sees (``code``) and a message."""


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """One labelled store: which backend holds it, where, and its limits.

    ``path`` is the SQLite file (relative paths are under the data directory;
    None means ``<data_dir>/kv.sqlite3``). ``synchronous = "full"`` makes every
    write survive a power loss too, at the price of an fsync per write (see
    kv/sqlite.py); stores sharing a file share the strictest setting.
    """

    label: str
    type: Literal["sqlite", "memory", "redis", "cassandra"] = "sqlite"
    path: Path | None = None
    max_value_size: int = DEFAULT_MAX_VALUE
    synchronous: Literal["normal", "full"] = "normal"
    #: redis only: the server (``redis://[:PASSWORD@]HOST:PORT/DB``); keys live under
    #: ``<prefix><label>:`` (None: ``wasm-server:kv:``); seconds a call may take (connect,
    #: reply, or waiting for a pooled connection) before the guest gets TIMEOUT or IO
    url: str | None = None
    prefix: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    #: cassandra only (kv/cassandra.py): contact points ``"HOST[:PORT]"`` (port 9042 if left
    #: out), the datacenter whose nodes serve this process (None: the first contact point's),
    #: the keyspace (created if absent with ``replication``: datacenter -> replicas, or
    #: SimpleStrategy with one replica when empty) and the consistency level of reads and
    #: writes; increments use LOCAL_SERIAL (SERIAL when the level is not a LOCAL_ one).
    #: ``prefix`` then names the store in the table: ``<prefix><label>``.
    hosts: tuple[str, ...] = ()
    local_dc: str | None = None
    keyspace: str = DEFAULT_KEYSPACE
    replication: tuple[tuple[str, int], ...] = ()
    consistency: str = "LOCAL_QUORUM"

    def __post_init__(self) -> None:
        where = f"key_value_store.{self.label}"
        if not self.label:
            raise ConfigError("a store label must not be empty", field="key_value_store")
        if self.type not in BACKENDS:
            raise ConfigError(f"unknown type '{self.type}' (choose {', '.join(BACKENDS)})", field=f"{where}.type")
        if self.max_value_size <= 0:
            raise ConfigError(f"must be positive, got {self.max_value_size}", field=f"{where}.max_value_size")
        if self.synchronous not in ("normal", "full"):
            raise ConfigError(f"choose normal or full, got '{self.synchronous}'", field=f"{where}.synchronous")
        if self.type == "redis":
            _check_redis_url(self.url, f"{where}.url")
        if not (self.timeout > 0 and math.isfinite(self.timeout)):
            raise ConfigError(f"must be a positive number of seconds, got {self.timeout}", field=f"{where}.timeout")
        if self.type == "cassandra":
            _check_cassandra(self, where)


_KEYSPACE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,47}")
_DC = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _check_cassandra(cfg: StoreConfig, where: str) -> None:
    if not cfg.hosts:
        raise ConfigError('a cassandra store needs hosts = ["HOST:PORT", ...] (its contact points); none given',
                          field=f"{where}.hosts")
    for host in cfg.hosts:
        split_host(host, f"{where}.hosts")
    if not _KEYSPACE.fullmatch(cfg.keyspace):
        raise ConfigError(f"'{cfg.keyspace}' is not a keyspace name (a letter, then letters, digits or _; "
                          "48 at most)", field=f"{where}.keyspace")
    if cfg.consistency not in CONSISTENCY_LEVELS:
        raise ConfigError(f"unknown level '{cfg.consistency}' (choose {', '.join(CONSISTENCY_LEVELS)})",
                          field=f"{where}.consistency")
    for dc, replicas in cfg.replication:
        if not _DC.fullmatch(dc):
            raise ConfigError(f"'{dc}' is not a datacenter name (letters, digits, _ . -)", field=f"{where}.replication")
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
            raise ConfigError(f"datacenter '{dc}' needs a positive number of replicas, got {replicas!r}",
                              field=f"{where}.replication")
    if cfg.local_dc is not None and not _DC.fullmatch(cfg.local_dc):
        raise ConfigError(f"'{cfg.local_dc}' is not a datacenter name (letters, digits, _ . -)",
                          field=f"{where}.local_dc")
    if cfg.max_value_size > CASSANDRA_MAX_VALUE:
        raise ConfigError(f"{cfg.max_value_size} is over what Cassandra takes in one write by default "
                          f"({CASSANDRA_MAX_VALUE}: half its commitlog_segment_size)", field=f"{where}.max_value_size")


def split_host(host: str, field: str = "hosts") -> tuple[str, int]:
    """``"HOST"``, ``"HOST:PORT"`` or ``"[IPv6]:PORT"`` as (host, port); port 9042 when left out."""
    usage = f'a contact point is "HOST" or "HOST:PORT" (IPv6: "[ADDR]:PORT"), got {host!r}'
    name, port = host, "9042"
    if host.startswith("["):
        name, sep, rest = host[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ConfigError(usage, field=field)
        port = rest[1:] or port
    elif host.count(":") == 1:
        name, port = host.split(":")
    if not name or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(usage, field=field)
    return name, int(port)


def _check_redis_url(url: str | None, field: str) -> None:
    # the URL may carry a password: messages show its scheme at most, never the URL
    usage = 'a redis store needs url = "redis://HOST:PORT/DB" (or rediss://, unix://PATH)'
    if not url:
        raise ConfigError(f"{usage}; none given", field=field)
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"{usage}; got scheme '{parts.scheme}'", field=field)
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"{usage}; the port is not a number from 0 to 65535", field=field) from None
    if parts.scheme != "unix" and not parts.hostname and port is None:
        raise ConfigError(f"{usage}; no host given", field=field)
    if parts.scheme == "unix" and not parts.path:
        raise ConfigError(f"{usage}; no socket path given", field=field)
    db = parts.path.strip("/")
    if parts.scheme != "unix" and db and not db.isdigit():
        raise ConfigError(f"{usage}; the database must be a number, got '{db}'", field=field)


class Store(Protocol):
    """What every backend implements: bytes keys (sorted byte-wise) to bytes values.

    Errors are :class:`KVError` with an ABI code. A backend whose coroutines
    usually finish without suspending sets ``eager = True`` so the host steps
    them inline, without a trip through the event loop, and hands them to a
    task only when they do suspend (see capabilities/kv.py).
    """

    eager: bool

    async def get(self, key: bytes) -> bytes | None:
        """The value of ``key``, or None if absent."""

    async def set(self, key: bytes, value: bytes) -> None:
        """Store ``value`` under ``key``; committed when this returns. TOO_LARGE over the limit."""

    async def delete(self, key: bytes) -> None:
        """Remove ``key``; removing an absent key is not an error."""

    async def exists(self, key: bytes) -> bool:
        """Whether ``key`` is present."""

    async def keys(self, prefix: bytes) -> list[bytes]:
        """Every key starting with ``prefix`` (byte-wise, no wildcards), ascending."""

    async def incr(self, key: bytes, delta: int) -> int:
        """Atomically add ``delta`` to the decimal counter at ``key`` (absent = 0); the new value.

        INVALID if the stored value is not a decimal integer or the result
        leaves the signed 64-bit range; the value is then unchanged.
        """

    async def close(self) -> None:
        """Release the backend's resources."""

    def deferred(self) -> Store:
        """The same store, but writes return once done and *before* they are committed.

        Whoever uses it must wait for :meth:`commit_waiter` before telling anyone
        a write succeeded (the host does, for guests: docs/architecture.md).
        Backends that commit every write before returning give themselves.
        """

    def commit_waiter(self, held: asyncio.Future[None] | None = None) -> asyncio.Future[None] | None:
        """What a caller already waiting for ``held`` must wait for now that it used the deferred view:
        a future done when ``held`` and this store's pending writes are committed (``held`` if nothing is pending)."""


def check_value(config: StoreConfig, value: bytes) -> None:
    """Raise TOO_LARGE if ``value`` is over the store's limit."""
    if len(value) > config.max_value_size:
        raise KVError(
            ErrorCode.TOO_LARGE,
            f"value is {len(value)} bytes; the limit of store '{config.label}' is {config.max_value_size}",
        )


def check_delta(label: str, delta: int) -> None:
    """Deltas are i64 in the ABI; refuse others before touching the store."""
    if not I64_MIN <= delta <= I64_MAX:
        raise KVError(ErrorCode.INVALID, f"increment {delta} for store '{label}' is not a signed 64-bit integer")


def add_to_counter(label: str, key: bytes, raw: bytes | None, delta: int) -> int:
    """``raw`` (a decimal counter, None = 0) plus ``delta``; INVALID if not a counter or out of range."""
    if raw is not None and not _DECIMAL.fullmatch(raw):
        raise KVError(ErrorCode.INVALID, f"value of key {key[:64]!r} in store '{label}' is not a decimal integer")
    value = delta if raw is None else int(raw) + delta if len(raw) <= _MAX_DIGITS else None
    if value is None or not I64_MIN <= value <= I64_MAX:
        raise KVError(ErrorCode.INVALID, f"counter {key[:64]!r} in store '{label}' would leave the signed 64-bit range")
    return value


def prefix_end(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``prefix``.

    None when there is none: the prefix is empty or all 0xff, so the range has no upper bound.
    """
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])
