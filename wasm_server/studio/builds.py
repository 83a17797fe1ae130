"""The studio's build queue: a few builds at a time, the rest queued, each bounded.

``Builder.submit`` queues a build of one service and answers at once; at most
``slots`` builds run together (the machine's cores are shared with whatever else it
serves), at most ``queue_cap`` wait (then 429), a build that runs past ``timeout`` has
its whole process group killed (compilers start children: zig, clang, cargo, rustc),
and its log keeps at most ``log_cap`` bytes. Every build keeps its events, so a browser
that subscribes late (or reconnects) gets them all from the start; finished builds are
forgotten after ``keep`` seconds.

A build runs each component's build command that the build policy allows, in the
component's build directory, with ``wasm-server build``'s environment and under its
per-module lock, streaming stdout and stderr as ``log`` events, then one ``done`` event
with the compiler diagnostics and what each component produced.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..build import build_env, build_lock
from ..errors import ConfigError
from ..manifest import AppSpec, ComponentSpec, load_manifest
from .buildpolicy import PolicyError, argv_for
from .diagnostics import parse, plain
from .workspace import Service, StudioError

DEFAULT_TIMEOUT = 600.0
MAX_SLOTS = 2
QUEUE_CAP = 8
LOG_CAP = 2 * 1024 * 1024
#: a single line longer than this is cut (a minified bundle printed whole)
LINE_CAP = 16 * 1024
KEEP_SECONDS = 3600.0
#: finished builds kept at most (besides the time limit)
KEEP_BUILDS = 64
#: how often a build waiting for another process's lock on its module looks again
LOCK_POLL = 0.2

#: ``(component, service dir) -> argv``: what runs for a component (tests swap the policy)
CommandFor = Callable[[ComponentSpec, Path], list[str]]


def policy_command(comp: ComponentSpec, service: Path) -> list[str]:
    """The build policy's argv for ``comp`` (PolicyError if it may not run)."""
    assert comp.build is not None
    return argv_for(comp.build, service)


@dataclass(frozen=True, slots=True)
class Event:
    """One server-sent event of a build: ``queued``, ``start``, ``log`` or ``done``."""

    kind: str
    data: dict[str, object]


@dataclass(eq=False)
class Build:
    """One build: its events so far, and whether it has finished."""

    id: str
    service: Service
    events: list[Event] = field(default_factory=list)
    finished: float | None = None
    log_bytes: int = 0
    log_cut: bool = False
    lines: list[str] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def emit(self, kind: str, **data: object) -> None:
        """Record an event and wake every subscriber."""
        self.events.append(Event(kind, data))
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def log(self, line: str, cap: int) -> None:
        """A log line, until the log holds ``cap`` bytes; then one line saying the rest was cut."""
        if self.log_cut:
            return
        if self.log_bytes + len(line) > cap:
            self.log_cut = True
            self.emit("log", line=f"[the studio cut the rest of the log here: it is over {cap // 1024} KiB]")
            return
        self.log_bytes += len(line) + 1
        self.lines.append(line)
        self.emit("log", line=line)

    async def subscribe(self, heartbeat: float = 15.0) -> AsyncIterator[Event | None]:
        """Every event from the first, then live ones until ``done``; None when nothing
        happened for ``heartbeat`` seconds (the caller sends a keep-alive)."""
        i = 0
        while True:
            while i < len(self.events):
                event = self.events[i]
                i += 1
                yield event
                if event.kind == "done":
                    return
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), heartbeat)
            except TimeoutError:
                yield None


