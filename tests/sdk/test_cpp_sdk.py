"""The C++ SDK (sdk/cpp) and ``wasm-server c++``: modules, a served probe of every SDK feature, errors."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import wasmtime
from websockets.asyncio.client import connect

from tests.e2e.conftest import CLI, ROOT, Server, free_port, start_server
from wasm_server.errors import BuildError
from wasm_server.toolchain import cpp

PROBE = ROOT / "tests" / "guests" / "cpp" / "probe"
HELLO = ROOT / "examples" / "hello" / "cpp" / "main.cpp"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Probe:
    """The served probe: its HTTP server and the loopback ports of its TCP and UDP listeners."""

    server: Server
    tcp: int
    udp: int

    @property
    def url(self) -> str:
        return self.server.url

    def wait_for_log(self, *texts: str) -> str:
        return self.server.wait_for_log(*texts)


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Probe]:
    app = tmp_path_factory.mktemp("probe")
    shutil.copy(PROBE / "wasm-server.toml", app / "wasm-server.toml")
    assert cpp.main(["-o", str(app / "probe.wasm"), str(PROBE / "main.cpp")]) == 0
    tcp, udp = free_port(), free_udp_port()
    server = start_server(app, app / "data", "--map-port", f"7=127.0.0.1:{tcp}", "--map-port", f"53=127.0.0.1:{udp}")
    yield Probe(server, tcp, udp)
    server.stop()


@pytest.fixture
def echo_server() -> Iterator[int]:
    """A loopback TCP server answering each connection's first message with "echo: " + it."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                conn.sendall(b"echo: " + conn.recv(1024))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    listener.close()
    thread.join(5)


def test_builds_a_small_reactor_module(tmp_path: Path) -> None:
    out = tmp_path / "hello.wasm"
    assert cpp.main(["-o", str(out), str(HELLO)]) == 0
    module = wasmtime.Module(wasmtime.Engine(), out.read_bytes())
    exports = {e.name: e for e in module.exports}
    wanted = {"memory", "wasm_server_abi_version", "wasm_server_alloc", "wasm_server_handle", "_initialize"}
    assert wanted <= set(exports)
    assert "_start" not in exports
    memory = exports["memory"].type
    assert isinstance(memory, wasmtime.MemoryType) and memory.limits.min <= 4  # ≤ 256 KiB at start
    assert {i.module for i in module.imports} <= {"wasm_server", "wasi_snapshot_preview1"}


def test_wagi_builds_a_plain_wasi_command(tmp_path: Path) -> None:
    main = tmp_path / "main.cpp"
    main.write_text('#include <cstdio>\nint main() { std::puts("Content-Type: text/plain\\n\\nhi"); }\n')
    out = tmp_path / "w.wasm"
    assert cpp.main(["--wagi", "-o", str(out), str(main)]) == 0
    exports = {e.name for e in wasmtime.Module(wasmtime.Engine(), out.read_bytes()).exports}
    assert "_start" in exports and "wasm_server_handle" not in exports


def test_the_c_sdk_is_compiled_as_c_even_with_a_newer_standard(tmp_path: Path) -> None:
    # -std=c++20 given to clang++ must not reach wasm_server.c ("not allowed with 'C'")
    main = tmp_path / "main.cpp"
    main.write_text('#include "wasm_server.hpp"\n#include <span>\n'
                    'static ws::Response h(const ws::Request& r) {\n'
                    '    std::span<const char> s(r.body().data(), r.body().size());\n'
                    '    return ws::Response::text(200, std::to_string(s.size()));\n}\nWASM_SERVER_SERVE(h)\n')
    out = tmp_path / "c20.wasm"
    assert cpp.main(["-std=c++20", "-o", str(out), str(main)]) == 0
    assert out.read_bytes().startswith(b"\0asm")


def test_router_captures_params_and_the_rest(probe: Probe) -> None:
    assert httpx.get(f"{probe.url}/users/42").text == "user 42"
    assert httpx.get(f"{probe.url}/users/7/files/a.txt").text == "7/a.txt"
    assert httpx.get(f"{probe.url}/files/a/b/c").text == "rest=/a/b/c"
    assert httpx.get(f"{probe.url}/files").text == "rest="
    posted = httpx.post(f"{probe.url}/users", content=b'{"n":1}')
    assert posted.status_code == 201 and posted.headers["content-type"] == "application/json"
    assert posted.text == '{"n":1}'


