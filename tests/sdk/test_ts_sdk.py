"""The TypeScript (AssemblyScript) SDK: its codec against the shared vectors, ts-build, and
the examples driven through ABI v1 by a fake host (KV, outbound HTTP, connections) in wasmtime."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from wasm_server import abi_codec as abi
from wasm_server.errors import BuildError
from wasm_server.toolchain import assemblyscript as ts
from wasm_server.toolchain import sdk

ROOT = Path(__file__).resolve().parents[2]
SDK = sdk.sdk_dir("assemblyscript")
ASC = SDK / "node_modules" / ".bin" / "asc"
EXAMPLES = ROOT / "examples"
VECTORS = json.loads((ROOT / "sdk" / "abi" / "vectors.json").read_text())
pytestmark = pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                                reason="Node.js and npm are needed to compile AssemblyScript")


@pytest.fixture(scope="module", autouse=True)
def _asc_installed() -> None:
    if not ASC.exists():
        pytest.fail(f"{ASC} is missing: run scripts/setup (npm ci --prefix sdk/assemblyscript)")


# ---- the codec, against sdk/abi/vectors.json -----------------------------------------


class Codec:
    """The codec test module (sdk/assemblyscript/tests/vectors.ts) in wasmtime."""

    def __init__(self, wasm: Path) -> None:
        engine = wasmtime.Engine()
        module = wasmtime.Module.from_file(engine, str(wasm))
        self.store = wasmtime.Store(engine)
        linker = wasmtime.Linker(engine)
        abort = next(i for i in module.imports if i.name == "abort")
        assert isinstance(abort.type, wasmtime.FuncType)

        def fail(*_args: int) -> None:
            raise wasmtime.Trap("abort")

        linker.define_func("env", "abort", abort.type, fail)
        self.exports = linker.instantiate(self.store, module).exports(self.store)

    def call(self, name: str, data: bytes) -> bytes | None:
        ptr = self.exports["alloc"](self.store, len(data))  # type: ignore[operator]
        memory = self.exports["memory"]
        assert isinstance(memory, wasmtime.Memory)
        memory.write(self.store, data, ptr)
        ret = self.exports[name](self.store, ptr, len(data))  # type: ignore[operator]
        if ret < 0:
            return None
        return bytes(memory.read(self.store, ret >> 32, (ret >> 32) + (ret & 0xFFFFFFFF)))


@pytest.fixture(scope="module")
def codec(tmp_path_factory: pytest.TempPathFactory) -> Codec:
    out = tmp_path_factory.mktemp("ts") / "vectors.wasm"
    built = subprocess.run([str(ASC), "tests/vectors.ts", "-o", str(out), "-O3"], cwd=SDK, capture_output=True,
                           text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    return Codec(out)


@pytest.mark.parametrize("vector", VECTORS["requests"], ids=lambda v: v["name"])
def test_request_vectors_decode_to_their_fields_and_reencode_byte_for_byte(codec: Codec, vector: dict[str, object]
                                                                           ) -> None:
    encoded = bytes.fromhex(str(vector["encoded"]))
    assert codec.call("reencode_request", encoded) == encoded
    described = codec.call("describe_request", encoded)
    assert described is not None
    lines = described.decode().split("\n")

    def text(key: str) -> str:
        return bytes.fromhex(str(vector[key])).decode()

    assert lines[:6] == [text("method"), text("url"), text("route"), text("base"), text("path_info"), text("client")]
    headers = vector["headers"]
    params = vector["params"]
    assert isinstance(headers, list) and isinstance(params, list)
    assert lines[6:9] == [str(len(params)), str(len(headers)), str(len(bytes.fromhex(str(vector["body"]))))]
    for (name, value), line in zip(headers, lines[9:], strict=False):
        assert line == f"{bytes.fromhex(name).decode()}: {bytes.fromhex(value).decode()}"


@pytest.mark.parametrize("vector", VECTORS["responses"], ids=lambda v: v["name"])
def test_response_vectors_reencode_byte_for_byte(codec: Codec, vector: dict[str, object]) -> None:
    encoded = bytes.fromhex(str(vector["encoded"]))
    assert codec.call("reencode_response", encoded) == encoded


@pytest.mark.parametrize("garbage", [b"", b"\x01\x02", bytes.fromhex(VECTORS["responses"][0]["encoded"])[:-1],
                                     bytes.fromhex(VECTORS["responses"][0]["encoded"]) + b"\x00"])
def test_truncated_or_trailing_responses_are_refused(codec: Codec, garbage: bytes) -> None:
    assert codec.call("reencode_response", garbage) is None


def test_npm_test_runs_the_vectors_under_node() -> None:
    done = subprocess.run(["npm", "test", "--silent"], cwd=SDK, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok: 8 vectors" in done.stdout


# ---- a fake host: ABI v1's imports over dicts and lists ------------------------------------


class FakeHost:
    """Just enough of the server's side of ABI v1 to drive a module without sockets."""

    def __init__(self, wasm: Path) -> None:
        engine = wasmtime.Engine()
        self.module = wasmtime.Module.from_file(engine, str(wasm))
        self.store = wasmtime.Store(engine)
        self.store.set_wasi(wasmtime.WasiConfig())
        self.slot = b""
        self.kv: dict[bytes, bytes] = {}
        self.kv_failure = 0  # an error code every KV call returns, when set
        self.variables = {b"greeting": b"hi"}
        self.logs: list[tuple[int, str]] = []
        self.sent: list[tuple[int, bytes]] = []  # conn_send
        self.ws: list[tuple[int, int, bytes]] = []  # ws_send
        self.datagrams: list[tuple[int, bytes, bytes]] = []  # udp_send
        self.streamed: list[bytes] = []  # stream_start's head, then every stream_write
        self.socket_log: list[tuple[str, object]] = []  # tcp_connect, sock_send, sock_close
        self.socket_replies: list[bytes | int] = []  # what sock_recv returns, in order
        self.outbound: list[abi.OutboundRequest] = []
        self.upstream: bytes | tuple[int, bytes] = abi.encode_response(abi.GuestResponse(200))
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        for imp in self.module.imports:
            if imp.module == "wasm_server":
                assert isinstance(imp.type, wasmtime.FuncType)
                assert imp.name is not None
                linker.define_func("wasm_server", imp.name, imp.type, self._import(imp.name, imp.type),
                                   access_caller=True)
        self.exports = linker.instantiate(self.store, self.module).exports(self.store)
        self.call("_initialize")

    def call(self, name: str, *args: int) -> Any:
        return self.exports[name](self.store, *args)  # type: ignore[operator]

    @property
    def memory(self) -> wasmtime.Memory:
        memory = self.exports["memory"]
        assert isinstance(memory, wasmtime.Memory)
        return memory

    def _import(self, name: str, ty: wasmtime.FuncType) -> Callable[..., Any]:
        method = getattr(self, "_" + name, None)
        if method is None:
            return lambda _caller, *_args: 0 if ty.results else None

        def call(caller: wasmtime.Caller, *args: int) -> Any:
            memory = caller["memory"]
            assert isinstance(memory, wasmtime.Memory)

            def read(ptr: int, n: int) -> bytes:
                return bytes(memory.read(caller, ptr, ptr + n))

            def write(ptr: int, data: bytes) -> None:
                memory.write(caller, data, ptr)

            return method(read, write, *args)

        return call

    def _result(self, data: bytes) -> int:
        self.slot = data
        return len(data)

    def _error(self, code: int, message: bytes) -> int:
        self.slot = message
        return code

    def _result_read(self, _read: Any, write: Any, ptr: int, n: int) -> int:
        write(ptr, self.slot[:n])
        return len(self.slot)

    def _log(self, read: Any, _write: Any, level: int, ptr: int, n: int) -> None:
        self.logs.append((level, read(ptr, n).decode()))

    def _var_get(self, read: Any, _write: Any, ptr: int, n: int) -> int:
        value = self.variables.get(read(ptr, n))
        return self._error(-1, b"") if value is None else self._result(value)

    def _kv_get(self, read: Any, _write: Any, sp: int, sl: int, kp: int, kl: int) -> int:
        assert read(sp, sl) == b"default"
        if self.kv_failure:
            return self._error(self.kv_failure, b"the store is unavailable")
        value = self.kv.get(read(kp, kl))
        return self._error(-1, b"") if value is None else self._result(value)

    def _kv_incr(self, read: Any, write: Any, sp: int, sl: int, kp: int, kl: int, delta: int, out: int) -> int:
        assert read(sp, sl) == b"default"
        if self.kv_failure:
            return self._error(self.kv_failure, b"the store is unavailable")
        key = read(kp, kl)
        value = int(self.kv.get(key, b"0")) + delta
        self.kv[key] = str(value).encode()
        write(out, struct.pack("<q", value))
        return 0

    def _kv_set(self, read: Any, _write: Any, sp: int, sl: int, kp: int, kl: int, vp: int, vl: int) -> int:
        self.kv[read(kp, kl)] = read(vp, vl)
        return 0

    def _kv_delete(self, read: Any, _write: Any, sp: int, sl: int, kp: int, kl: int) -> int:
        self.kv.pop(read(kp, kl), None)
        return 0

    def _kv_exists(self, read: Any, _write: Any, sp: int, sl: int, kp: int, kl: int) -> int:
        return int(read(kp, kl) in self.kv)

    def _kv_keys(self, read: Any, _write: Any, sp: int, sl: int, pp: int, pl: int) -> int:
        prefix = read(pp, pl)
        return self._result(abi.encode_key_list(sorted(k for k in self.kv if k.startswith(prefix))))

    def _udp_send(self, read: Any, _write: Any, sock: int, pp: int, pl: int, dp: int, dl: int) -> int:
        self.datagrams.append((sock, read(pp, pl), read(dp, dl)))
        return 0

    def _stream_start(self, read: Any, _write: Any, ptr: int, n: int) -> int:
        self.streamed.append(read(ptr, n))
        return 0

    def _stream_write(self, read: Any, _write: Any, ptr: int, n: int) -> int:
        self.streamed.append(read(ptr, n))
        return 0

    def _tcp_connect(self, read: Any, _write: Any, hp: int, hl: int, port: int) -> int:
        name = read(hp, hl).decode()
        self.socket_log.append(("connect", (name, port)))
        return 7 if name == "127.0.0.1" else self._error(-2, b"tcp://" + name.encode() + b" is not allowed")

    def _sock_send(self, read: Any, _write: Any, sock: int, ptr: int, n: int) -> int:
        self.socket_log.append(("send", (sock, read(ptr, n))))
        return 0

    def _sock_recv(self, _read: Any, _write: Any, sock: int, max_: int, timeout_ms: int) -> int:
        reply = self.socket_replies.pop(0)
        return self._error(reply, b"timed out") if isinstance(reply, int) else self._result(reply[:max_])

    def _sock_close(self, _read: Any, _write: Any, sock: int) -> int:
        self.socket_log.append(("close", sock))
        return 0

    def _http_send(self, read: Any, _write: Any, ptr: int, n: int) -> int:
        self.outbound.append(abi.decode_outbound(read(ptr, n)))
        if isinstance(self.upstream, tuple):
            return self._error(*self.upstream)
        return self._result(self.upstream)

    def _conn_send(self, read: Any, _write: Any, conn: int, ptr: int, n: int) -> int:
        self.sent.append((conn, read(ptr, n)))
        return 0

    def _ws_send(self, read: Any, _write: Any, conn: int, flags: int, ptr: int, n: int) -> int:
        self.ws.append((conn, flags, read(ptr, n)))
        return 0

    def event(self, kind: int, payload: bytes, *, reuse: bool = True) -> int | bytes:
        """One event, written where the server would write it; the response bytes, or the return value."""
        ptr = self.call("wasm_server_request_buffer" if reuse else "wasm_server_alloc", len(payload))
        assert ptr > 0
        self.memory.write(self.store, payload, ptr)
        ret: int = self.call("wasm_server_handle", kind, ptr, len(payload))
        if kind != abi.KIND_HTTP_REQUEST or ret < 0:
            return ret
        return bytes(self.memory.read(self.store, ret >> 32, (ret >> 32) + (ret & 0xFFFFFFFF)))

    def request(self, method: str = "GET", url: str = "/", *, route: str = "/...", base: str = "",
                headers: abi.Pairs = (), body: bytes = b"", reuse: bool = True) -> abi.GuestResponse:
        path = url.split("?")[0]
        req = abi.GuestRequest(method.encode(), url.encode(), route.encode(), base.encode(),
                               path[len(base):].encode(), b"127.0.0.1:5000", (), headers, body)
        out = self.event(abi.KIND_HTTP_REQUEST, abi.encode_request(req), reuse=reuse)
        assert isinstance(out, bytes), f"the guest failed: {out}"
        return abi.decode_response(out)

    def pages(self) -> int:
        return self.memory.size(self.store)


