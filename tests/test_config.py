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


@pytest.mark.parametrize(("text", "named"), [
    ("[server]\nlisten = \"127.0.0.1:1\"\nworker = 2\n", r"\[server\]: unknown key 'worker'"),
    ("[admin]\nlisten = \"127.0.0.1:9\"\naddress = \"x\"\n", r"\[admin\]: unknown key 'address'"),
    ("[cluster]\nredis = \"redis://x\"\n", r"\[cluster\]: unknown key 'redis' \(known: redis_url, cassandra_hosts,"),
    ("[tls]\ncertificate = \"a.pem\"\n", r"\[tls\]: unknown key 'certificate'"),
    ("[serve]\nlisten = \"127.0.0.1:1\"\n", r"unknown key 'serve' \(known: server, tls, admin, cluster"),
    ("[[tls.certificates]]\nhosts = [\"a\"]\ncert = \"c\"\nkey = \"k\"\nsni = true\n", r"tls\.certificates"),
])
def test_unknown_keys_in_every_table_are_refused_naming_file_and_key(tmp_path: Path, text: str, named: str) -> None:
    cfg = tmp_path / "runtime.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=named) as err:
        load_runtime_config(cfg, {})
    assert str(cfg) in str(err.value)


@pytest.mark.parametrize(("text", "named"), [
    ("[server]\nworkers = \"two\"\n", r"server\.workers: expected an integer, got 'two'"),
    ("[server]\nmax_connections = 0\n", r"server\.max_connections: must be at least 1"),
    ("[server]\nlog_format = \"xml\"\n", r"server\.log_format: must be one of text, json"),
    ("[server]\ncache_max_size = \"lots\"\n", r"server\.cache_max_size: expected a size"),
    ("[server]\npool_table_elements = -5\n", r"server\.pool_table_elements: must be 1\.\.1e\+08"),
    ("[server]\nredirect_https = \"maybe\"\n", r"server\.redirect_https: expected true or false"),
    ("[cluster]\nredis_url = \"http://x\"\n", r"cluster\.redis_url: must be redis://"),
    ("server = 3\n", r"expected a table \[server\]"),
])
def test_bad_values_name_the_key(tmp_path: Path, text: str, named: str) -> None:
    cfg = tmp_path / "runtime.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=named):
        load_runtime_config(cfg, {})


def test_engine_pool_and_cache_bound_from_file_env_and_defaults(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = load_runtime_config(None, {})
    assert defaults.pool.table_elements >= 30000 and defaults.cache_max_size == 512 * 1024 * 1024
    cfg = tmp_path / "runtime.toml"
    cfg.write_text('[server]\npool_table_elements = 20000\npool_instances = 10\ncache_max_size = "64MiB"\n'
                   'pool_core_instance_size = "4MiB"\n')
    c = load_runtime_config(cfg, {})
    assert (c.pool.table_elements, c.pool.instances, c.pool.core_instance_size) == (20000, 10, 4 * 1024 * 1024)
    assert c.cache_max_size == 64 * 1024 * 1024
    monkeypatch.setenv("WASM_SERVER_POOL_TABLE_ELEMENTS", "50000")
    monkeypatch.setenv("WASM_SERVER_CACHE_MAX_SIZE", "1GiB")
    c = load_runtime_config(cfg, {})
    assert c.pool.table_elements == 50000 and c.pool.instances == 10 and c.cache_max_size == 1 << 30
    monkeypatch.setenv("WASM_SERVER_WORKERS", "many")
    with pytest.raises(ConfigError, match=r"\$WASM_SERVER_WORKERS: expected an integer"):
        load_runtime_config(cfg, {})


def test_every_section_reads_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "c.pem").write_text("")
    cfg = tmp_path / "runtime.toml"
    cfg.write_text('[server]\nlisten = "127.0.0.1:1"\nmax_body = 100\nrequest_timeout = 2\nlog_level = "debug"\n'
                   'listen_tls = ["[::1]:443"]\nredirect_https = true\n'
                   '[tls]\ncert = "c.pem"\nkey = "k.pem"\n'
                   '[[tls.certificates]]\nhosts = ["A.example"]\ncert = "a.pem"\nkey = "a-key.pem"\n'
                   '[admin]\nlisten = "127.0.0.1:9090"\ntoken = "t"\ntls = true\n'
                   '[cluster]\nredis_url = "redis://127.0.0.1:6379/0"\n')
    monkeypatch.chdir(tmp_path)
    c = load_runtime_config(cfg, {})
    assert c.listen == (ListenAddress("127.0.0.1", 1),) and c.max_body == 100 and c.request_timeout == 2.0
    assert c.log_level == "debug" and c.listen_tls == (ListenAddress("::1", 443),) and c.redirect_https
    assert c.tls_cert == tmp_path / "c.pem" and c.tls_certificates == (
        (("a.example",), tmp_path / "a.pem", tmp_path / "a-key.pem"),)
    assert c.admin == ListenAddress("127.0.0.1", 9090) and c.admin_token == "t" and c.admin_tls
    assert c.cluster_redis == "redis://127.0.0.1:6379/0"
    monkeypatch.setenv("WASM_SERVER_ADMIN", "127.0.0.1:9191")
    monkeypatch.setenv("WASM_SERVER_CLUSTER_REDIS", "redis://10.0.0.1:6379/1")
    c = load_runtime_config(cfg, {"admin": "127.0.0.1:9292", "cluster_redis": ""})
    assert c.admin == ListenAddress("127.0.0.1", 9292) and c.cluster_redis == "redis://10.0.0.1:6379/1"


def test_access_log_is_on_by_default_and_turned_off_by_file_or_env(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_runtime_config(None, {}).access_log
    cfg = tmp_path / "runtime.toml"
    cfg.write_text("[server]\naccess_log = false\n")
    assert not load_runtime_config(cfg, {}).access_log
    cfg.write_text('[server]\naccess_log = "sometimes"\n')
    with pytest.raises(ConfigError, match="access_log"):
        load_runtime_config(cfg, {})
    monkeypatch.setenv("WASM_SERVER_ACCESS_LOG", "false")
    assert not load_runtime_config(None, {}).access_log
