"""``[cluster]``: a registry in Redis or in Cassandra, exactly one, each key checked at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasm_server.config import CassandraRegistryConfig, load_runtime_config
from wasm_server.errors import ConfigError


def test_a_cassandra_registry_with_its_datacenter_keyspace_and_replication(tmp_path: Path) -> None:
    c = load_runtime_config(_write(tmp_path, 'cassandra_hosts = ["10.0.1.1", "10.0.1.2:9142"]\nlocal_dc = "paris"\n'
                                             'keyspace = "apps_reg"\nreplication = { tokyo = 3, paris = 2 }\n'
                                             'pubsub_redis_url = "redis://10.0.1.9:6379/0"\n'), {})
    assert c.cluster_cassandra == CassandraRegistryConfig(("10.0.1.1", "10.0.1.2:9142"), "paris", "apps_reg",
                                                          (("paris", 2), ("tokyo", 3)))
    assert c.clustered and c.cluster_redis is None and c.pubsub_redis == "redis://10.0.1.9:6379/0"


def test_the_environment_names_the_hosts_and_datacenter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WASM_SERVER_CLUSTER_CASSANDRA_HOSTS", "h1, h2")
    monkeypatch.setenv("WASM_SERVER_CLUSTER_LOCAL_DC", "dc2")
    c = load_runtime_config(None, {})
    assert c.cluster_cassandra == CassandraRegistryConfig(("h1", "h2"), "dc2")
    assert c.cluster_cassandra.keyspace == "wasm_server_cluster" and c.pubsub_redis is None


def test_redis_alone_is_unchanged(tmp_path: Path) -> None:
    c = load_runtime_config(_write(tmp_path, 'redis_url = "redis://127.0.0.1:6379/0"\n'), {})
    assert c.clustered and c.cluster_cassandra is None and c.pubsub_redis == "redis://127.0.0.1:6379/0"
    assert not load_runtime_config(None, {}).clustered


@pytest.mark.parametrize(("cluster", "message"), [
    ('redis_url = "redis://r:6379/0"\ncassandra_hosts = ["c"]\nlocal_dc = "a"\n', "either redis_url or"),
    ('cassandra_hosts = ["c"]\n', "cassandra_hosts needs local_dc"),
    ('local_dc = "a"\nkeyspace = "k"\n', "keyspace, local_dc need cassandra_hosts"),
    ('cassandra_hosts = []\nlocal_dc = "a"\n', "this location's Cassandra nodes"),
    ('cassandra_hosts = ["h:port"]\nlocal_dc = "a"\n', 'a contact point is "HOST" or "HOST:PORT"'),
    ('cassandra_hosts = ["c"]\nlocal_dc = "a"\nreplication = { a = 0 }\n', "datacenter = replicas"),
    ('cassandra_hosts = ["c"]\nlocal_dc = "a"\nkeyspace = "no-dashes"\n', "a Cassandra name"),
    ('redis_url = "redis://r:6379/0"\npubsub_redis_url = "redis://p:6379/0"\n', "goes with a Cassandra registry"),
    ('cassandra = "c"\n', "unknown key 'cassandra'"),
])
def test_a_wrong_cluster_table_is_a_clear_error(tmp_path: Path, cluster: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_runtime_config(_write(tmp_path, cluster), {})


def _write(tmp_path: Path, cluster: str) -> Path:
    cfg = tmp_path / "runtime.toml"
    cfg.write_text("[cluster]\n" + cluster)
    return cfg


def test_without_the_driver_the_cassandra_registry_names_the_install(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "cassandra" else real(name, *a))
    with pytest.raises(ConfigError, match=r"pip install 'wasm-server\[cassandra\]'"):
        load_runtime_config(_write(tmp_path, 'cassandra_hosts = ["c"]\nlocal_dc = "a"\n'), {})
