"""The studio's workspace: the services in one directory, and the only way to their files.

A service is the workspace directory itself when it holds a ``wasm-server.toml`` (id
``.``) and each direct subdirectory that holds one (id = its name). Every file path the
browser sends goes through :meth:`Workspace.path`, which refuses what could reach outside
the service or into what a build writes: absolute paths, ``..``, hidden names, build
directories (``target/``, ``node_modules/``, ``.wasm-server/``), and symlinks whose target
lies outside the service.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import WasmServerError
from ..manifest import MANIFEST_NAME

#: a file of the template marks the service's language (first match wins)
LANGUAGE_MARKERS = (("main.c", "c"), ("main.cpp", "cpp"), ("Cargo.toml", "rust"), ("go.mod", "go"),
                    ("asconfig.json", "ts"), ("app.py", "python"), ("app.js", "js"))
#: directories that builds write (or package managers fill): never listed, read or written
BUILD_DIRS = frozenset({"target", "node_modules", ".wasm-server", "__pycache__"})
#: the largest file the editor reads or writes
MAX_FILE = 1024 * 1024
#: listing stops here (a service is sources, not a data set)
MAX_FILES = 5000
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class StudioError(WasmServerError):
    """A request the studio refuses: ``status`` is the HTTP status, the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Service:
    """One service of the workspace."""

    id: str
    name: str
    language: str | None
    path: Path

    @property
    def manifest(self) -> Path:
        """Its ``wasm-server.toml``."""
        return self.path / MANIFEST_NAME

    def describe(self) -> dict[str, str | None]:
        """``{id, name, language}`` as the API shows it."""
        return {"id": self.id, "name": self.name, "language": self.language}


def language_of(path: Path) -> str | None:
    """The template language of the service at ``path`` (None if no marker file is there)."""
    return next((lang for marker, lang in LANGUAGE_MARKERS if (path / marker).is_file()), None)


