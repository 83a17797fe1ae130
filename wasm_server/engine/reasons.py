"""Wasmtime's error text made into one readable line, with its whole cause chain."""

from __future__ import annotations

import re

_NUMBERED = re.compile(r"^\d+:\s*")

#: what an operator can change when a module does not fit the pooling allocator
POOL_HINT = ("the pooling allocator's limits are [server] pool_table_elements, pool_tables_per_module, "
             "pool_memories_per_module and pool_core_instance_size in the runtime config "
             "(docs/operations.md, Engine pool)")


def wasmtime_reason(text: str) -> str:
    """``"outer\\n\\nCaused by:\\n    0: middle\\n    1: inner"`` → ``"outer: middle: inner"``.

    Wasmtime (anyhow) puts the actionable part last ("table index 0 has a minimum
    element size of 26227 which exceeds the limit of 20000"), so keeping only the
    first line hides it; every link of the chain is kept, and a pooling-allocator
    refusal names the settings that change it."""
    head, _, causes = text.strip().partition("Caused by:")
    parts = [" ".join(head.split())]
    parts += [_NUMBERED.sub("", ln.strip()) for ln in causes.splitlines() if ln.strip()]
    reason = ": ".join(p for p in parts if p) or "unknown error"
    if "pooling allocator" in reason:
        reason += f" ({POOL_HINT})"
    return reason
