"""The Go SDK served to ``go`` as a module from a local proxy directory.

A service's go.mod says ``require github.com/wasm-server/wasm-server/sdk/go vX.Y.Z-sdk-HASH``
and nothing else about the SDK: no ``replace`` to a path that breaks when the service or
the installation moves. ``go-build`` puts the module in ``<cache>/wasm-server/goproxy``
(the layout of a GOPROXY: ``@v/VERSION.{info,mod,zip}``, see
https://go.dev/ref/mod#goproxy-protocol) and puts that directory first in GOPROXY, so
``go`` fetches the SDK from it and everything else from the user's own proxy.

The version carries a hash of the SDK's files: a module version must never change content
(``go`` caches it for good and go.sum pins its hash), and a checkout's SDK changes without a
new package version.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile
from pathlib import Path

from .. import __version__
from ..cachedir import wasm_server_cache
from .sdk import sdk_dir

MODULE = "github.com/wasm-server/wasm-server/sdk/go"
#: what a Go module zip of the SDK holds: what `go` reads (not the README, test binaries, editor files …)
_SUFFIXES = (".go", ".s", ".mod", ".sum")
#: a fixed time in the .info file and the zip: the same SDK gives the same bytes
_EPOCH = "2024-01-01T00:00:00Z"


def cache_root() -> Path:
    """Where the proxy directory lives (the user's wasm-server cache)."""
    return wasm_server_cache()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in _SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def version() -> str:
    """``v<package X.Y.Z>-sdk-<12 hex>``: a semantic version that names this SDK's content."""
    root = sdk_dir("go")
    digest = hashlib.sha256()
    for path in _files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    numbers = re.match(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?", __version__)
    major, minor, patch = (n or "0" for n in numbers.groups()) if numbers else ("0", "0", "0")
    return f"v{major}.{minor}.{patch}-sdk-{digest.hexdigest()[:12]}"


def _zip(root: Path, prefix: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in _files(root):
            info = zipfile.ZipInfo(f"{prefix}/{path.relative_to(root).as_posix()}", date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return buf.getvalue()


def _write(path: Path, data: bytes) -> None:
    """Atomically: builds running side by side must never read half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def publish(proxy: Path | None = None) -> tuple[Path, str]:
    """Put the SDK module into the proxy directory (once per version); ``(proxy dir, version)``."""
    proxy = proxy or cache_root() / "goproxy"
    ver = version()
    versions = proxy / MODULE / "@v"
    if not (versions / f"{ver}.zip").exists():
        versions.mkdir(parents=True, exist_ok=True)
        root = sdk_dir("go")
        _write(versions / f"{ver}.mod", (root / "go.mod").read_bytes())
        _write(versions / f"{ver}.info", f'{{"Version":"{ver}","Time":"{_EPOCH}"}}\n'.encode())
        _write(versions / f"{ver}.zip", _zip(root, f"{MODULE}@{ver}"))  # last: its presence means done
        listed = (versions / "list").read_text().split() if (versions / "list").exists() else []
        _write(versions / "list", "".join(f"{v}\n" for v in sorted({*listed, ver})).encode())
    return proxy, ver


def goproxy(proxy: Path, user_proxy: str) -> str:
    """GOPROXY with the SDK's directory first, then whatever the user has (default: proxy.golang.org)."""
    rest = user_proxy.strip() or "https://proxy.golang.org,direct"
    return f"{proxy.resolve().as_uri()},{rest}"


def nosumdb(user_nosumdb: str) -> str:
    """GONOSUMDB plus the SDK: sum.golang.org has never seen it (its hash is pinned in go.sum)."""
    patterns = [p for p in user_nosumdb.split(",") if p]
    return ",".join([*patterns, MODULE]) if MODULE not in patterns else user_nosumdb
