"""Apps made of WAT guests, written to a temp dir, for end-to-end server tests."""

from __future__ import annotations

from pathlib import Path

from tests.guests import wat


def write_app(root: Path, components: dict[str, tuple[bytes, str]], *, extra: str = "") -> Path:
    """Write ``name -> (wasm, toml lines)`` components and a manifest; return its directory."""
    root.mkdir(parents=True, exist_ok=True)
    parts = []
    for name, (wasm, lines) in components.items():
        (root / f"{name}.wasm").write_bytes(wasm)
        parts.append(f'[[component]]\nname = "{name}"\nsource = "{name}.wasm"\n{lines}\n')
    (root / "wasm-server.toml").write_text("\n".join(parts) + extra)
    return root


def fault_app(root: Path) -> Path:
    """hello, trap, loop (1 s deadline), grow (8 MiB cap), counter (KV) and a WAGI program."""
    return write_app(
        root,
        {
            "hello": (wat.guest(), 'routes = ["/hello/...", { path = "/only-get", methods = ["GET"] }]'),
            "trap": (wat.guest(wat.TRAP), 'routes = ["/trap"]'),
            "loop": (wat.guest(wat.LOOP), 'routes = ["/loop"]\n[component.limits]\ntimeout = "1s"'),
            "grow": (wat.guest(wat.GROW), 'routes = ["/grow"]\n[component.limits]\nmemory = "8MiB"'),
            "bad": (wat.guest(response=b"\x01\x02"), 'routes = ["/bad"]'),
            "counter": (wat.guest(wat.INCR), 'routes = ["/count"]\nkey_value_stores = ["default"]'),
            "sneaky": (wat.guest(wat.INCR_UNDECLARED), 'routes = ["/sneaky"]\nkey_value_stores = ["default"]'),
            "wagi": (wat.WAGI_HELLO, 'abi = "wagi"\nroutes = ["/wagi"]'),
        },
    )
