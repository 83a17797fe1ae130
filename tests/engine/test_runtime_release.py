"""A closed Runtime gives its engine back (its pooling allocator's reserved address space)."""

from __future__ import annotations

import gc
from pathlib import Path

from wasm_server.app import ALL_IMPORTS
from wasm_server.engine import Runtime


def reserved_bytes() -> int:
    """The process's virtual size (VmSize) in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmSize in /proc/self/status")


def test_a_closed_runtime_releases_its_engine() -> None:
    """Regression: the host imports' function types were kept in a module-level list and, bound
    to their engine once used, pinned every engine the process made; the ~30th Runtime (a
    redeploy, a program embedding apps) aborted in Wasmtime: "failed to create memory pool mapping"."""
    before = reserved_bytes()
    runtime = Runtime(None, ALL_IMPORTS)
    during = reserved_bytes()
    assert during - before > 2**40  # the pool reserves terabytes of address space (not memory)
    runtime.close()
    runtime._ticker.join(5)  # the ticker thread refers to the runtime until it ends
    del runtime
    gc.collect()
    assert reserved_bytes() - before < (during - before) // 2
