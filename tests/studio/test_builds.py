"""The build queue: events replayed to late subscribers, slots, queue cap, timeout, log cap."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from wasm_server.manifest import ComponentSpec
from wasm_server.studio.builds import Build, Builder, Event, policy_command
from wasm_server.studio.workspace import Service, StudioError

MANIFEST = """
[[component]]
name = "app"
source = "app.wasm"
routes = ["/..."]
[component.build]
command = "wasm-server cc -o app.wasm main.c"
"""


def service(tmp_path: Path, name: str = "svc", manifest: str = MANIFEST) -> Service:
    root = tmp_path / name
    root.mkdir(parents=True, exist_ok=True)
    (root / "wasm-server.toml").write_text(manifest)
    return Service(name, name, "c", root)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


WRITES = python("import sys; print('compiling'); print('main.c:3:1: error: oops', file=sys.stderr); "
                "open('app.wasm', 'wb').write(b'\\0asm')")


async def events(build: Build) -> list[Event]:
    return [e async for e in build.subscribe() if e is not None]


async def test_a_build_streams_its_log_then_done_and_late_subscribers_get_everything(tmp_path: Path) -> None:
    builder = Builder(command_for=lambda comp, root: WRITES)
    s = service(tmp_path)
    (s.path / "main.c").write_text("int x;\n")
    build, position = builder.submit(s)
    assert position == 0
    live = await events(build)
    late = await events(build)
    assert live == late
    kinds = [e.kind for e in live]
    assert kinds[:2] == ["queued", "start"] and kinds[-1] == "done"
    lines = [e.data["line"] for e in live if e.kind == "log"]
    assert lines[0] == "building app: wasm-server cc -o app.wasm main.c"
    assert "compiling" in lines and "main.c:3:1: error: oops" in lines
    assert str(lines[-1]).startswith("built app in ")
    done = live[-1].data
    assert done["ok"] is True and done["error"] is None
    assert done["components"] == [{"name": "app", "built": True, "size": 4}]
    assert done["diagnostics"] == [{"file": "main.c", "line": 3, "column": 1, "severity": "error",
                                    "message": "oops"}]


async def test_a_failing_build_reports_its_exit_status(tmp_path: Path) -> None:
    builder = Builder(command_for=lambda comp, root: python("import sys; print('bad'); sys.exit(3)"))
    build, _ = builder.submit(service(tmp_path))
    done = (await events(build))[-1].data
    assert done["ok"] is False and done["error"] == "building component 'app' failed (exit 3)"
    assert done["components"] == [{"name": "app", "built": False, "size": 0}]


async def test_the_policy_refuses_a_shell_command_at_once(tmp_path: Path) -> None:
    builder = Builder(command_for=policy_command)
    build, _ = builder.submit(service(tmp_path, manifest=MANIFEST.replace("wasm-server cc -o app.wasm main.c",
                                                                          "sh build.sh")))
    done = (await events(build))[-1].data
    assert done["ok"] is False
    assert "the studio runs only wasm-server toolchain commands" in str(done["error"])


async def test_a_manifest_that_does_not_load_fails_the_build_with_its_error(tmp_path: Path) -> None:
    build, _ = Builder().submit(service(tmp_path, manifest="[[component]]\nname = 3\n"))
    done = (await events(build))[-1].data
    assert done["ok"] is False and "the manifest does not load" in str(done["error"])


async def test_builds_beyond_the_slots_queue_and_beyond_the_cap_get_429(tmp_path: Path) -> None:
    gate = tmp_path / "gate"

    def command(comp: ComponentSpec, root: Path) -> list[str]:
        # waits until the test opens the gate, then writes the module
        return python(f"import os, time\nwhile not os.path.exists({str(gate)!r}): time.sleep(0.02)\n"
                      "open('app.wasm', 'wb').write(b'x')")

    builder = Builder(slots=1, queue_cap=2, command_for=command)
    first, p0 = builder.submit(service(tmp_path, "a"))
    second, p1 = builder.submit(service(tmp_path, "b"))
    third, p2 = builder.submit(service(tmp_path, "c"))
    assert (p0, p1, p2) == (0, 1, 2)
    with pytest.raises(StudioError) as info:
        builder.submit(service(tmp_path, "d"))
    assert info.value.status == 429 and "queue is full" in str(info.value)
    gate.touch()
    for b in (first, second, third):
        assert (await events(b))[-1].data["ok"] is True
    # the second moved up to position... it started after the first: its events say so in order
    kinds = [e.kind for e in await events(third)]
    assert kinds[0] == "queued" and kinds.count("queued") == 2 and kinds.index("start") > 1
    assert builder.running == {} and not builder.pending


async def test_two_slots_run_two_builds_at_once(tmp_path: Path) -> None:
    both = tmp_path / "started"
    both.mkdir()
    code = (f"import os, time, uuid\nopen(os.path.join({str(both)!r}, str(uuid.uuid4())), 'w').close()\n"
            f"while len(os.listdir({str(both)!r})) < 2: time.sleep(0.02)\nopen('app.wasm', 'wb').write(b'x')")
    builder = Builder(slots=2, command_for=lambda comp, root: python(code))
    a, pa = builder.submit(service(tmp_path, "a"))
    b, pb = builder.submit(service(tmp_path, "b"))
    assert (pa, pb) == (0, 0)  # each waits for the other: they only finish if both run
    assert [(await events(x))[-1].data["ok"] for x in (a, b)] == [True, True]


@pytest.mark.parametrize("slots", [0, 3])
def test_slots_are_one_or_two(slots: int) -> None:
    from wasm_server.errors import ConfigError

    with pytest.raises(ConfigError, match="--builds"):
        Builder(slots=slots)


async def test_a_build_over_its_time_is_killed_with_its_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    # the build starts a grandchild that would outlive a kill of the build process alone
    code = ("import subprocess, sys, time\n"
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
            f"open({str(pidfile)!r}, 'w').write(str(p.pid))\nprint('started', flush=True)\ntime.sleep(300)")
    builder = Builder(timeout=2, command_for=lambda comp, root: python(code))
    build, _ = builder.submit(service(tmp_path))
    done = (await events(build))[-1].data
    assert done["ok"] is False and done["error"] == "the build took longer than 2 s and was stopped"
    assert "started" in [e.data.get("line") for e in build.events]
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 10
    while _alive(pid):
        assert time.monotonic() < deadline, "the grandchild survived the timeout"
        await asyncio.sleep(0.05)
    assert builder.running == {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie waiting for init to reap it is dead
        return f.read().split(") ", 1)[1][0] != "Z"


async def test_closing_the_builder_kills_running_builds_and_reports_them(tmp_path: Path) -> None:
    builder = Builder(command_for=lambda comp, root: python("import time; print('x', flush=True); time.sleep(300)"))
    build, _ = builder.submit(service(tmp_path, "a"))
    queued, _ = builder.submit(service(tmp_path, "b"))
    while not any(e.kind == "log" and e.data["line"] == "x" for e in build.events):
        await asyncio.sleep(0.02)
    await builder.close()
    done = build.events[-1]
    assert done.kind == "done" and done.data["ok"] is False
    assert done.data["error"] == "the studio stopped before the build finished"
    assert [e.kind for e in queued.events] == ["queued"]


async def test_a_compilers_colours_are_taken_out_of_the_log_and_its_diagnostics_found(tmp_path: Path) -> None:
    # asc colours whatever it prints when CI is set: the log shows text and the marker is found
    code = ("import sys; print('\\x1b[91mERROR\\x1b[0m TS2304: Cannot find name \\'x\\'.'); "
            "print('    \\u2514\\u2500 in assembly/index.ts(4,2)'); sys.exit(1)")
    s = service(tmp_path)
    (s.path / "assembly").mkdir()
    (s.path / "assembly" / "index.ts").write_text("source\n")
    evs = await events(Builder(command_for=lambda comp, root: python(code)).submit(s)[0])
    lines = [str(e.data["line"]) for e in evs if e.kind == "log"]
    assert "ERROR TS2304: Cannot find name 'x'." in lines
    assert not any("\x1b" in line for line in lines)
    assert evs[-1].data["diagnostics"] == [{"file": "assembly/index.ts", "line": 4, "column": 2, "severity": "error",
                                            "message": "TS2304: Cannot find name 'x'."}]


async def test_the_log_is_capped_with_one_line_saying_so(tmp_path: Path) -> None:
    code = "import sys\nfor i in range(5000): print('line %05d' % i + 'x' * 90)\nopen('app.wasm','wb').write(b'x')"
    builder = Builder(log_cap=100_000, command_for=lambda comp, root: python(code))
    build, _ = builder.submit(service(tmp_path))
    evs = await events(build)
    lines = [str(e.data["line"]) for e in evs if e.kind == "log"]
    assert sum(len(line) + 1 for line in lines) < 101_000
    assert lines[-1].startswith("[the studio cut the rest of the log here")
    assert evs[-1].data["ok"] is True  # cutting the log does not fail the build


async def test_an_overlong_line_is_cut(tmp_path: Path) -> None:
    code = "print('y' * 100000)\nopen('app.wasm','wb').write(b'x')"
    build, _ = Builder(command_for=lambda comp, root: python(code)).submit(service(tmp_path))
    lines = [str(e.data["line"]) for e in await events(build) if e.kind == "log"]
    assert max(len(line) for line in lines) <= 16 * 1024


async def test_unknown_and_forgotten_builds_are_404(tmp_path: Path) -> None:
    builder = Builder(keep=0, command_for=lambda comp, root: WRITES)
    build, _ = builder.submit(service(tmp_path))
    await events(build)
    assert builder.get(build.id) is build
    builder.submit(service(tmp_path, "other"))  # submitting prunes what finished more than keep s ago
    for bid in (build.id, "nope"):
        with pytest.raises(StudioError) as info:
            builder.get(bid)
        assert info.value.status == 404
    with pytest.raises(StudioError) as info:
        builder.get(None)
    assert info.value.status == 400
    await builder.close()


async def test_a_build_waits_for_another_process_holding_the_modules_lock(tmp_path: Path) -> None:
    from wasm_server.build import build_lock
    from wasm_server.manifest import load_manifest

    s = service(tmp_path)
    comp = load_manifest(s.manifest).components[0]
    builder = Builder(command_for=lambda comp, root: WRITES)
    with build_lock(comp):
        build, _ = builder.submit(s)
        await asyncio.sleep(0.5)
        assert [e.kind for e in build.events] == ["queued", "start", "log"]  # "building app" only
    assert (await events(build))[-1].data["ok"] is True
