"""Runtime config: listen addresses, file < environment < flags, port maps, workers."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasm_server.config import ListenAddress, load_runtime_config, parse_listen
from wasm_server.errors import ConfigError
from wasm_server.manifest import load_manifest
from wasm_server.net.listeners import parse_port_map, plan


@pytest.mark.parametrize(
    ("text", "addr"),
    [("127.0.0.1:8080", ListenAddress("127.0.0.1", 8080)), ("[::1]:80", ListenAddress("::1", 80)),
     (":9000", ListenAddress("127.0.0.1", 9000)), ("localhost:1", ListenAddress("localhost", 1))],
)
def test_parse_listen(text: str, addr: ListenAddress) -> None:
    assert parse_listen(text) == addr


@pytest.mark.parametrize("text", ["8080", "::1:80", "host:port", "1.2.3.4:70000"])
def test_bad_listen_addresses_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_listen(text)


def test_file_then_environment_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "server.toml"
    cfg.write_text('[server]\nlisten = ["127.0.0.1:1000"]\nworkers = 3\nmap_ports = { "53" = 5353 }\n')
    c = load_runtime_config(cfg, {})
    assert c.listen == (ListenAddress("127.0.0.1", 1000),) and c.workers == 3 and c.map_ports == ("53=5353",)
    monkeypatch.setenv("WASM_SERVER_LISTEN", "127.0.0.1:2000,[::1]:2000")
    c = load_runtime_config(cfg, {})
    assert [a.port for a in c.listen] == [2000, 2000]
    c = load_runtime_config(cfg, {"listen": ["127.0.0.1:3000"], "workers": 1})
    assert c.listen == (ListenAddress("127.0.0.1", 3000),) and c.workers == 1


def test_bad_runtime_config_names_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[server\n")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_runtime_config(cfg, {})
    with pytest.raises(ConfigError, match="workers"):
        load_runtime_config(None, {"workers": 500})


def test_port_maps_move_listeners_and_conflicts_name_both(tmp_path: Path) -> None:
    (tmp_path / "a.wasm").write_bytes(b"")
    (tmp_path / "wasm-server.toml").write_text(
        '[[component]]\nname = "a"\nsource = "a.wasm"\n[[component.tcp]]\nlisten = "0.0.0.0:7"\n'
        '[[component.udp]]\nlisten = "[::]:53"\n'
    )
    spec = load_manifest(tmp_path)
    binds = plan(spec, parse_port_map(["7=127.0.0.1:7007", "53=5353"]))
    assert [(b.protocol, b.host, b.port) for b in binds] == [("tcp", "127.0.0.1", 7007), ("udp", "::", 5353)]
    with pytest.raises(ConfigError, match="conflicts with"):
        plan(spec, {}, [ListenAddress("127.0.0.1", 7)])  # the HTTP listener takes TCP port 7
    with pytest.raises(ConfigError, match="PORT=PORT"):
        parse_port_map(["seven=7"])


def test_key_value_store_tables_are_read_from_the_runtime_config(tmp_path: Path) -> None:
    cfg = tmp_path / "runtime.toml"
    cfg.write_text('[key_value_store.cache]\ntype = "memory"\n')
    assert load_runtime_config(cfg, {}).key_value_stores == {"cache": {"type": "memory"}}
    cfg.write_text('key_value_store = 3\n')
    with pytest.raises(ConfigError, match="key_value_store"):
        load_runtime_config(cfg, {})
