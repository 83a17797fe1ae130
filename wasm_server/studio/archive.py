"""Export a service as a .zip, import one as a new service.

An export holds what :meth:`Workspace.files` lists (sources and the manifest; no
build output, no hidden files). An import trusts nothing in the archive: every name
passes the workspace's path rules (no absolute paths, no ``..``, no hidden or build
directories), symlinks and special files are refused, and the entry count and the
unpacked size are capped (a small zip can inflate enormously). It unpacks into a
temporary directory and appears under its name only when complete.
"""

from __future__ import annotations

import io
import re
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

from ..manifest import MANIFEST_NAME
from .workspace import MAX_FILE, Service, StudioError, Workspace, check_relative

MAX_ENTRIES = 2000
MAX_UNPACKED = 64 * 1024 * 1024
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


def export(workspace: Workspace, service: Service) -> bytes:
    """The service's sources and manifest as a zip (names relative to the service)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in workspace.files(service):
            rel = str(f["path"])
            zf.write(workspace.path(service, rel), rel)
    return out.getvalue()


def _entries(zf: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, str]]:
    """The files to unpack with their names, the archive's single top folder stripped
    (an archive of a folder has one); StudioError(400) on anything unsafe."""
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise StudioError(400, f"the archive has {len(infos)} entries (at most {MAX_ENTRIES})")
    total = 0
    files = []
    for info in infos:
        kind = stat.S_IFMT(info.external_attr >> 16)  # zero when the archiver did not say
        if kind == stat.S_IFLNK:
            raise StudioError(400, f"the archive holds a symlink ({info.filename!r}): refused")
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise StudioError(400, f"the archive holds a special file ({info.filename!r}): refused")
        if info.filename.startswith("/") or "\\" in info.filename:
            raise StudioError(400, f"the archive holds an absolute or Windows path ({info.filename!r}): refused")
        if info.is_dir():
            continue
        total += info.file_size
        if info.file_size > MAX_FILE * 8 or total > MAX_UNPACKED:
            raise StudioError(400, f"the archive unpacks to more than {MAX_UNPACKED // (1024 * 1024)} MiB "
                                   "(or holds a file over 8 MiB): refused")
        files.append(info)
    names = [i.filename for i in files]
    tops = {n.split("/", 1)[0] for n in names}
    strip = ""
    if MANIFEST_NAME not in names and len(tops) == 1 and all("/" in n for n in names):
        strip = next(iter(tops)) + "/"
    out = []
    for info in files:
        rel = info.filename.removeprefix(strip)
        try:
            check_relative(rel)
        except StudioError as exc:
            raise StudioError(400, f"the archive holds an unsafe name: {exc}") from None
        out.append((info, rel))
    if not any(rel == MANIFEST_NAME for _, rel in out):
        raise StudioError(400, f"the archive has no {MANIFEST_NAME} at its top: it is not a service")
    return out


def import_zip(workspace: Workspace, name: str, data: bytes) -> Service:
    """Unpack ``data`` as the new service ``name``; 400 for a bad or unsafe zip, 409 if it exists."""
    if not _NAME.match(name):
        raise StudioError(400, f"{name!r} is not a valid name: use lower-case letters, digits and '-'")
    target = workspace.root / name
    if target.exists() or target.is_symlink():
        raise StudioError(409, f"{name!r} already exists in the workspace")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise StudioError(400, f"not a zip archive: {exc}") from None
    with zf:
        entries = _entries(zf)
        tmp = Path(tempfile.mkdtemp(prefix=f".import-{name}-", dir=workspace.root))
        try:
            for info, rel in entries:
                dest = tmp / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(dest, "wb") as out:
                    # read no more than the header claims: a lying header cannot inflate past the cap
                    out.write(src.read(info.file_size + 1)[: info.file_size])
            tmp.rename(target)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise StudioError(400, f"cannot unpack the archive: {exc}") from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return workspace.service(name)
