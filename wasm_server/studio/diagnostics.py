"""Compiler output → diagnostics on a file and line of the service.

The toolchains the studio runs print their errors in a few shapes; each parser
below names the tool and the shape it reads (the tests hold real output of each):

* clang / zig (C, C++): ``main.c:12:5: error: message``
* rustc (through cargo): ``error[E0425]: message`` then ``  --> src/main.rs:10:5``
* go: ``./main.go:12:5: message``
* AssemblyScript: ``ERROR TS2304: message`` then, a few lines on, ``assembly/index.ts(12,3)``
* Python: ``wasm-server python``'s syntax check ``... in /path/app.py:10:37: message``, and a
  traceback's ``File "app.py", line 3`` with its last line (an error while componentize-py
  imports the app)
* JavaScript: ``wasm-server js``'s syntax check (node): ``/path/app.js:8``, the source line,
  a caret under the column, then ``SyntaxError: message``; and ``app.js:3:5`` in a message
  (componentize-js)

File names are made relative to the service directory (posix); a diagnostic on a file
outside the service (an SDK header, the standard library) is dropped: the editor can
only mark the service's own files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_SEVERITIES = {"error": "error", "fatal error": "error", "warning": "warning", "note": "note",
               "ERROR": "error", "WARNING": "warning", "INFO": "note"}
#: clang/zig and go: ``file:line[:col]: [severity: ]message``; the file has an extension
_GCC = re.compile(r"^(?P<file>[^\s:()'\"][^:()'\"]*\.[A-Za-z0-9]+):(?P<line>\d+):(?:(?P<col>\d+):)?\s"
                  r"(?:(?P<sev>fatal error|error|warning|note):\s)?(?P<msg>.*)$")
#: rustc's header line; its location follows on a ``-->`` line
_RUST_HEAD = re.compile(r"^(?P<sev>error|warning)(?:\[\w+\])?: (?P<msg>.*)$")
_RUST_AT = re.compile(r"^\s*--> (?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+)\s*$")
#: AssemblyScript's header line; its location follows as ``file(line,col)``
_AS_HEAD = re.compile(r"^(?P<sev>ERROR|WARNING|INFO) (?P<code>(?:TS|AS)\d+): (?P<msg>.*)$")
_AS_AT = re.compile(r"(?P<file>[\w./-]+\.ts)\((?P<line>\d+),(?P<col>\d+)\)")
#: a Python traceback frame, and the exception line that ends a traceback
_PY_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')
_PY_EXC = re.compile(r"^(?:\w+\.)*(?P<name>\w*(?:Error|Exception|Warning))(?::\s*(?P<msg>.*))?$")
#: ``<what> in <file>:<line>:<col>: <message>`` (wasm-server python's syntax check)
_IN_FILE = re.compile(r"\bin (?P<file>\S+\.\w+):(?P<line>\d+):(?P<col>\d+): (?P<msg>.*)$")
#: node's syntax error: the file and line alone on a line, then the source, a caret, the error
_NODE_AT = re.compile(r"^(?P<file>\S+\.m?js):(?P<line>\d+)$")
_NODE_ERROR = re.compile(r"^(?P<name>\w*Error): (?P<msg>.*)$")
#: a JavaScript location ``app.js:3:5`` anywhere in a line (componentize-js, esbuild-like)
_JS_AT = re.compile(r"(?P<file>[\w./-]+\.m?js):(?P<line>\d+):(?P<col>\d+)")
#: a terminal escape: CSI (colours, cursor) or OSC (titles, links). Compilers colour their
#: output on their own terms (asc whenever ``CI`` is set, even into a pipe); the log and the
#: parser want the text.
_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?)")
#: lines that only repeat a failure already reported (rustc, cargo)
_RUST_SUMMARY = ("could not compile", "aborting due to", "Some errors have", "For more information")


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One compiler message on a file of the service (line and column 1-based)."""

    file: str
    line: int
    column: int
    severity: str
    message: str

    def as_json(self) -> dict[str, object]:
        """The API's shape: ``{file, line, column, severity, message}``."""
        return {"file": self.file, "line": self.line, "column": self.column,
                "severity": self.severity, "message": self.message}


