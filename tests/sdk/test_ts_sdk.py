"""The TypeScript (AssemblyScript) SDK: its codec against the shared vectors, and its modules."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import wasmtime

from wasm_server.errors import BuildError
from wasm_server.toolchain import assemblyscript as ts

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "sdk" / "assemblyscript"
VECTORS = json.loads((ROOT / "sdk" / "abi" / "vectors.json").read_text())
pytestmark = pytest.mark.skipif(
    not ts.ASC.exists() or shutil.which("node") is None,
    reason="AssemblyScript is not installed (scripts/setup runs npm ci in sdk/assemblyscript)")


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
    built = subprocess.run([str(ts.ASC), "tests/vectors.ts", "-o", str(out), "-O3"], cwd=SDK, capture_output=True,
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


def test_ts_build_makes_a_reactor_that_imports_only_the_host(tmp_path: Path) -> None:
    out = tmp_path / "hello.wasm"
    entry = ROOT / "examples" / "hello" / "ts" / "assembly" / "index.ts"
    assert ts.main(["-o", str(out), str(entry)]) == 0
    module = wasmtime.Module(wasmtime.Engine(), out.read_bytes())
    exports = {e.name for e in module.exports}
    assert {"memory", "_initialize", "wasm_server_abi_version", "wasm_server_alloc", "wasm_server_handle",
            "wasm_server_request_buffer"} <= exports
    assert "_start" not in exports
    assert {i.module for i in module.imports} <= {"wasm_server", "wasi_snapshot_preview1"}


def test_ts_build_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="missing -o"):
        ts.main([str(tmp_path / "x.ts")])
    with pytest.raises(BuildError, match=r"no .*nothing\.ts"):
        ts.main(["-o", str(tmp_path / "x.wasm"), str(tmp_path / "nothing.ts")])
    bad = tmp_path / "assembly" / "index.ts"
    bad.parent.mkdir()
    bad.write_text("export function f(: i32 {")
    with pytest.raises(BuildError, match="asc failed"):
        ts.main(["-o", str(tmp_path / "b.wasm"), str(bad)])
