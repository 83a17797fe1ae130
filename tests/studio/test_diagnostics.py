"""Compiler output → diagnostics, on real output of each toolchain.

Each fixture is what the named command printed here (trimmed where marked), building the
language's template (`wasm-server new LANG svc`) with one error put in; ``{service}`` stands
for the service directory, which the toolchain printed as an absolute path.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wasm_server.studio.diagnostics import Diagnostic, parse, plain

# `wasm-server cc -o hello.wasm main.c`, main.c line 6 without its ';'
C = """\
main.c:6:23: error: expected ';' at end of declaration
    6 |     int64_t visits = 0
      |                       ^
      |                       ;
1 error generated.
error: C compilation failed (exit 1): -o hello.wasm main.c
"""

# `wasm-server c++ -o cpp-svc.wasm main.cpp`, std::to_string misspelt on line 18
CPP = """\
error: C++ compilation (-o cpp-svc.wasm main.cpp) failed (exit 1):
main.cpp:18:58: error: no member named 'to_strin' in namespace 'std'
   18 |                                        " (visit " + std::to_strin(visits.value_or(0)) + ")\\n");
      |                                                          ^~~~~~~~
1 error generated.
"""

# `wasm-server cargo-build -o rust-svc.wasm`, req.path_info() misspelt (long lines trimmed)
RUST = """\
toolchain: Debian rustc-web 1.96 (/usr/bin/cargo), std built from rust-web-src
   Compiling wasm-server v0.1.0 (/work/wasm-server/sdk/rust)
   Compiling rust-svc v0.1.0 ({service})
error[E0599]: no method named `path_inf` found for struct `wasm_server::Request` in the current scope
 --> src/lib.rs:9:95
  |
