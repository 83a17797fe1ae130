"""A TCP proxy that adds a one-way delay per direction and can be cut and healed at run time.

A test tool, not part of the product: the two-location test (test_two_locations.py) runs
it in the "wan" network namespace, where every byte between the locations passes through
it, because the kernel's netem qdisc is not available on these machines.

Each direction of each connection is a pipe of timestamped chunks: the reader stamps a
chunk with ``now + delay`` and queues it at once, the writer sleeps until a chunk's time
and sends it. So order is kept, and throughput is not one chunk per delay: a chunk read
while others wait is already on its way (a 40 ms link carries many chunks per 40 ms).
End-of-stream is delayed like data, so a half-close arrives after the bytes before it.

"Cut" closes the listeners (new connections are refused) and aborts every live
connection; "heal" listens again. Control is a line protocol on a Unix socket (a path,
which every network namespace can reach): ``cut``, ``heal``, ``delay MS [RETURN_MS]``,
``stats``; each answers one line starting with ``ok``.

    python -m tests.locations.latency_proxy --delay-ms 40 --control /tmp/wan.sock \\
        --route 10.1.0.2:7000=10.1.2.1:7000 [--route ...]

prints ``ready`` once every route listens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

CHUNK = 64 * 1024
#: chunks queued per direction before the reader waits (backpressure, not a rate limit)
QUEUE_CHUNKS = 256


@dataclass(frozen=True, slots=True)
class Route:
    """Listen on ``listen`` and forward to ``target`` (both ``(host, port)``)."""

    listen: tuple[str, int]
    target: tuple[str, int]

    @classmethod
    def parse(cls, text: str) -> Route:
        """``LISTEN_HOST:PORT=TARGET_HOST:PORT``."""
        left, sep, right = text.partition("=")
        if not sep:
            raise ValueError(f"expected LISTEN_HOST:PORT=TARGET_HOST:PORT, got {text!r}")
        return cls(_host_port(left), _host_port(right))


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


@dataclass
class Stats:
    """What the proxy did (the ``stats`` command answers these as JSON)."""

    connections: int = 0
    refused_while_cut: int = 0
    bytes_forwarded: int = 0
    #: the most chunks one direction held at once: above 1 shows pipelining
    max_in_flight: int = 0
    aborted_by_cut: int = 0


@dataclass
class LatencyProxy:
    """Forward every route with ``delay`` seconds added each way (``return_delay`` back)."""

    routes: list[Route]
    delay: float
    return_delay: float | None = None
    stats: Stats = field(default_factory=Stats)
    cut: bool = False
    _servers: list[asyncio.Server] = field(default_factory=list)
    _live: set[asyncio.StreamWriter] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def back_delay(self) -> float:
        """The delay from target to client."""
        return self.delay if self.return_delay is None else self.return_delay

    async def start(self) -> None:
        """Listen on every route (a port-0 route gets its port here, kept across cut/heal)."""
        bound = []
        for route in self.routes:
            server = await asyncio.start_server(
                lambda r, w, route=route: self._serve(r, w, route), *route.listen, reuse_address=True)
            self._servers.append(server)
            bound.append(Route((route.listen[0], server.sockets[0].getsockname()[1]), route.target))
        self.routes = bound

    async def set_cut(self, cut: bool) -> None:
        """Cut: refuse new connections and abort live ones. Heal: listen again."""
        if cut and not self.cut:
            self.cut = True
            for server in self._servers:
                server.close()
            for writer in list(self._live):
                writer.transport.abort()
                self.stats.aborted_by_cut += 1
            self._live.clear()
            for server in self._servers:
                await server.wait_closed()
        elif not cut and self.cut:
            self._servers = []
            await self.start()
            self.cut = False

    async def close(self) -> None:
        """Stop listening, drop every connection and wait for their tasks to end."""
        await self.set_cut(True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, route: Route) -> None:
        if self.cut:  # accepted in the instant before the listener closed
            self.stats.refused_while_cut += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*route.target)
        except OSError:
            writer.transport.abort()  # the target is down: the client sees a reset, as it would
            return
        self.stats.connections += 1
        self._live.update((writer, up_writer))
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        try:
            await asyncio.gather(self._pipe(reader, up_writer, lambda: self.delay),
                                 self._pipe(up_reader, writer, lambda: self.back_delay))
        except asyncio.CancelledError:
            pass  # close(): end quietly (asyncio 3.11 logs a cancelled connection callback as an error)
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
            for w in (writer, up_writer):
                self._live.discard(w)
                w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    delay: Callable[[], float]) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(QUEUE_CHUNKS)
        sender = asyncio.ensure_future(self._send(queue, writer))
        try:
            while True:
                try:
                    data = await reader.read(CHUNK)
                except (ConnectionError, OSError):
                    data = b""
                await queue.put((time.monotonic() + delay(), data))
                self.stats.max_in_flight = max(self.stats.max_in_flight, queue.qsize())
                if not data:
                    break
            await sender
        finally:
            sender.cancel()

    async def _send(self, queue: asyncio.Queue[tuple[float, bytes]], writer: asyncio.StreamWriter) -> None:
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                self.stats.bytes_forwarded += len(data)
                await writer.drain()
            except (ConnectionError, OSError, RuntimeError):
                return

    async def command(self, line: str) -> str:
        """Answer one control line (see the module docstring)."""
        words = line.split()
        if words == ["cut"]:
            await self.set_cut(True)
            return "ok cut"
        if words == ["heal"]:
            await self.set_cut(False)
            return "ok healed"
        if words[:1] == ["delay"] and 2 <= len(words) <= 3:
            self.delay = float(words[1]) / 1000
            self.return_delay = float(words[2]) / 1000 if len(words) == 3 else None
            return f"ok delay {self.delay * 1000:g} {self.back_delay * 1000:g}"
        if words == ["stats"]:
            return "ok " + json.dumps({**self.stats.__dict__, "cut": self.cut})
        return f"error: unknown command {line.strip()!r} (cut, heal, delay MS [RETURN_MS], stats)"


async def serve_control(proxy: LatencyProxy, path: Path) -> asyncio.Server:
    """Listen for control lines on the Unix socket ``path``."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while line := (await reader.readline()).decode():
                writer.write((await proxy.command(line)).encode() + b"\n")
                await writer.drain()
        writer.close()

    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return await asyncio.start_unix_server(handle, str(path))


def control(path: Path, line: str, timeout: float = 10.0) -> str:
    """Send one control line to a running proxy and return its answer (blocking)."""
    import socket

    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        s.sendall(line.encode() + b"\n")
        answer = s.makefile().readline().strip()
    if not answer.startswith("ok"):
        raise RuntimeError(f"latency proxy: {answer}")
    return answer


async def _main(args: argparse.Namespace) -> None:
    proxy = LatencyProxy([Route.parse(r) for r in args.route], args.delay_ms / 1000,
                         None if args.return_delay_ms is None else args.return_delay_ms / 1000)
    await proxy.start()
    if args.control:
        await serve_control(proxy, Path(args.control))
    print("ready", flush=True)
    await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """Run the proxy until killed."""
    parser = argparse.ArgumentParser(prog="latency_proxy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--route", action="append", required=True, help="LISTEN_HOST:PORT=TARGET_HOST:PORT")
    parser.add_argument("--delay-ms", type=float, default=40.0, help="one-way delay client -> target")
    parser.add_argument("--return-delay-ms", type=float, default=None, help="target -> client (default: same)")
    parser.add_argument("--control", help="Unix socket path for cut/heal/delay/stats")
    args = parser.parse_args(argv)
    try:
        asyncio.run(_main(args))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
