"""The one error hierarchy of wasm-server.

Every error a user can cause (a broken manifest, a module with the wrong ABI,
a port in use) is a :class:`WasmServerError`; the CLI prints its message and
exits with :attr:`WasmServerError.exit_code` instead of a traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    """The ABI error codes a host import returns to the guest (docs/abi.md, "Error codes").

    The one definition: capabilities, KV backends and executors all use these.
    The result slot then holds a UTF-8 message saying what went wrong."""

    NOT_FOUND = -1
    DENIED = -2
    TOO_LARGE = -3
    INVALID = -4
    IO = -5
    TIMEOUT = -6


class WasmServerError(Exception):
    """Base of every error wasm-server raises on purpose."""

    exit_code = 1


class ConfigError(WasmServerError):
    """The manifest or the runtime configuration is invalid."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None) -> None:
        self.file = file
        self.field = field
        where = ": ".join(p for p in (file, field) if p)
        super().__init__(f"{where}: {message}" if where else message)


class LoadError(WasmServerError):
    """A component's module could not be loaded (not wasm, wrong ABI version …)."""

    exit_code = 2


class BuildError(WasmServerError):
    """A component's build command failed."""

    exit_code = 3


class GuestError(WasmServerError):
    """The guest trapped, ran out of memory, or returned something unusable."""


class GuestTimeout(GuestError):
    """The guest ran past its deadline and was stopped."""


class Overloaded(WasmServerError):
    """No instance slot is free (the pooling allocator is exhausted): try again later."""


class BadEncoding(GuestError):
    """Bytes the guest passed in an ABI encoding (docs/abi.md) did not decode."""


class BadResponse(BadEncoding):
    """The guest's response did not decode."""


class BadOutboundRequest(BadEncoding):
    """The request a guest passed to ``http_send`` did not decode."""


class CapabilityError(WasmServerError):
    """A host call failed with an error code the guest sees (see docs/abi.md)."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        self.code = code
        super().__init__(message)
