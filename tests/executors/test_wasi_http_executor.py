"""The wasi-http executor driven directly (no server): loading, refusals, a request, limits."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e import wasi_http_guests
from wasm_server.abi_codec import GuestRequest
from wasm_server.capabilities.host import ComponentHost
from wasm_server.engine import Limits, Runtime
from wasm_server.errors import GuestError, LoadError
from wasm_server.executors.wasi_http.detect import is_component
from wasm_server.executors.wasi_http.executor import WasiHttpExecutor

WASM_TOOLS = Path(sys.executable).parent / "wasm-tools"


def component(text: str, tmp_path: Path) -> bytes:
    """A component from WAT text (wasm-tools parse)."""
    src = tmp_path / "c.wat"
    src.write_text(text)
    out = tmp_path / "c.wasm"
    subprocess.run([str(WASM_TOOLS), "parse", str(src), "-o", str(out)], check=True)
    return out.read_bytes()


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    rt = Runtime(tmp_path / "cache")
    yield rt  # type: ignore[misc]
    rt.close()


def executor(runtime: Runtime, wasm: bytes, **limits: float) -> WasiHttpExecutor:
    host = ComponentHost("t", logging.getLogger("wasm_server.guest"))
    return WasiHttpExecutor(runtime, wasm, "test.wasm", host, Limits(**limits))  # type: ignore[arg-type]


def test_component_header_is_told_from_a_core_module(tmp_path: Path) -> None:
    assert is_component(component("(component)", tmp_path))
    assert not is_component(b"\0asm\x01\x00\x00\x00")
    assert not is_component(b"not wasm")


async def test_a_component_without_an_incoming_handler_is_refused(runtime: Runtime, tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="not a wasi:http/proxy component: it exports nothing"):
        await executor(runtime, component("(component)", tmp_path)).check()


async def test_an_import_the_server_does_not_provide_is_refused_at_load(runtime: Runtime, tmp_path: Path) -> None:
    wasm = component('(component (import "acme:thing/api@1.0.0" (instance (export "f" (func)))))', tmp_path)
    why = re.escape("imports 'acme:thing/api@1.0.0', which this server does not provide")
    with pytest.raises(LoadError, match=why):
        await executor(runtime, wasm).check()


async def test_the_wat_hello_answers_and_counts_its_host_calls(runtime: Runtime) -> None:
    ex = executor(runtime, wasi_http_guests.wat_hello().read_bytes())
    await ex.check()
    resp = await ex.handle(GuestRequest(b"GET", b"/p?q"))
    assert resp.status == 200 and resp.body == b"Hello from C\npath: /p\n"
    assert (b"content-length", b"22") in resp.headers


async def test_compiles_once_then_loads_from_the_cache(runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    wasm = wasi_http_guests.wat_hello().read_bytes()
    with caplog.at_level(logging.INFO, "wasm_server"):
        await executor(runtime, wasm).check()
        await executor(runtime, wasm).check()
    assert [r.message for r in caplog.records].count(
        "compiling test.wasm (0.0 MiB, not in the compile cache yet)") == 1
    assert runtime.cache.misses == 1 and runtime.cache.hits == 1


async def test_a_guest_past_its_deadline_is_stopped(runtime: Runtime, tmp_path: Path) -> None:
    # a handler that loops forever: the epoch deadline stops it (GuestTimeout -> 504 in the app)
    wasm = component("""
(component
  (core module $m (func (export "handle") (param i32 i32) (loop $l (br $l))))
  (core instance $i (instantiate $m))
  (type $req (resource (rep i32)))
  (type $out (resource (rep i32)))
  (import "wasi:http/types@0.2.0" (instance $types
    (export "incoming-request" (type (sub resource)))
    (export "response-outparam" (type (sub resource)))))
  (alias export $types "incoming-request" (type $ir))
  (alias export $types "response-outparam" (type $ro))
  (func $handle (param "request" (own $ir)) (param "response-out" (own $ro)) (canon lift (core func $i "handle")))
  (instance $h (export "handle" (func $handle)))
  (export "wasi:http/incoming-handler@0.2.0" (instance $h))
)""", tmp_path)
    ex = executor(runtime, wasm, timeout=0.3)
    await ex.check()
    from wasm_server.errors import GuestTimeout

    with pytest.raises(GuestTimeout):
        await ex.handle(GuestRequest(b"GET", b"/"))
    # the next request gets a fresh instance, and is stopped the same way (nothing wedged)
    with pytest.raises(GuestError):
        await ex.handle(GuestRequest(b"GET", b"/"))


async def test_reused_instances_are_pooled_and_evicted_when_idle(runtime: Runtime) -> None:
    host = ComponentHost("t", logging.getLogger("wasm_server.guest"))
    ex = WasiHttpExecutor(runtime, wasi_http_guests.wat_hello().read_bytes(), "test.wasm", host, Limits(),
                          instance_reuse=10)
    await ex.check()
    for _ in range(3):
        assert (await ex.handle(GuestRequest(b"GET", b"/"))).status == 200
    assert ex.evict_idle(older_than=3600) == 0
    assert ex.evict_idle(older_than=0) == 1


def test_manifest_accepts_wasi_http_and_refuses_connections_for_it(tmp_path: Path) -> None:
    from wasm_server.errors import ConfigError
    from wasm_server.manifest import load_manifest

    path = tmp_path / "wasm-server.toml"
    path.write_text('[[component]]\nname = "c"\nsource = "c.wasm"\nabi = "wasi-http"\nroutes = ["/..."]\n')
    assert load_manifest(path).components[0].abi == "wasi-http"
    path.write_text('[[component]]\nname = "c"\nsource = "c.wasm"\nabi = "wasi-http"\n'
                    'routes = [{ path = "/ws", websocket = true }]\n')
    with pytest.raises(ConfigError, match="a wasi:http component serves plain HTTP only"):
        load_manifest(path)


async def test_a_wasi_0_3_import_is_refused_at_load(runtime: Runtime, tmp_path: Path) -> None:
    wasm = component('(component (import "wasi:cli/environment@0.3.0" (instance '
                     '(export "get-arguments" (func (result (list string)))))))', tmp_path)
    with pytest.raises(LoadError, match=re.escape("imports 'wasi:cli/environment@0.3.0': only WASI 0.2")):
        await executor(runtime, wasm).check()


async def test_an_older_0_2_version_links(runtime: Runtime, tmp_path: Path) -> None:
    # linked from the component's own import types: any 0.2.x is served (here @0.2.1, no handler)
    wasm = component('(component (import "wasi:cli/environment@0.2.1" (instance '
                     '(export "get-arguments" (func (result (list string)))))))', tmp_path)
    with pytest.raises(LoadError, match="not a wasi:http/proxy component"):
        await executor(runtime, wasm).check()