class _Collector:
    """Diagnostics in order, without duplicates, only on files inside the service."""

    def __init__(self, service: Path, workdirs: tuple[Path, ...]) -> None:
        self.service = service.resolve()
        self.workdirs = workdirs
        self.out: list[Diagnostic] = []
        self.seen: set[Diagnostic] = set()

    def add(self, file: str, line: str | int, column: str | int | None, severity: str, message: str, *,
            guest: bool = False, once_per_place: bool = False) -> None:
        """Record one; ``guest``: the file may be named by its path inside a sandbox (``/0/app.py``
        in componentize-py); ``once_per_place``: skip it if that place has a diagnostic already."""
        rel = self.relative(file, guest=guest)
        if rel is None:
            return
        d = Diagnostic(rel, max(int(line), 1), max(int(column or 1), 1), _SEVERITIES.get(severity, severity),
                       message.strip())
        if once_per_place and any((o.file, o.line, o.column) == (d.file, d.line, d.column) for o in self.out):
            return
        if d not in self.seen:
            self.seen.add(d)
            self.out.append(d)

    def relative(self, file: str, *, guest: bool = False) -> str | None:
        """``file`` relative to the service, trying it as given from each build directory
        (and, for a ``guest`` path, each of its tails: ``/0/app.py`` → ``0/app.py``, ``app.py``)."""
        names = [file]
        if guest and file.startswith("/"):
            parts = file.strip("/").split("/")
            names += ["/".join(parts[i:]) for i in range(len(parts))]
        for name in names:
            for base in self.workdirs:
                path = Path(name) if Path(name).is_absolute() else base / name
                try:
                    real = path.resolve()
                except OSError:
                    continue
                if real.is_relative_to(self.service) and real.is_file():
                    return real.relative_to(self.service).as_posix()
        return None


def plain(line: str) -> str:
    """``line`` without terminal escape sequences (colour codes, hyperlinks)."""
    return _ESCAPE.sub("", line) if "\x1b" in line else line


def parse(lines: Iterable[str], service: Path, workdirs: Iterable[Path] = ()) -> list[Diagnostic]:
    """Every diagnostic in a build log; relative file names are tried from each of
    ``workdirs`` (the components' build directories) and from the service directory."""
    collect = _Collector(service, (*workdirs, service.resolve()))
    rust: tuple[str, str] | None = None  # (severity, message) waiting for its --> line
    asc: tuple[str, str] | None = None
    py_frame: tuple[str, str] | None = None  # the last traceback frame in the service
    node: tuple[str, str, int] | None = None  # (file, line, column) of node's syntax error
    node_left = 0  # node's error line comes within a few lines of the location, or never
    for raw in lines:
        line = plain(raw).rstrip()
        if m := _NODE_AT.match(line):
            node, node_left = (m["file"], m["line"], 1), 5
            continue
        node_left -= 1
        if node is not None and node_left <= 0:
            node = None
        if node is not None:
            if m := _NODE_ERROR.match(line):
                collect.add(node[0], node[1], node[2], "error", f"{m['name']}: {m['msg']}")
                node = None
            elif line.strip() and set(line.strip()) <= {"^"}:
                node = (node[0], node[1], line.index("^") + 1)  # the caret sits under the column
            continue
        if m := _IN_FILE.search(line):
            collect.add(m["file"], m["line"], m["col"], "error", m["msg"])
            continue
        if m := _RUST_AT.match(line):
            if rust is not None:
                collect.add(m["file"], m["line"], m["col"], *rust)
                rust = None
            continue
        if m := _RUST_HEAD.match(line):
            rust = None if m["msg"].startswith(_RUST_SUMMARY) else (m["sev"], m["msg"])
            continue
        if m := _AS_HEAD.match(line):
            asc = (m["sev"], f"{m['code']}: {m['msg']}")
            continue
        if asc is not None and (m := _AS_AT.search(line)):
            collect.add(m["file"], m["line"], m["col"], *asc)
            asc = None
            continue
        if m := _PY_FRAME.match(line):
            if collect.relative(m["file"], guest=True) is not None:
                py_frame = (m["file"], m["line"])
            continue
        if py_frame is not None and (m := _PY_EXC.match(line)):
            collect.add(py_frame[0], py_frame[1], None, "error", line, guest=True)
            py_frame = None
            continue
        if m := _GCC.match(line):
            collect.add(m["file"], m["line"], m["col"], m["sev"] or "error", m["msg"])
            continue
        if m := _JS_AT.search(line):
            collect.add(m["file"], m["line"], m["col"], "error", line.lstrip("@ "), once_per_place=True)
    return collect.out