def header(res: abi.GuestResponse, name: str) -> str | None:
    values = [v.decode() for n, v in res.headers if n.decode().lower() == name]
    return ", ".join(values) if values else None


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """examples/*/ts built with ts-build, once for this module."""
    out = tmp_path_factory.mktemp("ts-examples")
    wasm = {}
    for name in ("hello", "kv-counter", "tcp-echo", "echo"):
        wasm[name] = ts.build(["-o", str(out / f"{name}.wasm")], EXAMPLES / name / "ts")
    # an entry outside the project directory (the generated entry reaches it with ../)
    wasm["features"] = ts.build(["-o", "features.wasm", str(SDK / "tests" / "features.ts")], out)
    return wasm


# ---- ts-build -------------------------------------------------------------------------


def test_ts_build_makes_a_small_reactor_that_imports_only_the_host(built: dict[str, Path]) -> None:
    for wasm in built.values():
        module = wasmtime.Module(wasmtime.Engine(), wasm.read_bytes())
        exports = {e.name: e.type for e in module.exports}
        assert {"memory", "_initialize", "wasm_server_abi_version", "wasm_server_alloc", "wasm_server_handle",
                "wasm_server_request_buffer"} <= set(exports)
        assert "_start" not in exports
        assert {i.module for i in module.imports} <= {"wasm_server", "wasi_snapshot_preview1"}, wasm
    memory = wasmtime.Module(wasmtime.Engine(), built["hello"].read_bytes()).exports
    hello_memory = next(e.type for e in memory if e.name == "memory")
    assert isinstance(hello_memory, wasmtime.MemoryType) and hello_memory.limits.min == 1  # one 64 KiB page
    assert built["hello"].stat().st_size < 32 * 1024


