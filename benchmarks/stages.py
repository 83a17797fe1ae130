"""Request path stages (issue 13): the CPU cost of each stage of one HTTP request, hello module.

    .venv/bin/python benchmarks/stages.py [--iterations 3000] [--duration 5] [--flame] [--no-write]

1. In process, each stage alone over many iterations (the thread's CPU clock; the best of
   15 rounds, stages in turn, as other processes only ever add time): parse (httptools + H1Connection) →
   route → app layer (request id, GuestRequest, gate, stats) → encode the request for the
   guest → guest call (write into its memory + ``wasm_server_handle``, reused instance) →
   read + decode the response → response bytes (ResponseWriter) → socket write → access
   log line. ``executor.handle`` and ``app.respond`` are timed whole too, so what the
   layers add between the pieces shows.
2. A real server (``wasm-server up examples/hello/c --no-build``, core 0) under wrk (core 1,
   50 connections): its CPU time (utime + stime from /proc) per answered request. What it
   spends beyond the sum of the stages is the event loop, transport and system calls.
3. ``--flame``: py-spy samples that server during a second wrk run and writes
   benchmarks/flame-hello.svg, and the share of samples per stage (by the innermost
   wasm_server/uvloop frame of each stack).

Writes the section "Request path stages (issue 13)" of benchmarks/RESULTS.md (unless
--no-write). Runs in well under a minute; re-run it after changing the request path.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wasm_server.abi_codec import GuestRequest
    from wasm_server.app import App
    from wasm_server.protocol.http1 import Request

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, free_port, machine, wait_port, write_section
from suite import stop, wrk

SECTION = "## Request path stages (issue 13)"
CLI = str(Path(sys.executable).parent / "wasm-server")
HELLO = ROOT / "examples/hello/c"
# what wrk sends
RAW_REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
ROUNDS = 15


class Stages:
    """Stages timed round-robin: every round times each stage once over ``n`` calls, so a
    burst of load from other processes hits all stages alike; the best round counts. The
    clock is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID): on a shared machine a
    preempted thread is not charged for the time it waited (wall time is not used)."""

    def __init__(self) -> None:
        self.sync: dict[str, Callable[[], object]] = {}
        self.coros: dict[str, Callable[[], Awaitable[object]]] = {}

    async def run(self, n: int) -> dict[str, float]:
        """ns per call of every stage."""
        best = {name: float("inf") for name in [*self.sync, *self.coros]}
        clock = time.thread_time_ns
        for _ in range(ROUNDS):
            for name, fn in self.sync.items():
                t0 = clock()
                for _ in range(n):
                    fn()
                best[name] = min(best[name], (clock() - t0) / n)
            for name, coro in self.coros.items():
                t0 = clock()
                for _ in range(n):
                    await coro()
                best[name] = min(best[name], (clock() - t0) / n)
        return best


async def in_process(n: int) -> dict[str, float]:
    """µs per request of every stage, and of the layers that hold them."""
    from wasm_server.abi_codec import KIND_HTTP_REQUEST, decode_response, encode_request
    from wasm_server.app import App
    from wasm_server.executors import NativeExecutor
    from wasm_server.manifest import load_manifest
    from wasm_server.net.access_log import AccessLog
    from wasm_server.protocol.http1 import H1Connection, Request
    from wasm_server.protocol.response import ResponseWriter

    logging.disable(logging.WARNING)
    tmp = Path(tempfile.mkdtemp())
    try:
        app = await App.load(load_manifest(HELLO), tmp / "data", tmp / "cache")
        conn = H1Connection()

        def parse() -> object:
            conn.receive_data(RAW_REQUEST)
            event = conn.next_event()
            conn.next_event()
            return event

        req = parse()
        assert isinstance(req, Request)
        router = app.router
        writer = ResponseWriter()
        sink = _NoSink()
        resp = await app.respond(req, "127.0.0.1:40000", sink)
        assert resp.status == 200, resp
        executor = next(iter(app.executors.values()))
        assert isinstance(executor, NativeExecutor)
        greq = _guest_request(app, req)
        payload = encode_request(greq)
        inst = await executor.new_instance()  # its own: handle() replaces pooled ones after instance_reuse uses
        deadline = time.monotonic() + 3600
        ret = await inst.event(KIND_HTTP_REQUEST, payload, deadline)
        match = router.match_request(req.method, req.target, req.headers)

        def response_bytes() -> bytes:
            writer.begin(req, True)
            return writer.complete(resp)

        devnull = open(os.devnull, "wb")  # closed below, after the access log flushed into it
        access = AccessLog(devnull)
        st = Stages()
        st.sync["parse (httptools + H1Connection)"] = parse
        st.sync["route (Router.match_request)"] = lambda: router.match_request(req.method, req.target, req.headers)
        st.sync["encode the request for the guest"] = lambda: encode_request(greq)
        st.coros["guest call (write + wasm_server_handle)"] = lambda: inst.event(KIND_HTTP_REQUEST, payload, deadline)
        st.sync["read + decode the response"] = lambda: decode_response(inst.read(ret >> 32, ret & 0xFFFFFFFF))
        st.sync["response bytes (ResponseWriter)"] = response_bytes
        st.sync["access log line"] = lambda: access.request("127.0.0.1:40000", req, resp, 13, 0.0001)
        st.coros["= executor.handle, whole"] = lambda: executor.handle(greq, sink)
        st.coros["= app.dispatch, whole"] = lambda: app.dispatch(req, match, "127.0.0.1:40000", sink)
        st.coros["= app.respond (route + dispatch), whole"] = lambda: app.respond(req, "127.0.0.1:40000", sink)
        got = await st.run(n)
        access.flush()
        devnull.close()
        inst.release()
        got["socket write (send of one response)"] = _socket_write_ns(response_bytes(), n)
        order = ["parse (httptools + H1Connection)", "route (Router.match_request)",
                 "encode the request for the guest", "guest call (write + wasm_server_handle)",
                 "read + decode the response", "response bytes (ResponseWriter)",
                 "socket write (send of one response)", "access log line"]
        out = {k: got[k] for k in order}
        handle, dispatch = got["= executor.handle, whole"], got["= app.dispatch, whole"]
        out["executor layer (handle − encode − call − decode)"] = handle - (
            out["encode the request for the guest"] + out["guest call (write + wasm_server_handle)"]
            + out["read + decode the response"])
        out["app layer (dispatch − handle: request id, GuestRequest, gate, stats, Response)"] = dispatch - handle
        out["= executor.handle, whole"] = handle
        out["= app.respond (route + dispatch), whole"] = got["= app.respond (route + dispatch), whole"]
        await app.close()
        return {k: v / 1000 for k, v in out.items()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _guest_request(app: App, req: Request) -> GuestRequest:
    """The GuestRequest app.dispatch builds for ``req`` (same fields, same request id form)."""
    from wasm_server.abi_codec import GuestRequest
    from wasm_server.routing import Match

    match = app.router.match_request(req.method, req.target, req.headers)
    assert isinstance(match, Match)
    return GuestRequest(req.method, req.target, match.route.encode(), match.base.encode("latin-1"),
                        match.path_info.encode("latin-1"), b"127.0.0.1:40000",
                        [(k.encode(), v.encode("latin-1")) for k, v in match.params],
                        [*req.headers, (b"x-request-id", b"0123456789abcdef-1")], req.body)


class _NoSink:
    """A response sink that never streams (hello answers whole)."""

    @property
    def started(self) -> bool:
        return False

    def start(self, status: int, headers: Sequence[tuple[bytes, bytes]]) -> bool:
        raise AssertionError("hello does not stream")

    async def write(self, data: bytes) -> bool:
        raise AssertionError("hello does not stream")


def _socket_write_ns(data: bytes, n: int) -> float:
    """ns per ``send`` of ``data`` on a loopback TCP connection (the reader drains untimed)."""
    with socket.create_server(("127.0.0.1", 0)) as srv:
        client = socket.create_connection(srv.getsockname())
        peer, _ = srv.accept()
        peer.setblocking(False)
        batch = 64
        best = float("inf")
        try:
            for _ in range(ROUNDS):
                spent = 0
                for _ in range(max(1, n // batch)):
                    t0 = time.thread_time_ns()
                    for _ in range(batch):
                        peer.send(data)
                    spent += time.thread_time_ns() - t0
                    _drain(client, len(data) * batch)
                best = min(best, spent / (max(1, n // batch) * batch))
        finally:
            client.close()
            peer.close()
        return best


def _drain(sock: socket.socket, size: int) -> None:
    while size > 0:
        size -= len(sock.recv(min(size, 1 << 20)))


def _cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (and its waited-for children) in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:13]) / os.sysconf("SC_CLK_TCK")


def under_wrk(duration: float, flame: Path | None) -> dict[str, float | str]:
    """CPU µs per request of a real server under wrk; with ``flame``, a py-spy flame graph too."""
    port = free_port()
    tmp = tempfile.mkdtemp()
    env = {**os.environ, "WASM_SERVER_CACHE_DIR": str(Path(tmp) / "cache")}
    proc = subprocess.Popen(["taskset", "-c", "0", sys.executable, CLI, "up", str(HELLO), "--no-build",
                             "--data-dir", tmp, "--listen", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    out: dict[str, float | str] = {}
    try:
        wait_port(port)
        url = f"http://127.0.0.1:{port}/"
        wrk(url, 1, 50)  # warm up
        cpu0 = _cpu_seconds(proc.pid)
        res = wrk(url, int(duration), 50)
        cpu = _cpu_seconds(proc.pid) - cpu0
        out["req/s"] = res.rps
        out["server CPU µs per request"] = cpu / (res.rps * duration) * 1e6
        out["server CPU use (cores)"] = cpu / duration
        if flame is not None:
            out.update(_py_spy(proc.pid, url, duration, flame))
    finally:
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    return out


#: stage of a sample, by the innermost frame from these files (first match wins)
_STAGE_OF = [(f"wasm_server/{key}", stage) for key, stage in (
    ("protocol/http1.py", "parse"), ("routing/", "route"), ("abi_codec.py", "encode/decode"),
    ("engine/", "guest call (engine, ctypes, wasm)"), ("capabilities/", "host imports"),
    ("executors/", "executor layer"), ("app.py", "app layer"), ("protocol/response.py", "response bytes"),
    ("access_log.py", "access log"), ("net/", "HTTP edge (net/http.py)"))]


def _py_spy(pid: int, url: str, duration: float, flame: Path) -> dict[str, float | str]:
    """Sample ``pid`` with py-spy while wrk runs: the SVG, then collapsed stacks for the shares."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        return {"flame graph": "not made: py-spy is not installed (.venv/bin/pip install py-spy)"}
    shares: dict[str, float | str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "stacks.txt"
        for fmt, dest in (("flamegraph", flame), ("raw", raw)):
            full = ["--full-filenames"] if fmt == "raw" else []  # the stages are told apart by path
            spy_proc = subprocess.Popen([spy, "record", "--pid", str(pid), "--rate", "250", "--duration",
                                         str(int(duration)), "--format", fmt, "--output", str(dest), "--nonblocking",
                                         *full],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(0.5)
            wrk(url, int(duration), 50)
            _, err = spy_proc.communicate(timeout=duration + 30)
            if spy_proc.returncode != 0 or not dest.exists():
                return {"flame graph": f"not made: py-spy failed: {err.decode(errors='replace').strip()[-300:]}"}
        counts: dict[str, int] = {}
        total = 0
        for line in raw.read_text().splitlines():
            stack, _, num = line.rpartition(" ")
            frames = stack.split(";")
            stage = "event loop, transport (no wasm_server frame: uvloop, asyncio)"
            for frame in reversed(frames):
                hit = next((s for key, s in _STAGE_OF if key in frame), None)
                if hit is not None:
                    stage = hit
                    break
            counts[stage] = counts.get(stage, 0) + int(num)
            total += int(num)
        for stage, c in sorted(counts.items(), key=lambda kv: -kv[1]):
            shares[f"samples: {stage}"] = 100.0 * c / max(total, 1)
    return shares


def _row(name: str, value: float | str) -> str:
    if isinstance(value, str):
        return f"| {name} | {value} |"
    return f"| {name} | {value:.1f}{' %' if name.startswith('samples') else ''} |"


def main() -> int:
    """Measure, print, and write the RESULTS.md section."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=3000, help="calls per round of each stage")
    ap.add_argument("--duration", type=float, default=5.0, help="seconds of each wrk run")
    ap.add_argument("--flame", action="store_true", help="py-spy flame graph to benchmarks/flame-hello.svg")
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = ap.parse_args()
    if not (HELLO / "hello.wasm").exists():
        subprocess.run([CLI, "build", str(HELLO)], check=True, stdout=subprocess.DEVNULL)
    t0 = time.monotonic()
    stages = asyncio.run(in_process(args.iterations))
    flame = ROOT / "benchmarks" / "flame-hello.svg" if args.flame else None
    real = under_wrk(args.duration, flame)
    pieces = sum(v for k, v in stages.items() if not k.startswith("="))
    command = ("python benchmarks/stages.py " + " ".join(sys.argv[1:])).strip()
    lines = [SECTION, "", f"Machine: {machine()}.", "", f"Command: `{command}` ({time.monotonic() - t0:.0f} s).", "",
             f"In process, hello.wasm (examples/hello/c, instance reused), each stage alone: the best mean of "
             f"{ROUNDS} rounds of {args.iterations} calls, stages taken in turn within each round, timed by the "
             "thread's CPU clock (time.thread_time_ns: a preempted thread is not charged for the wait).", "",
             "| stage | µs per request |", "|---|---|",
             *[f"| {k} | {v:.2f} |" for k, v in stages.items()],
             f"| sum of the stages (parse … access log) | {pieces:.2f} |", "",
             "A real server under wrk (`wasm-server up examples/hello/c --no-build`, access log on, to /dev/null, "
             "core 0; "
             f"wrk -t1 -c50 on core 1, {args.duration:.0f} s): CPU time per request from /proc.", "",
             "| measure | value |", "|---|---|",
             *[_row(k, v) for k, v in real.items()]]
    cpu = real.get("server CPU µs per request")
    if isinstance(cpu, float):
        lines.append(f"| beyond the stages (event loop, transport, system calls) | {cpu - pieces:.1f} µs |")
    if flame is not None and flame.exists():
        lines += ["", f"Flame graph of that server under wrk (py-spy, 250 Hz): [{flame.name}]({flame.name})",
                  "", f"![flame graph]({flame.name})"]
    lines.append("")
    section = "\n".join(lines)
    print(section)
    if not args.no_write:
        write_section(SECTION, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