9 |     Ok(Response::text(200, format!("Hello from rust-svc!\\nyou asked for {{}} (visit {{}})\\n", req.path_inf(), …
  |                                                                                               ^^^^^^^^
  |
help: there is a method `path_info` with a similar name
  |
For more information about this error, try `rustc --explain E0599`.
error: could not compile `rust-svc` (lib) due to 1 previous error
error: cargo build failed (exit 101) for Cargo.toml
"""

# `wasm-server go-build -o go-svc.wasm`, a call to an undefined function on line 17
GO = """\
toolchain: Go 1.26 (go on PATH: /usr/local/go/bin/go)
# go-svc
./main.go:17:2: undefined: undefinedFn
error: go build failed (exit 1) for .
"""

# `wasm-server ts-build -o ts-svc.wasm`, log.info misspelt on line 27 of assembly/index.ts
TS = """\
compiling assembly/index.ts with AssemblyScript ({service}/node_modules/.bin/asc) …
ERROR TS2304: Cannot find name 'logx'.
    :
 27 │ logx.info("ordered " + item.quantity.toString() + " " + item.name);
    │ ~~~~
    └─ in assembly/index.ts(27,3)

FAILURE 1 compile error(s)
error: asc failed (exit 1) for assembly/index.ts
"""

# the same build with ``CI`` set in the environment: asc colours its output then, into a pipe
# too (what CI's build log held when the studio's TypeScript marker was missing)
TS_COLOURED = """\
compiling assembly/index.ts with AssemblyScript ({service}/node_modules/.bin/asc) …
\x1b[91mERROR\x1b[0m TS2304: Cannot find name 'undefinedName'.
    :
 44 │ export const broken: i32 = undefinedName;
    │                            \x1b[91m~~~~~~~~~~~~~\x1b[0m
    └─ in assembly/index.ts(44,28)

\x1b[91mFAILURE \x1b[0m1 compile error(s)
error: asc failed (exit 1) for assembly/index.ts
"""

# `wasm-server python -o python-svc.wasm app.py`, the ':' of line 10 left out
PYTHON_SYNTAX = """\
error: Python syntax error in {service}/app.py:10:37: expected ':'
    def handle(req: Request) -> Response
"""

# `wasm-server python -o python-svc.wasm app.py`, line 4 imports a module that does not exist
# (componentize-py's Rust backtrace after "Stack backtrace:" trimmed)
PYTHON_IMPORT = """\
building python-svc.wasm from app.py with componentize-py (world service; this takes a while) …
Traceback (most recent call last):
  File "/work/wasm-server/.venv/bin/componentize-py", line 6, in <module>
    sys.exit(script())
             ^^^^^^^^
AssertionError: Traceback (most recent call last):
  File "/0/app.py", line 4, in <module>
    import no_such_module_here
ModuleNotFoundError: No module named 'no_such_module_here'


Caused by:
    ModuleNotFoundError: No module named 'no_such_module_here'

Stack backtrace:
   0: <anyhow::Error>::msg::<alloc::string::String>
error: componentize-py failed (exit 1) for app.py
"""

# `wasm-server js -o js-svc.wasm app.js`, `let visits = = 0n;` on line 8 (node's syntax check)
JS_SYNTAX = """\
error: JavaScript syntax error in {service}/app.js:
{service}/app.js:8
  let visits = = 0n;
               ^

SyntaxError: Unexpected token '='
"""

# `wasm-server js -o js-svc.wasm app.js`, line 20 throws while componentize-js initialises it
JS_INIT = """\
building js-svc.wasm from app.js with componentize-js (world service; this takes a while) …
Failed to initialize component (wizer (/work/wasm-server/sdk/js/node_modules/@bytecodealliance/wizer-linux-x64/wizer)):
Exception while evaluating top-level script
app.js:20:7 Error: boom at init
Additionally, some promises were rejected, but the rejection never handled:
Promise rejected but never handled: boom at init
Stack:
  @app.js:20:7
error: componentize-js failed (exit 1) for app.js
"""

CASES = {
    "c": (C, ["main.c"], [Diagnostic("main.c", 6, 23, "error", "expected ';' at end of declaration")]),
    "cpp": (CPP, ["main.cpp"],
            [Diagnostic("main.cpp", 18, 58, "error", "no member named 'to_strin' in namespace 'std'")]),
    "rust": (RUST, ["src/lib.rs"],
             [Diagnostic("src/lib.rs", 9, 95, "error",
                         "no method named `path_inf` found for struct `wasm_server::Request` in the current scope")]),
    "go": (GO, ["main.go"], [Diagnostic("main.go", 17, 2, "error", "undefined: undefinedFn")]),
    "ts": (TS, ["assembly/index.ts"],
           [Diagnostic("assembly/index.ts", 27, 3, "error", "TS2304: Cannot find name 'logx'.")]),
    "ts-coloured": (TS_COLOURED, ["assembly/index.ts"],
                    [Diagnostic("assembly/index.ts", 44, 28, "error", "TS2304: Cannot find name 'undefinedName'.")]),
    "python-syntax": (PYTHON_SYNTAX, ["app.py"], [Diagnostic("app.py", 10, 37, "error", "expected ':'")]),
    "python-import": (PYTHON_IMPORT, ["app.py"],
                      [Diagnostic("app.py", 4, 1, "error",
                                  "ModuleNotFoundError: No module named 'no_such_module_here'")]),
    "js-syntax": (JS_SYNTAX, ["app.js"], [Diagnostic("app.js", 8, 16, "error", "SyntaxError: Unexpected token '='")]),
    "js-init": (JS_INIT, ["app.js"], [Diagnostic("app.js", 20, 7, "error", "app.js:20:7 Error: boom at init")]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_real_compiler_output_becomes_a_diagnostic_on_the_right_file_and_line(tmp_path: Path, case: str) -> None:
    output, files, expected = CASES[case]
    service = tmp_path / "svc"
    for f in files:
        (service / f).parent.mkdir(parents=True, exist_ok=True)
        (service / f).write_text("source\n")
    lines = output.format(service=service).splitlines()
    assert parse(lines, service, [service]) == expected


def test_files_outside_the_service_and_missing_files_are_dropped(tmp_path: Path) -> None:
    service = tmp_path / "svc"
    service.mkdir()
    (tmp_path / "outside.c").write_text("x")
    (service / "main.c").write_text("x")
    lines = [f"{tmp_path}/outside.c:1:1: error: not ours", "../outside.c:2:1: error: not ours either",
             "/usr/include/stdio.h:3:1: note: a header", "gone.c:4:1: error: no such file",
             "main.c:5:2: warning: ours", "main.c:5:2: warning: ours"]
    assert parse(lines, service) == [Diagnostic("main.c", 5, 2, "warning", "ours")]


def test_rust_summaries_and_plain_log_lines_are_not_diagnostics(tmp_path: Path) -> None:
    service = tmp_path / "svc"
    (service / "src").mkdir(parents=True)
    (service / "src" / "lib.rs").write_text("x")
    lines = ["warning: unused variable: `x`", " --> src/lib.rs:3:9", "error: aborting due to 1 previous error",
             " --> src/lib.rs:99:1", "building svc: wasm-server cargo-build -o svc.wasm", "built svc in 1.0s"]
    assert parse(lines, service) == [Diagnostic("src/lib.rs", 3, 9, "warning", "unused variable: `x`")]


def test_a_build_in_a_subdirectory_names_files_from_the_service(tmp_path: Path) -> None:
    service = tmp_path / "svc"
    (service / "guest").mkdir(parents=True)
    (service / "guest" / "main.c").write_text("x")
    assert parse(["main.c:1:2: error: e"], service, [service / "guest"]) == [
        Diagnostic("guest/main.c", 1, 2, "error", "e")]
    assert Diagnostic("a.c", 1, 2, "note", "m").as_json() == {"file": "a.c", "line": 1, "column": 2,
                                                                "severity": "note", "message": "m"}


def test_terminal_escapes_are_removed_and_plain_text_is_kept() -> None:
    assert plain("\x1b[91mERROR\x1b[0m TS2304: x") == "ERROR TS2304: x"
    assert plain("\x1b[1m\x1b[38;5;9merror[E0425]\x1b[0m\x1b[1m: cannot find\x1b[0m") == "error[E0425]: cannot find"
    assert plain("see \x1b]8;;https://example.invalid/\x1b\\docs\x1b]8;;\x1b\\ here") == "see docs here"
    assert plain("main.c:3:1: error: [x] (y) ~ ^") == "main.c:3:1: error: [x] (y) ~ ^"