def test_ts_build_help_prints_the_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert ts.main(["--help"]) == 0
    assert "wasm-server ts-build -o app.wasm" in capsys.readouterr().err


def test_ts_build_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="missing -o"):
        ts.build([str(tmp_path / "x.ts")], tmp_path)
    with pytest.raises(BuildError, match="-o needs a value"):
        ts.build(["-o"], tmp_path)
    with pytest.raises(BuildError, match=r"no .*nothing\.ts"):
        ts.build(["-o", "x.wasm", "nothing.ts"], tmp_path)
    with pytest.raises(BuildError, match=r"no .*assembly/index\.ts \(run it in the project"):
        ts.build(["-o", "x.wasm"], tmp_path)
    bad = tmp_path / "assembly" / "index.ts"
    bad.parent.mkdir()
    bad.write_text("export function f(: i32 {")
    with pytest.raises(BuildError, match="asc failed"):
        ts.build(["-o", "b.wasm"], tmp_path)
    (tmp_path / "asconfig.json").write_text("{not json")
    with pytest.raises(BuildError, match=r"asconfig\.json is not valid JSON"):
        ts.build(["-o", "b.wasm"], tmp_path)


def test_a_module_importing_what_the_server_lacks_fails_the_build(tmp_path: Path) -> None:
    src = tmp_path / "assembly" / "index.ts"
    src.parent.mkdir()
    src.write_text('import { Request, Response, serve } from "wasm-server";\n'
                   "function h(req: Request): Response { return new Response(Date.now().toString()); }\n"
                   "serve(h);\n")
    with pytest.raises(BuildError, match=r"env\.Date\.now.*now\(\)"):
        ts.build(["-o", "d.wasm"], tmp_path)
    assert not (tmp_path / "d.wasm").exists()


