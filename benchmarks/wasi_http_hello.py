"""Build benchmarks/wasi-http-hello (WAT + WIT) into a wasi:http 0.2.0 component.

    .venv/bin/python benchmarks/wasi_http_hello.py     # build if stale, print the path

`wasm-tools component embed wit hello.wat --world hello` puts the WIT world
into the core module's custom section; `wasm-tools component new` wraps it
into a component. The result lives in ~/.cache/wasm-server/bench/ and is
rebuilt when any source (hello.wat, wit/**) is newer than it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers

SOURCE = Path(__file__).resolve().parent / "wasi-http-hello"
OUTPUT = peers.BENCH_CACHE / "wasi-http-hello.component.wasm"


def sources(root: Path = SOURCE) -> list[Path]:
    """Every file the component is built from."""
    return [root / "hello.wat", *sorted((root / "wit").rglob("*.wit"))]


def stale(output: Path, inputs: list[Path]) -> bool:
    """True when ``output`` is missing or older than any input."""
    if not output.exists():
        return True
    built = output.stat().st_mtime
    return any(p.stat().st_mtime > built for p in inputs)


def build(wasm_tools: Path, output: Path = OUTPUT) -> Path:
    """Build the component if stale; returns its path."""
    if not stale(output, sources()):
        return output
    output.parent.mkdir(parents=True, exist_ok=True)
    core = output.with_suffix(".core.wasm")
    subprocess.run([str(wasm_tools), "component", "embed", str(SOURCE / "wit"), str(SOURCE / "hello.wat"),
                    "--world", "hello", "-o", str(core)], check=True)
    subprocess.run([str(wasm_tools), "component", "new", str(core), "-o", str(output)], check=True)
    subprocess.run([str(wasm_tools), "validate", str(output)], check=True)
    return output


def main() -> int:
    """Build and print the path."""
    print(build(peers.ensure().wasm_tools))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
