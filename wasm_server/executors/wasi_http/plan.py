"""Everything the host offers a component, as one :class:`ImportPlan` (built once per process)."""

from __future__ import annotations

from functools import cache

from ...engine.component import HostFuncs, ImportPlan
from . import cli, host_kv, http_types, io, outgoing

#: interfaces a component may import but whose functions trap when called (not granted)
REFUSED = {
    "wasi:filesystem/types": "the filesystem is not granted to wasi-http components",
    "wasi:sockets/network": "sockets are not granted to wasi-http components (use wasi:http/outgoing-handler)",
    "wasi:sockets/instance-network": "sockets are not granted to wasi-http components",
    "wasi:sockets/udp": "sockets are not granted to wasi-http components",
    "wasi:sockets/udp-create-socket": "sockets are not granted to wasi-http components",
    "wasi:sockets/tcp": "sockets are not granted to wasi-http components",
    "wasi:sockets/tcp-create-socket": "sockets are not granted to wasi-http components",
    "wasi:sockets/ip-name-lookup": "sockets are not granted to wasi-http components",
}


def _rid(obj: object) -> int:
    rid = getattr(type(obj), "RID", None)
    if not isinstance(rid, int):
        raise TypeError(f"{type(obj).__name__} is not a host resource")
    return rid


def _refuse(iface: str) -> str | None:
    return REFUSED.get(iface)


def _unlinkable(full: str) -> str | None:
    """WASI interfaces are served at 0.2.x only (0.3 has async streams and futures)."""
    iface, _, version = full.partition("@")
    if iface.startswith("wasi:") and not version.startswith("0.2."):
        return ("only WASI 0.2 (wasi:*@0.2.x) is served; build the component for "
                "wasi:http/proxy@0.2 (spin-sdk 5 and other WASI 0.3 worlds are not served)")
    return None


@cache
def import_plan() -> ImportPlan:
    """The plan: wasi:io, wasi:http, wasi:cli, clocks, random, wasm-server:host; filesystem and sockets trap."""
    funcs: dict[str, HostFuncs] = {**io.FUNCS, **cli.FUNCS, **host_kv.FUNCS}
    funcs["wasi:http/types"] = http_types.funcs(outgoing.FUNCS)
    funcs["wasi:http/outgoing-handler"] = outgoing.HANDLER
    # language runtimes ask for their preopened directories at start-up: there are none
    funcs["wasi:filesystem/preopens"] = {"get-directories": lambda call: []}
    types_resources = {**http_types.RESOURCES, **outgoing.RESOURCES}
    resources = {
        "*": {"input-stream": io.InputStream.RID, "output-stream": io.OutputStream.RID,
              "pollable": io.Pollable.RID, "error": io.IoError.RID, "io-error": io.IoError.RID},
        **io.RESOURCES, **cli.RESOURCES,
        "wasi:http/types": types_resources,
        "wasi:http/outgoing-handler": types_resources,
    }
    return ImportPlan(funcs, resources, _rid, _refuse, _unlinkable)