def test_trace_random_and_now_go_to_the_host_and_wasi(tmp_path: Path) -> None:
    src = tmp_path / "assembly" / "index.ts"
    src.parent.mkdir()
    src.write_text('import { Request, Response, Variables, now, serve } from "wasm-server";\n'
                   "function h(req: Request): Response {\n"
                   '  trace("tracing", 1, 2.5);\n'
                   '  const v = Variables.get("missing");\n'
                   '  const g = Variables.get("greeting");\n'
                   '  return new Response(Math.random().toString() + " " + now().toString() + " " +\n'
                   '    (v == null ? "none" : "some") + " " + (g == null ? "none" : <string>g));\n'
                   "}\nserve(h);\n")
    out = ts.build(["-o", "t.wasm"], tmp_path)
    host = FakeHost(out)
    assert {i.module for i in host.module.imports} == {"wasm_server", "wasi_snapshot_preview1"}
    res = host.request()
    rand, ms, missing, greeting = res.body.decode().split(" ")
    assert 0 <= float(rand) < 1 and int(ms) > 1_700_000_000_000 and (missing, greeting) == ("none", "hi")
    assert (1, "trace: tracing 2.5") in host.logs


# ---- the examples, through the ABI ------------------------------------------------------


def test_hello_greets_with_the_path_below_the_route(built: dict[str, Path]) -> None:
    host = FakeHost(built["hello"])
    assert host.call("wasm_server_abi_version") == 1
    res = host.request("GET", "/hello/ts/a/b?x=1", route="/hello/ts/...", base="/hello/ts")
    assert res.status == 200
    assert header(res, "content-type") == "text/plain; charset=utf-8"
    assert res.body == b"Hello from TypeScript\npath: /a/b\n"
    # the alloc path (no request buffer) answers the same
    assert host.request("GET", "/x", reuse=False).body == b"Hello from TypeScript\npath: /x\n"