def test_router_answers_405_with_allow_404_and_head(probe: Probe) -> None:
    r = httpx.delete(f"{probe.url}/users/42")
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    r = httpx.put(f"{probe.url}/kv")
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    assert httpx.delete(f"{probe.url}/users").headers["allow"] == "POST"
    missing = httpx.get(f"{probe.url}/nowhere/else")
    assert missing.status_code == 404 and missing.text == "no route for /nowhere/else"
    assert httpx.get(f"{probe.url}/users/").status_code == 404  # {id} needs a non-empty segment
    head = httpx.head(f"{probe.url}/users/42")
    assert head.status_code == 200 and head.headers["content-length"] == str(len("user 42"))


def test_request_accessors_and_repeated_headers(probe: Probe) -> None:
    r = httpx.request("PATCH", f"{probe.url}/info/x/y?a=1&b=2", headers={"x-probe": "P"}, content=b"data")
    assert r.text == "PATCH /info/x/y q=a=1&b=2 route=/... info=/info/x/y h=P body=data"
    assert r.headers.get_list("x-a") == ["1", "2"]


def test_kv_returns_optional_and_distinguishes_absent_from_failure(probe: Probe) -> None:
    absent = httpx.get(f"{probe.url}/kv/a")
    assert absent.status_code == 404 and absent.text.startswith("-1 ")  # WS_NOT_FOUND
    assert httpx.put(f"{probe.url}/kv/a", content=b"\x00bin\xff").status_code == 204
    assert httpx.put(f"{probe.url}/kv/ab", content=b"2").status_code == 204
    assert httpx.get(f"{probe.url}/kv/a").content == b"\x00bin\xff"
    assert httpx.get(f"{probe.url}/kv?a").text == "a,ab,|exists a=1|incr=5"
    assert httpx.get(f"{probe.url}/kv?a").text.endswith("|incr=10")
    assert httpx.delete(f"{probe.url}/kv/a").status_code == 204
    assert httpx.get(f"{probe.url}/kv/a").status_code == 404
    failed = httpx.get(f"{probe.url}/undeclared")
    code, _, message = failed.text.partition(" ")
    assert failed.status_code == 500 and int(code) < 0 and int(code) != -1 and "nope" in message


def test_variables(probe: Probe) -> None:
    assert httpx.get(f"{probe.url}/vars/greeting").text == "hi there"
    missing = httpx.get(f"{probe.url}/vars/absent")
    assert missing.status_code == 404 and missing.text.startswith("-1 ")


def test_a_streamed_body_arrives_in_chunks(probe: Probe) -> None:
    r = httpx.get(f"{probe.url}/stream")
    assert r.status_code == 200 and r.headers["x-streamed"] == "yes"
    assert r.headers["transfer-encoding"] == "chunked"
    assert r.text == "chunk 0\nchunk 1\nchunk 2\n"


def test_sdk_log_cout_and_printf_reach_the_server_log(probe: Probe) -> None:
    assert httpx.get(f"{probe.url}/log?x=1", headers={"x-request-id": "cpp-1"}).text == "logged\n"
    probe.wait_for_log("INFO wasm_server.guest: [probe-cpp] sdk log says x=1",
                       "WARNING wasm_server.guest: [probe-cpp] sdk warning",
                       "[probe-cpp] cout says x=1 (stdout, request cpp-1)",
                       # no newline: the C SDK flushes stdio when the event ends
                       "[probe-cpp] printf without a newline (stdout, request cpp-1)")


def test_tcp_handlers_connect_data_and_close(probe: Probe) -> None:
    with socket.create_connection(("127.0.0.1", probe.tcp), timeout=10) as s:
        assert s.recv(100) == b"hello 127.0.0.1\n"
        s.sendall(b"one")
        assert s.recv(100) == b"1:one"
        s.sendall(b"two")
        assert s.recv(100) == b"2:two"
        s.sendall(b"quit")
        assert s.recv(100) == b""  # the guest closed
    probe.wait_for_log("[probe-cpp] tcp connection closed after 2")


def test_udp_handler_answers_the_sender(probe: Probe) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(10)
        s.sendto(b"ping", ("127.0.0.1", probe.udp))
        assert s.recvfrom(100)[0] == b"got ping"


def test_websocket_handlers_pubsub_sleep_and_close(probe: Probe) -> None:
    url = probe.url.replace("http://", "ws://") + "/ws"

    async def talk() -> tuple[list[str | bytes], int | None]:
        async with connect(url) as a, connect(url) as b:
            got = [await a.recv(), await b.recv()]
            await a.send(b"\x00bin")
            got.append(await a.recv())
            await a.send("sleep")
            got.append(await a.recv())
            await a.send("pub news")
            got += [await a.recv(), await b.recv()]
            await b.send("bye")
            with contextlib.suppress(Exception):
                await b.recv()
            return got, b.close_code

    got, code = asyncio.run(talk())
    assert got == ["welcome to /ws", "welcome to /ws", b"\x00bin", "slept", "news", "news"]
    assert code == 4000
    probe.wait_for_log("closed with 4000")


