"""The capability lifecycle: configure at load, state per instance, release with the instance."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from wasm_server.capabilities import ALL_IMPORTS, ComponentHost, LoadEnv, configure
from wasm_server.capabilities.outbound_sockets import OutboundSocket, SocketTable
from wasm_server.capabilities.stdio import GuestOutput
from wasm_server.engine import GuestInstance, HostCall, Limits, Runtime, WasiContext
from wasm_server.errors import ConfigError, GuestError
from wasm_server.manifest import load_manifest

MANIFEST = """
[[component]]
name = "svc"
source = "svc.wasm"
routes = ["/..."]
key_value_stores = ["{store}"]
allowed_outbound_hosts = ["tcp://db.internal:5432"]
variables = {{ greeting = "hi" }}
files = [{{ source = "static", path = "/static" }}]
"""


class Stores:
    def get(self, label: str) -> object:
        raise AssertionError("configure must not open stores")

    def has(self, label: str) -> bool:
        return label == "default"

    def labels(self) -> list[str]:
        return ["default"]


def _spec(tmp_path: Path, store: str = "default") -> object:
    (tmp_path / "static").mkdir(exist_ok=True)
    (tmp_path / "wasm-server.toml").write_text(MANIFEST.format(store=store))
    return load_manifest(tmp_path).components[0]


def test_configure_builds_the_component_host_from_the_manifest(tmp_path: Path) -> None:
    host = configure(_spec(tmp_path), LoadEnv(Stores()))  # type: ignore[arg-type]
    assert host.name == "svc" and host.variables == {"greeting": "hi"}
    assert host.key_value_stores == frozenset({"default"})
    assert host.outbound_check("tcp", "db.internal", 5432) is None
    assert host.outbound_check("tcp", "db.internal", 5433) is not None
    assert host.wasi.preopens == ((str((tmp_path / "static").resolve()), "/static"),)


def test_configure_refuses_an_unconfigured_store_naming_the_component(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"component 'svc'\.key_value_stores: key-value store 'cache' is not "
                                          r"configured \(configured: default\)"):
        configure(_spec(tmp_path, "cache"), LoadEnv(Stores()))  # type: ignore[arg-type]


class FakeSocket(OutboundSocket):
    def __init__(self) -> None:
        super().__init__("tcp")
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_outbound_sockets_outlive_events_and_close_on_release() -> None:
    call = ComponentHost("svc", logging.getLogger("wasm_server.guest")).new_call()
    table = call.sockets = SocketTable()
    socks = [FakeSocket(), FakeSocket()]
    assert [table.add(s) for s in socks] == [1, 2]
    call.after_event()
    assert call.sockets is table and [s.closed for s in socks] == [0, 0]
    call.release()
    assert call.sockets is None and [s.closed for s in socks] == [1, 1]
    call.release()  # a second release does nothing
    assert [s.closed for s in socks] == [1, 1]


def test_per_request_state_ends_with_the_event(caplog: pytest.LogCaptureFixture) -> None:
    call = ComponentHost("svc", logging.getLogger("wasm_server.guest")).new_call()
    call.headers, call.sink = [(b"x-request-id", b"r1")], None
    out = call.output = GuestOutput(call)
    caplog.set_level(logging.INFO, "wasm_server.guest")
    out.write(1, b"half a line")
    assert caplog.records == []
    call.after_event()
    assert [r.getMessage() for r in caplog.records] == ["[svc] half a line (stdout, request r1)"]
    assert call.headers == () and call.output is out


class Recording(HostCall):
    __slots__ = ("released",)

    def __init__(self) -> None:
        super().__init__()
        self.released = 0

    def release(self) -> None:
        self.released += 1


async def test_the_engine_releases_the_host_state_when_instantiation_fails() -> None:
    rt = Runtime(None, ALL_IMPORTS)
    try:
        import wasmtime

        loaded = rt.load(bytes(wasmtime.wat2wasm("(module (func (export \"_initialize\") unreachable))")), "t")
        state = Recording()
        with pytest.raises(GuestError):
            await GuestInstance.create(rt, loaded, state, Limits(), WasiContext())
        assert state.released == 1
    finally:
        rt.close()