def test_hello_refuses_event_kinds_it_does_not_handle(built: dict[str, Path]) -> None:
    host = FakeHost(built["hello"])
    for kind, payload in [(abi.KIND_TCP_CONNECT, abi.encode_connect(1, b"1.2.3.4:5", b"0.0.0.0:7")),
                          (abi.KIND_TCP_DATA, abi.encode_data(1, b"x")), (abi.KIND_TCP_CLOSE, abi.encode_conn(1)),
                          (abi.KIND_UDP_DATAGRAM, abi.encode_datagram(1, b"1.2.3.4:5", b"x")),
                          (abi.KIND_WS_MESSAGE, abi.encode_ws_message(1, False, b"x")),
                          (abi.KIND_WS_CLOSE, abi.encode_ws_close(1, 1000, b"")), (16, b""), (99, b"\0" * 8)]:
        assert host.event(kind, payload) == -1, kind
    assert host.request().status == 200  # and it still serves


def test_a_reused_instance_idles_at_its_live_data(built: dict[str, Path]) -> None:
    hello = FakeHost(built["hello"])
    for _ in range(2000):
        hello.request("GET", "/x")
    assert hello.pages() == 1
    echo = FakeHost(built["echo"])
    body = bytes(range(256)) * 256  # 64 KiB
    for i in range(100):
        assert echo.request("POST", "/echo/x", route="/echo/...", base="/echo", body=body, reuse=i % 2 == 0
                            ).body == body
    assert echo.pages() <= 8  # request buffer, body copy and response: no garbage carried over


def test_kv_counter_counts_reads_and_refuses_other_methods(built: dict[str, Path]) -> None:
    host = FakeHost(built["kv-counter"])
    assert host.request("GET", "/count", route="/count").body == b"0\n"
    assert [host.request("POST", "/count", route="/count").body for _ in range(3)] == [b"1\n", b"2\n", b"3\n"]
    assert host.kv == {b"counter": b"3"}
    got = host.request("GET", "/count", route="/count")
    assert (got.status, got.body) == (200, b"3\n")
    assert host.request("HEAD", "/count", route="/count").status == 200
    refused = host.request("PUT", "/count", route="/count")
    assert refused.status == 405 and header(refused, "allow") == "GET, POST"


