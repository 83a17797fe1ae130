"""wasi:cli, wasi:clocks and wasi:random for components.

The environment is the manifest's ``[variables]`` of the component; stdout and
stderr go to the component's log, a line at a time, bounded per request like a
native guest's output; ``exit`` ends the request as a failure (500).
"""

from __future__ import annotations

import asyncio
import os
import random as _random
import time
from collections.abc import Callable

from ...engine.component import HostFuncs, trap
from .call import WasiHttpCall
from .io import InputStream, OutputStream, Pollable

#: bytes of stdout+stderr one request may log (the rest is dropped, with a note)
LOG_LIMIT = 64 * 1024


class TerminalInput:
    """``terminal-input`` (never handed out: there is no terminal)."""

    RID = 20


class TerminalOutput:
    """``terminal-output`` (never handed out)."""

    RID = 21


def log_stream(call: WasiHttpCall, stream: str) -> OutputStream:
    """An output stream whose lines go to the component's log."""
    buf = bytearray()

    def sink(data: bytes) -> None:
        logged = call.logged
        if logged >= LOG_LIMIT:
            return
        data = data[:LOG_LIMIT - logged]
        call.logged = logged + len(data)
        buf.extend(data)
        while b"\n" in buf:
            line, _, rest = bytes(buf).partition(b"\n")
            buf[:] = rest
            call.log_line(stream, line)
        if call.logged >= LOG_LIMIT:
            call.log_line(stream, b"[output over %d bytes dropped]" % LOG_LIMIT)

    return OutputStream(sink)


def _exit(call: WasiHttpCall, status: object) -> None:
    trap("the guest called wasi:cli/exit" + (" with an error status" if status is not None else ""))


def _sleep_until(deadline_ns: int) -> Pollable:
    def ready() -> bool:
        return time.monotonic_ns() >= deadline_ns

    def wait() -> asyncio.Future[None]:
        return asyncio.ensure_future(asyncio.sleep(max(0.0, (deadline_ns - time.monotonic_ns()) / 1e9)))

    return Pollable(ready, wait)


def _wall_now(call: WasiHttpCall) -> tuple[int, int]:
    ns = time.time_ns()
    return (ns // 1_000_000_000, ns % 1_000_000_000)


_insecure = _random.Random()


def _env(call: WasiHttpCall) -> list[tuple[str, str]]:
    return list(call.host.variables.items())


def _args(call: WasiHttpCall) -> list[str]:
    return [call.host.name]


def _none(call: WasiHttpCall) -> None:
    return None


def _stdio(stream: str) -> Callable[[WasiHttpCall], OutputStream]:
    return lambda call: log_stream(call, stream)


FUNCS: dict[str, HostFuncs] = {
    "wasi:cli/environment": {"get-environment": _env, "get-arguments": _args, "initial-cwd": _none},
    "wasi:cli/exit": {"exit": _exit, "exit-with-code": lambda call, code: _exit(call, code or None)},
    "wasi:cli/stdin": {"get-stdin": lambda call: InputStream(b"")},
    "wasi:cli/stdout": {"get-stdout": _stdio("stdout")},
    "wasi:cli/stderr": {"get-stderr": _stdio("stderr")},
    "wasi:cli/terminal-input": {},
    "wasi:cli/terminal-output": {},
    "wasi:cli/terminal-stdin": {"get-terminal-stdin": _none},
    "wasi:cli/terminal-stdout": {"get-terminal-stdout": _none},
    "wasi:cli/terminal-stderr": {"get-terminal-stderr": _none},
    "wasi:clocks/monotonic-clock": {
        "now": lambda call: time.monotonic_ns(),
        "resolution": lambda call: 1,
        "subscribe-instant": lambda call, when: _sleep_until(when),
        "subscribe-duration": lambda call, ns: _sleep_until(time.monotonic_ns() + ns),
    },
    "wasi:clocks/wall-clock": {"now": _wall_now, "resolution": lambda call: (0, 1)},
    "wasi:random/random": {
        "get-random-bytes": lambda call, n: os.urandom(min(n, 1 << 20)),
        "get-random-u64": lambda call: int.from_bytes(os.urandom(8), "little"),
    },
    "wasi:random/insecure": {
        "get-insecure-random-bytes": lambda call, n: _insecure.randbytes(min(n, 1 << 20)),
        "get-insecure-random-u64": lambda call: _insecure.getrandbits(64),
    },
    "wasi:random/insecure-seed": {"insecure-seed": lambda call: (_insecure.getrandbits(64),
                                                                 _insecure.getrandbits(64))},
}

RESOURCES = {
    "wasi:cli/terminal-input": {"terminal-input": TerminalInput.RID},
    "wasi:cli/terminal-output": {"terminal-output": TerminalOutput.RID},
    "wasi:cli/terminal-stdin": {"terminal-input": TerminalInput.RID},
    "wasi:cli/terminal-stdout": {"terminal-output": TerminalOutput.RID},
    "wasi:cli/terminal-stderr": {"terminal-output": TerminalOutput.RID},
    "wasi:cli/stdin": {"input-stream": InputStream.RID},
    "wasi:cli/stdout": {"output-stream": OutputStream.RID},
    "wasi:cli/stderr": {"output-stream": OutputStream.RID},
    "wasi:clocks/monotonic-clock": {"pollable": Pollable.RID},
}