def _app_name(path: Path, fallback: str) -> str:
    """The manifest's ``[app] name`` if it says one (read without validating the rest)."""
    import tomllib

    try:
        app = tomllib.loads((path / MANIFEST_NAME).read_text()).get("app", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return fallback
    name = app.get("name") if isinstance(app, dict) else None
    return name if isinstance(name, str) and name else fallback


def check_relative(rel: str) -> PurePosixPath:
    """``rel`` as a relative posix path inside a service, or StudioError(400) saying why not."""
    if not rel or "\x00" in rel or "\\" in rel:
        raise StudioError(400, f"path {rel!r}: give a relative path with '/' separators")
    p = PurePosixPath(rel)
    if p.is_absolute() or rel.startswith("~"):
        raise StudioError(400, f"path {rel!r}: absolute paths are refused (give a path inside the service)")
    if ".." in p.parts:
        raise StudioError(400, f"path {rel!r}: '..' is refused (give a path inside the service)")
    for part in p.parts:
        if part in BUILD_DIRS:
            raise StudioError(400, f"path {rel!r}: {part}/ holds build output, not sources")
        if part.startswith("."):
            raise StudioError(400, f"path {rel!r}: hidden files and directories are not served")
    return p


class Workspace:
    """The services under ``root`` and safe access to their files."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()

    def services(self) -> list[Service]:
        """Every service, the workspace itself first, then subdirectories by name."""
        found = []
        if (self.root / MANIFEST_NAME).is_file():
            found.append(self._service(".", self.root))
        for sub in sorted(self.root.iterdir()):
            if sub.is_dir() and not sub.is_symlink() and _ID_RE.match(sub.name) and (sub / MANIFEST_NAME).is_file():
                found.append(self._service(sub.name, sub))
        return found

    def _service(self, id_: str, path: Path) -> Service:
        return Service(id_, _app_name(path, path.name or "app"), language_of(path), path)

    def service(self, id_: str | None) -> Service:
        """The service ``id_``; 400 when missing or malformed, 404 when there is none."""
        if not id_:
            raise StudioError(400, "missing ?service=ID (see GET /api/services)")
        if id_ == ".":
            path = self.root
        elif _ID_RE.match(id_) and id_ not in ("..",):
            path = self.root / id_
            if path.is_symlink():
                raise StudioError(404, f"no service {id_!r} (a symlink is not a service)")
        else:
            raise StudioError(400, f"{id_!r} is not a service id")
        if not (path / MANIFEST_NAME).is_file():
            raise StudioError(404, f"no service {id_!r} in {self.root} (no {MANIFEST_NAME} there)")
        return self._service(id_, path)

    def create(self, language: str, name: str) -> Service:
        """A new service from the template of ``language`` (as ``wasm-server new``)."""
        from ..cli.new import create
        from ..errors import ConfigError

        if (self.root / name).exists():
            raise StudioError(409, f"{name!r} already exists in the workspace")
        try:
            create(language, name, self.root)
        except ConfigError as exc:
            raise StudioError(400, str(exc)) from None
        return self.service(name)

    def path(self, service: Service, rel: str | None) -> Path:
        """The file ``rel`` of ``service``, refused (400/403) if it could leave the service."""
        if rel is None:
            raise StudioError(400, "missing ?path=P")
        checked = check_relative(rel)
        base = service.path.resolve()
        target = base.joinpath(*checked.parts)
        # resolve() follows every symlink on the way, the file's own included
        real = target.resolve()
        if not real.is_relative_to(base):
            raise StudioError(403, f"path {rel!r} leads outside the service (a symlink?)")
        if real != target and check_inside(base, real) is None:
            raise StudioError(403, f"path {rel!r} is a link to build output or a hidden file")
        return target

    def files(self, service: Service) -> list[dict[str, object]]:
        """``[{path, size}]`` of the service's sources, sorted: no hidden names, build
        directories, ``*.wasm`` or files linked from outside; for the workspace's own service
        (``.``), not the other services' directories (they are listed as services)."""
        base = service.path.resolve()
        out: list[dict[str, object]] = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in BUILD_DIRS
                                 and not _links_out(Path(dirpath) / d, base)
                                 and not (service.id == "." and dirpath == str(base)
                                          and (base / d / MANIFEST_NAME).is_file()))
            for name in filenames:
                full = Path(dirpath) / name
                if name.startswith(".") or name.endswith(".wasm") or _links_out(full, base):
                    continue
                try:
                    st = full.stat()
                except OSError:
                    continue
                if not full.is_file():
                    continue  # FIFOs, sockets, devices
                out.append({"path": full.relative_to(base).as_posix(), "size": st.st_size})
                if len(out) >= MAX_FILES:
                    break
        return sorted(out, key=lambda f: str(f["path"]))

    def read(self, service: Service, rel: str | None) -> str:
        """The text of a file; 404 missing, 413 over 1 MiB, 415 binary."""
        path = self.path(service, rel)
        if not path.is_file():
            raise StudioError(404, f"no file {rel!r} in service {service.id!r}")
        if path.stat().st_size > MAX_FILE:
            raise StudioError(413, f"{rel!r} is over {MAX_FILE // 1024} KiB: the studio edits source files only")
        data = path.read_bytes()
        try:
            if b"\x00" in data:
                raise UnicodeDecodeError("utf-8", data, 0, 1, "NUL byte")
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise StudioError(415, f"{rel!r} is not UTF-8 text") from None

    def write(self, service: Service, rel: str | None, data: bytes) -> None:
        """Replace (or create, with its directories) a text file of the service."""
        if len(data) > MAX_FILE:
            raise StudioError(413, f"a file may hold at most {MAX_FILE // 1024} KiB")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise StudioError(415, "the body must be UTF-8 text") from None
        path = self.path(service, rel)
        if path.is_dir():
            raise StudioError(409, f"{rel!r} is a directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        # the directories made may not be links out: check the result again before writing
        self.path(service, rel)
        tmp = path.with_name(f".{path.name}.studio-tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # an editor or a build never sees half a file

    def delete(self, service: Service, rel: str | None) -> None:
        """Remove one file of the service (not a directory)."""
        path = self.path(service, rel)
        if path.is_dir() and not path.is_symlink():
            raise StudioError(409, f"{rel!r} is a directory: delete its files")
        if not path.exists() and not path.is_symlink():
            raise StudioError(404, f"no file {rel!r} in service {service.id!r}")
        path.unlink()


def check_inside(base: Path, real: Path) -> PurePosixPath | None:
    """``real`` relative to ``base`` if it is a path the studio may touch, else None."""
    try:
        return check_relative(real.relative_to(base).as_posix())
    except (ValueError, StudioError):
        return None


def _links_out(path: Path, base: Path) -> bool:
    """A symlink whose target is outside ``base`` (listed nowhere: it could expose any file)."""
    return path.is_symlink() and not path.resolve().is_relative_to(base)
