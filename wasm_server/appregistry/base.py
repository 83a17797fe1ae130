"""What every registry backend stores: app records (newest version wins) and blobs by digest."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import WasmServerError


class ClusterError(WasmServerError):
    """The cluster registry could not be reached or answered something unusable."""


class RegistryUnavailable(ClusterError):
    """The registry's database did not answer (down, cut off, timed out): try again later."""


@dataclass(frozen=True, slots=True)
class Record:
    """One app's newest deployment, or a tombstone (``deleted``) after an undeploy."""

    name: str
    version: int
    manifest: str = ""
    #: relative path -> sha256 of the file's bytes (the blob's key)
    files: dict[str, str] = field(default_factory=dict)
    deleted: bool = False
    published_at: float = 0.0
    #: the node that published it (``host:pid``)
    by: str = ""

    def to_json(self) -> str:
        """The stored form (the keys the Redis registry has always used)."""
        body: dict[str, object] = {"name": self.name, "version": self.version}
        if self.deleted:
            body["deleted"] = True
        else:
            body.update(manifest=self.manifest, files=self.files)
        body.update(published_at=self.published_at, by=self.by)
        return json.dumps(body)

    @classmethod
    def from_json(cls, text: str | bytes) -> Record:
        """Parse the stored form; a record that is not one raises ClusterError."""
        try:
            raw = json.loads(text)
            return cls(name=str(raw["name"]), version=int(raw["version"]), manifest=str(raw.get("manifest", "")),
                       files={str(k): str(v) for k, v in raw.get("files", {}).items()},
                       deleted=bool(raw.get("deleted", False)), published_at=float(raw.get("published_at", 0)),
                       by=str(raw.get("by", "")))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ClusterError(f"a registry record is damaged: {exc!r}") from None


class Registry(Protocol):
    """A shared store of records and blobs. Every method raises RegistryUnavailable when the
    database cannot be reached; nothing else is expected from a healthy one."""

    #: what it is, for messages: "Redis", "Cassandra"
    kind: str

    def describe(self) -> str:
        """Where it is, for the start-up line (no secrets)."""

    async def open(self) -> None:
        """Connect (and create the schema if this backend keeps one); idempotent."""

    async def new_version(self, name: str) -> int:
        """A version for a new record of ``name``, higher than any this registry has for it."""

    async def put_blob(self, digest: str, data: bytes) -> None:
        """Store ``data`` under its sha256 ``digest`` (a no-op when it is there)."""

    async def get_blob(self, digest: str) -> bytes | None:
        """The bytes stored under ``digest``, or None when (not yet) there."""

    async def put_record(self, record: Record) -> None:
        """Store ``record``, unless the registry already has a higher version of its app."""

    async def records(self) -> list[Record]:
        """The newest record of every app."""

    async def follow(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` when another node published (runs until cancelled); a backend
        without notifications returns at once and the once-a-second poll does the work."""

    async def close(self) -> None:
        """Close the connections."""
