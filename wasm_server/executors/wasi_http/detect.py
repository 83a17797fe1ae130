"""Telling a component from a core module by its header (no engine needed)."""

from __future__ import annotations


def is_component(wasm: bytes) -> bool:
    """Whether ``wasm`` is a component: after the magic, a core module has version 1 and layer 0
    (``01 00 00 00``); a component has layer 1 (``0d 00 01 00``)."""
    return wasm[:4] == b"\0asm" and wasm[6:8] == b"\x01\x00"
