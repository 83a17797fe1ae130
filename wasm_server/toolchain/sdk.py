"""Where the language SDKs are: inside the installed package, or in the source checkout.

A wheel carries them as ``wasm_server/_sdk/<lang>`` (copied there when the wheel is built);
a checkout (``pip install -e``) uses ``sdk/<lang>`` at the repository root. Every toolchain
and ``wasm-server new`` asks here, so nothing else hard-codes either layout."""

from __future__ import annotations

from pathlib import Path

from ..errors import BuildError

_PACKAGE = Path(__file__).resolve().parent.parent
_CANDIDATES = (_PACKAGE / "_sdk", _PACKAGE.parent / "sdk")


def sdk_root() -> Path:
    """The directory holding every SDK (``c``, ``cpp``, ``go``, ``rust``, ``assemblyscript``)."""
    for root in _CANDIDATES:
        if root.is_dir():
            return root
    raise BuildError("the wasm-server SDKs are missing from this installation "
                     f"(looked in {', '.join(str(c) for c in _CANDIDATES)}); reinstall the package")


def sdk_dir(lang: str) -> Path:
    """The SDK for one language; a clear BuildError when this installation lacks it."""
    path = sdk_root() / lang
    if not path.is_dir():
        raise BuildError(f"the {lang} SDK is not in this installation (expected {path})")
    return path