def test_outbound_tcp_socket(probe: Probe, echo_server: int) -> None:
    r = httpx.post(f"{probe.url}/socket", content=b"hi", headers={"x-target": f"127.0.0.1:{echo_server}"})
    assert r.status_code == 200 and r.text == "echo: hi"
    denied = httpx.post(f"{probe.url}/socket", content=b"hi", headers={"x-target": f"localhost:{echo_server}"})
    assert denied.status_code == 502 and denied.text.startswith("-2 ")  # WS_DENIED


def test_outbound_udp_socket(probe: Probe) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.bind(("127.0.0.1", 0))
        peer.settimeout(10)

        def answer() -> None:
            data, addr = peer.recvfrom(100)
            peer.sendto(b"udp: " + data, addr)

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        r = httpx.post(f"{probe.url}/socket?udp", content=b"hey",
                       headers={"x-target": f"127.0.0.1:{peer.getsockname()[1]}"}, timeout=15)
        thread.join(10)
    assert r.status_code == 200 and r.text == "udp: hey"


def test_command_defaults_and_system_includes(tmp_path: Path) -> None:
    obj = tmp_path / "sdk.o"
    cmd = cpp.command(["-o", "a.wasm", "main.cpp", "-I/usr/include", "-Iinc"], obj)
    assert cmd[2:4] == ["ziglang", "c++"] and "-fno-exceptions" in cmd and "-std=c++17" in cmd
    assert cmd[cmd.index("-idirafter") + 1] == "/usr/include" and "-Iinc" in cmd and "-I/usr/include" not in cmd
    assert cmd[-1] == str(obj) and "-mexec-model=reactor" in cmd
    chosen = cpp.command(["-std=gnu++20", "-o", "a.wasm", "main.cpp"], obj)
    assert "-std=gnu++20" in chosen and "-std=c++17" not in chosen
    assert "-mexec-model=reactor" not in cpp.command(["--wagi", "-o", "a.wasm", "main.cpp"], None)
    c_step = cpp.sdk_object_command(obj)
    assert c_step[2:4] == ["ziglang", "cc"] and not any(a.startswith("-std=") for a in c_step)


def test_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="missing -o"):
        cpp.main(["x.cpp"])
    with pytest.raises(BuildError, match="no exception runtime"):
        cpp.main(["-fexceptions", "-o", str(tmp_path / "x.wasm"), "x.cpp"])


def test_a_compile_error_carries_the_compiler_diagnostics(tmp_path: Path) -> None:
    bad = tmp_path / "bad.cpp"
    bad.write_text('#include "wasm_server.hpp"\nstatic ws::Response h(const ws::Request& r) { return nope(r); }\n'
                   "WASM_SERVER_SERVE(h)\n")
    with pytest.raises(BuildError) as err:
        cpp.main(["-o", str(tmp_path / "b.wasm"), str(bad)])
    assert "C++ compilation" in str(err.value)
    assert "bad.cpp:2:" in str(err.value) and "undeclared identifier 'nope'" in str(err.value)


def test_code_that_throws_is_told_why_exceptions_are_off(tmp_path: Path) -> None:
    src = tmp_path / "throws.cpp"
    src.write_text('#include "wasm_server.hpp"\n#include <stdexcept>\n'
                   'static ws::Response h(const ws::Request&) { throw std::runtime_error("x"); }\n'
                   "WASM_SERVER_SERVE(h)\n")
    with pytest.raises(BuildError, match=r"exceptions disabled(.|\n)*no exception runtime"):
        cpp.main(["-o", str(tmp_path / "t.wasm"), str(src)])


def test_cli_runs_the_tool_under_both_names(tmp_path: Path) -> None:
    for name in ("c++", "cxx"):
        out = tmp_path / f"{name}.wasm"
        proc = subprocess.run([*CLI, name, "-o", str(out), str(HELLO)], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        assert f"wrote {out}" in proc.stderr and out.exists()
    bad = subprocess.run([*CLI, "cxx", "main.cpp"], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and bad.stderr.startswith("error: wasm-server c++: missing -o")


def test_status_reports_zig_for_doctor() -> None:
    s = cpp.status()
    assert s.language == "cpp" and s.found and s.version and s.install == "pip install 'wasm-server[cpp]'"