class Builder:
    """The queue (see the module docstring)."""

    def __init__(self, *, slots: int = 1, queue_cap: int = QUEUE_CAP, timeout: float = DEFAULT_TIMEOUT,
                 log_cap: int = LOG_CAP, keep: float = KEEP_SECONDS,
                 command_for: CommandFor = policy_command) -> None:
        if not 1 <= slots <= MAX_SLOTS:
            raise ConfigError(f"--builds must be 1 or {MAX_SLOTS}, got {slots}")
        if timeout <= 0:
            raise ConfigError(f"--build-timeout must be positive, got {timeout}")
        self.slots = slots
        self.queue_cap = queue_cap
        self.timeout = timeout
        self.log_cap = log_cap
        self.keep = keep
        self.command_for = command_for
        self.builds: dict[str, Build] = {}
        self.pending: deque[Build] = deque()
        self.running: dict[Build, asyncio.Task[None]] = {}
        self._ids = itertools.count(1)
        self._prefix = os.urandom(3).hex()

    def submit(self, service: Service) -> tuple[Build, int]:
        """Queue a build of ``service``: ``(build, position)``, 0 = it starts now; 429 when full."""
        self._forget()
        if len(self.running) >= self.slots and len(self.pending) >= self.queue_cap:
            raise StudioError(429, f"the build queue is full ({self.slots} running, {len(self.pending)} waiting): "
                                   "try again when one has finished")
        build = Build(f"{self._prefix}-{next(self._ids)}", service)
        self.builds[build.id] = build
        position = 0 if len(self.running) < self.slots else len(self.pending) + 1
        build.emit("queued", position=position)
        if position == 0:
            self._start(build)
        else:
            self.pending.append(build)
        return build, position

    def get(self, build_id: str | None) -> Build:
        """The build ``build_id``; 400 without one, 404 when unknown or forgotten."""
        if not build_id:
            raise StudioError(400, "missing ?build=BID (POST /api/build answers it)")
        build = self.builds.get(build_id)
        if build is None:
            raise StudioError(404, f"no build {build_id!r} (unknown, or finished long ago and forgotten)")
        return build

    async def close(self) -> None:
        """Stop: queued builds never start, running ones are killed (their process groups)."""
        self.pending.clear()
        tasks = list(self.running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _start(self, build: Build) -> None:
        self.running[build] = asyncio.get_running_loop().create_task(self._run(build))

    def _next(self, build: Build) -> None:
        self.running.pop(build, None)
        while self.pending and len(self.running) < self.slots:
            self._start(self.pending.popleft())
        for i, waiting in enumerate(self.pending, start=1):
            waiting.emit("queued", position=i)

    def _forget(self) -> None:
        cutoff = time.monotonic() - self.keep
        finished = sorted((b for b in self.builds.values() if b.finished is not None), key=lambda b: b.finished or 0)
        for i, b in enumerate(finished):
            if (b.finished or 0) < cutoff or len(finished) - i > KEEP_BUILDS:
                del self.builds[b.id]

    async def _run(self, build: Build) -> None:
        started = time.monotonic()
        build.emit("start")
        error: str | None = None
        spec: AppSpec | None = None
        try:
            spec = load_manifest(build.service.manifest)
            async with asyncio.timeout(self.timeout):
                error = await self._components(build, spec)
        except ConfigError as exc:
            error = f"the manifest does not load: {exc}"
            build.log(error, self.log_cap)
        except TimeoutError:
            error = f"the build took longer than {self.timeout:g} s and was stopped"
            build.log(error, self.log_cap)
        except asyncio.CancelledError:
            error = "the studio stopped before the build finished"
            raise
        except Exception as exc:  # a build must always end with `done`, whatever failed
            error = f"the build failed: {exc}"
            build.log(error, self.log_cap)
        finally:
            self._done(build, spec, error, time.monotonic() - started)

    def _done(self, build: Build, spec: AppSpec | None, error: str | None, seconds: float) -> None:
        components = []
        for comp in spec.components if spec is not None else ():
            built = comp.source.is_file()
            components.append({"name": comp.name, "built": built, "size": comp.source.stat().st_size if built else 0})
        workdirs = [c.build.workdir for c in spec.components if c.build is not None] if spec is not None else []
        diagnostics = parse(build.lines, build.service.path, workdirs)
        build.lines = []  # the events keep the log for late subscribers: one copy is enough
        build.emit("done", ok=error is None, seconds=round(seconds, 3), error=error,
                   diagnostics=[d.as_json() for d in diagnostics], components=components)
        build.finished = time.monotonic()
        self._next(build)

    async def _components(self, build: Build, spec: AppSpec) -> str | None:
        """Build each component in turn; the first failure's message, or None."""
        todo = [c for c in spec.components if c.build is not None]
        if not todo:
            build.log("no component has a [component.build] command: nothing to build", self.log_cap)
        for comp in todo:
            assert comp.build is not None
            try:
                argv = self.command_for(comp, build.service.path)
            except PolicyError as exc:
                build.log(f"component '{comp.name}': {exc}", self.log_cap)
                return f"component '{comp.name}': {exc}"
            build.log(f"building {comp.name}: {comp.build.command}", self.log_cap)
            began = time.monotonic()
            async with _locked(comp):
                code = await self._process(build, argv, comp.build.workdir)
            if code != 0:
                return f"building component '{comp.name}' failed (exit {code})"
            if not comp.source.is_file():
                return f"building component '{comp.name}' did not produce {comp.source.name}"
            build.log(f"built {comp.name} in {time.monotonic() - began:.1f}s", self.log_cap)
        return None

    async def _process(self, build: Build, argv: list[str], cwd: Path) -> int:
        """Run one command in its own process group, its output as log lines; kill the
        group if cancelled (the timeout, or the studio stopping)."""
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env=build_env(), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        try:
            assert proc.stdout is not None
            rest = b""
            while chunk := await proc.stdout.read(65536):
                *lines, rest = (rest + chunk).split(b"\n")
                for line in lines:
                    build.log(_text(line), self.log_cap)
                if len(rest) > LINE_CAP:
                    build.log(_text(rest), self.log_cap)
                    rest = b""
            if rest:
                build.log(_text(rest), self.log_cap)
            return await proc.wait()
        finally:
            if proc.returncode is None:
                # a compiler's children (zig → clang, cargo → rustc) share the group: end them all
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await asyncio.shield(proc.wait())


def _text(line: bytes) -> str:
    return plain(line[:LINE_CAP].rstrip(b"\r").decode("utf-8", "replace"))


@contextlib.asynccontextmanager
async def _locked(comp: ComponentSpec) -> AsyncIterator[None]:
    """``wasm-server build``'s per-module lock, waited for without blocking the event loop."""
    while True:
        stack = contextlib.ExitStack()
        try:
            stack.enter_context(build_lock(comp, wait=False))
        except BlockingIOError:  # another process builds this module now
            await asyncio.sleep(LOCK_POLL)
            continue
        with stack:
            yield
        return