def test_kv_counter_answers_503_when_the_store_fails(built: dict[str, Path]) -> None:
    host = FakeHost(built["kv-counter"])
    host.kv_failure = -5
    assert host.request("POST", "/count", route="/count").status == 503
    assert host.request("GET", "/count", route="/count").status == 503
    assert (4, "increment failed: the store is unavailable") in host.logs


def test_echo_returns_a_mebibyte_of_binary_and_the_request_it_saw(built: dict[str, Path]) -> None:
    host = FakeHost(built["echo"])
    body = bytes(range(256)) * 4096
    res = host.request("PUT", "/echo/x?q=1", route="/echo/...", base="/echo", body=body,
                       headers=[(b"x-test-a", b"1"), (b"x-test-a", b"2"), (b"x-other", b"no")])
    assert res.status == 200 and res.body == body
    assert header(res, "x-echo-method") == "PUT" and header(res, "x-echo-url") == "/echo/x?q=1"
    assert header(res, "x-echo-path") == "/x" and header(res, "x-echo-x-test-a") == "1, 2"
    assert header(res, "content-type") == "application/octet-stream" and header(res, "x-echo-x-other") is None
    typed = host.request("POST", "/echo/", route="/echo/...", base="/echo", headers=[(b"content-type", b"text/x")])
    assert header(typed, "content-type") == "text/x" and typed.body == b""


def test_echo_fetches_through_the_host_and_maps_its_errors(built: dict[str, Path]) -> None:
    host = FakeHost(built["echo"])
    assert host.request("GET", "/fetch", route="/fetch").status == 400
    host.upstream = abi.encode_response(abi.GuestResponse(201, [(b"a", b"b")], b"upstream body"))
    res = host.request("GET", "/fetch", route="/fetch", headers=[(b"x-fetch-url", b"http://127.0.0.1:1/p?q")])
    assert (res.status, header(res, "x-upstream-status"), res.body) == (200, "201", b"upstream body")
    assert host.outbound[-1] == abi.OutboundRequest(b"GET", b"http://127.0.0.1:1/p?q", [], b"")
    host.upstream = (-2, b"localhost is not allowed")
    denied = host.request("GET", "/fetch", route="/fetch", headers=[(b"x-fetch-url", b"http://localhost:1/")])
    assert denied.status == 403 and denied.body == b"denied: localhost is not allowed\n"
    host.upstream = (-5, b"connection refused")
    failed = host.request("GET", "/fetch", route="/fetch", headers=[(b"x-fetch-url", b"http://127.0.0.1:1/")])
    assert failed.status == 502 and failed.body == b"fetch failed: connection refused\n"


def test_echo_sends_websocket_messages_back_with_their_type(built: dict[str, Path]) -> None:
    host = FakeHost(built["echo"])
    upgrade = abi.encode_request(abi.GuestRequest(b"GET", b"/ws", b"/ws"))
    assert host.event(abi.KIND_WS_OPEN, struct.pack("<I", 7) + upgrade) == 0
    assert host.event(abi.KIND_WS_MESSAGE, abi.encode_ws_message(7, False, "héllo".encode())) == 0
    assert host.event(abi.KIND_WS_MESSAGE, abi.encode_ws_message(7, True, b"\x00\xff")) == 0
    assert host.event(abi.KIND_WS_CLOSE, abi.encode_ws_close(7, 1000, b"bye")) == 0
    assert host.ws == [(7, 0, "héllo".encode()), (7, 1, b"\x00\xff")]
    assert host.event(abi.KIND_TCP_DATA, abi.encode_data(7, b"x")) == -1  # not a TCP service


