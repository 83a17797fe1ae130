"""How long the fuzz tests run: a few hundred examples in the suite, more on request
(WASM_SERVER_FUZZ_EXAMPLES=100000 for a long run; see docs/security.md)."""

from __future__ import annotations

import os


def fuzz_examples(default: int) -> int:
    """Examples per fuzz test: ``default`` unless WASM_SERVER_FUZZ_EXAMPLES says otherwise."""
    return int(os.environ.get("WASM_SERVER_FUZZ_EXAMPLES", default))