def test_tcp_echo_sends_every_byte_back(built: dict[str, Path]) -> None:
    host = FakeHost(built["tcp-echo"])
    assert host.event(abi.KIND_TCP_CONNECT, abi.encode_connect(3, b"127.0.0.1:9", b"0.0.0.0:7")) == 0
    assert host.event(abi.KIND_TCP_DATA, abi.encode_data(3, b"hi\n")) == 0
    assert host.event(abi.KIND_TCP_DATA, abi.encode_data(3, bytes(range(256)))) == 0
    assert host.event(abi.KIND_TCP_CLOSE, abi.encode_conn(3)) == 0
    assert host.sent == [(3, b"hi\n"), (3, bytes(range(256)))]
    assert host.event(abi.KIND_HTTP_REQUEST, abi.encode_request(abi.GuestRequest(b"GET", b"/"))) == -1


# ---- the rest of the SDK (sdk/assemblyscript/tests/features.ts) -------------------------------


def test_kv_calls_reach_the_store_and_report_absence(built: dict[str, Path]) -> None:
    host = FakeHost(built["features"])
    res = host.request("GET", "/kv")
    assert res.body == b"true false a/2 -1 two"
    assert host.kv == {b"a/2": b"two", b"b": b"x"}


def test_headers_behave_like_fetch(built: dict[str, Path]) -> None:
    res = FakeHost(built["features"]).request("GET", "/headers")
    assert res.status == 201
    assert res.body == b"1, 2|1;2|false|X-A=1;x-a=2;b=4;"
    assert list(res.headers) == [(b"b", b"4")]


def test_request_fields_and_response_helpers(built: dict[str, Path]) -> None:
    host = FakeHost(built["features"])
    req = abi.GuestRequest(b"GET", b"/json?a=1&b=2", b"/json", b"", b"/json", b"[::1]:1", [(b"id", b"42")])
    out = host.event(abi.KIND_HTTP_REQUEST, abi.encode_request(req))
    assert isinstance(out, bytes)
    res = abi.decode_response(out)
    assert header(res, "content-type") == "application/json" and json.loads(res.body) == {"q": "a=1&b=2", "id": "42"}
    redirect = host.request("GET", "/redirect")
    assert (redirect.status, header(redirect, "location")) == (302, "/there")
    other = host.request("POST", "/other", body=b"\x00\x01body")
    assert (other.status, other.body) == (404, b"\x00\x01body")


def test_abort_logs_its_message_then_traps(built: dict[str, Path]) -> None:
    host = FakeHost(built["features"])
    with pytest.raises(wasmtime.Trap):
        host.request("GET", "/abort")
    assert len(host.logs) == 1
    level, line = host.logs[0]
    assert level == 4 and line.startswith("abort: boom at ") and "features.ts:" in line


def test_udp_datagrams_reach_the_handler_and_replies_the_peer(built: dict[str, Path]) -> None:
    host = FakeHost(built["features"])
    assert host.event(abi.KIND_UDP_DATAGRAM, abi.encode_datagram(5, b"127.0.0.1:999", b"ping")) == 0
    assert host.datagrams == [(5, b"127.0.0.1:999", b"ping")]
    assert host.event(abi.KIND_TCP_DATA, abi.encode_data(5, b"x")) == -1


def test_a_streamed_response_sends_its_head_then_its_chunks(built: dict[str, Path]) -> None:
    host = FakeHost(built["features"])
    res = host.request("GET", "/stream")
    assert res.flags == 1  # the host ignores the rest of this response
    head = abi.decode_response(host.streamed[0])
    assert head.status == 206 and header(head, "x-streamed") == "yes" and head.body == b""
    assert host.streamed[1:] == [b"data: 1\n\n", b"data: 2\n\n"]


def test_outbound_sockets_send_receive_time_out_and_close(built: dict[str, Path]) -> None:
    host = FakeHost(built["features"])
    host.socket_replies = [b"+PONG\r\n", -6]
    res = host.request("GET", "/socket?127.0.0.1")
    assert res.body == b"+PONG\r\n-6"
    assert host.socket_log == [("connect", ("127.0.0.1", 6379)), ("send", (7, b"PING\r\n")), ("close", 7)]
    denied = host.request("GET", "/socket?example.com")
    assert (denied.status, denied.body) == (403, b"-2 tcp://example.com is not allowed")
