"""StoreManager: labels to stores, defaults, lazy opening, and the load-time check of declared stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasm_server.errors import ConfigError
from wasm_server.kv import KVError, MemoryStore, SqliteStore, StoreConfig, StoreManager, validate_declared


async def test_default_is_one_sqlite_store_in_the_data_dir(tmp_path: Path) -> None:
    m = StoreManager.default(tmp_path / "data")
    assert m.labels() == ["default"]
    assert not (tmp_path / "data").exists()  # nothing is opened until first use
    store = m.get("default")
    assert isinstance(store, SqliteStore)
    assert (tmp_path / "data" / "kv.sqlite3").exists()
    await m.close()


async def test_none_means_default_and_empty_means_no_stores(tmp_path: Path) -> None:
    assert StoreManager(None, tmp_path).labels() == ["default"]
    assert StoreManager({}, tmp_path).labels() == []


async def test_get_is_cached_per_label_and_backend_follows_type(tmp_path: Path) -> None:
    m = StoreManager({"s": StoreConfig("s"), "m": StoreConfig("m", "memory")}, tmp_path)
    assert m.get("s") is m.get("s")
    assert isinstance(m.get("m"), MemoryStore)
    assert m.has("s") and m.has("m") and not m.has("x")
    await m.close()
    assert isinstance(m.get("s"), SqliteStore)  # reopens after close
    await m.close()


async def test_unknown_label_is_denied(tmp_path: Path) -> None:
    m = StoreManager.default(tmp_path)
    with pytest.raises(KVError) as info:
        m.get("x")
    assert info.value.code == -2
    assert str(info.value) == "store 'x' is not configured"


async def test_paths_are_relative_to_the_data_dir_unless_absolute(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "abs.sqlite3"
    m = StoreManager(
        {"rel": StoreConfig("rel", path=Path("sub/rel.sqlite3")), "abs": StoreConfig("abs", path=elsewhere)},
        tmp_path / "data",
    )
    await m.get("rel").set(b"k", b"v")
    await m.get("abs").set(b"k", b"v")
    assert (tmp_path / "data" / "sub" / "rel.sqlite3").exists()
    assert elsewhere.exists()
    await m.close()


def test_label_must_match_its_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="store 'a' is configured with label 'b'"):
        StoreManager({"a": StoreConfig("b")}, tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": "mongo"}, "key_value_store.s.type: unknown type 'mongo' (choose sqlite, memory, redis, cassandra)"),
        ({"type": "redis"}, 'key_value_store.s.url: a redis store needs url = "redis://HOST:PORT/DB" '
                            "(or rediss://, unix://PATH); none given"),
        ({"max_value_size": 0}, "key_value_store.s.max_value_size: must be positive, got 0"),
        ({"synchronous": "off"}, "key_value_store.s.synchronous: choose normal or full, got 'off'"),
        ({"type": "redis", "url": "redis://h:6379", "timeout": 0},
         "key_value_store.s.timeout: must be a positive number of seconds, got 0"),
        ({"type": "redis", "url": "redis://h:6379", "timeout": float("nan")},
         "key_value_store.s.timeout: must be a positive number of seconds, got nan"),
    ],
)
def test_bad_store_config_is_a_config_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        StoreConfig("s", **kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_empty_label_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="must not be empty"):
        StoreConfig("")


def test_validate_declared_accepts_configured_stores(tmp_path: Path) -> None:
    m = StoreManager({"default": StoreConfig("default"), "cache": StoreConfig("cache", "memory")}, tmp_path)
    validate_declared("api", ["default", "cache"], m)
    validate_declared("api", [], m)
    assert not tmp_path.joinpath("kv.sqlite3").exists()  # checking does not open anything


def test_validate_declared_names_the_component_and_the_store(tmp_path: Path) -> None:
    m = StoreManager.default(tmp_path)
    with pytest.raises(ConfigError) as info:
        validate_declared("api", ["default", "sessions"], m, file="app/wasm-server.toml")
    assert str(info.value) == (
        "app/wasm-server.toml: component 'api'.key_value_stores: component 'api' declares key-value store "
        "'sessions', which is not configured (configured: default)"
    )
    assert info.value.file == "app/wasm-server.toml"


def test_validate_declared_with_no_stores_configured(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'x'.*\(configured: none\)"):
        validate_declared("c", ["x"], StoreManager({}, tmp_path))


def test_runtime_config_tables_add_stores_and_keep_default(tmp_path: Path) -> None:
    mgr = StoreManager.from_runtime({"cache": {"type": "memory"}, "audit": {"path": "audit.sqlite3",
                                                                      "synchronous": "full"}}, tmp_path)
    assert mgr.labels() == ["audit", "cache", "default"]
    assert mgr.configs["cache"].type == "memory" and mgr.configs["audit"].synchronous == "full"
    assert StoreManager.from_runtime({}, tmp_path).labels() == ["default"]


def test_runtime_config_table_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown key.*colour"):
        StoreManager.from_runtime({"x": {"colour": "blue"}}, tmp_path)
    with pytest.raises(ConfigError, match="unknown type 'mongo'"):
        StoreManager.from_runtime({"x": {"type": "mongo"}}, tmp_path)


X = "key_value_store.x."
REDIS_USAGE = 'a redis store needs url = "redis://HOST:PORT/DB" (or rediss://, unix://PATH)'


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"type": "redis", "url": "http://:hunter2@h:6379"}, f"{X}url: {REDIS_USAGE}; got scheme 'http'"),
        ({"type": "redis", "url": "localhost:6379"}, f"{X}url: {REDIS_USAGE}; got scheme 'localhost'"),
        ({"type": "redis", "url": "redis://:hunter2@h:port/0"},
         f"{X}url: {REDIS_USAGE}; the port is not a number from 0 to 65535"),
        ({"type": "redis", "url": "redis://h:6379/zero"},
         f"{X}url: {REDIS_USAGE}; the database must be a number, got 'zero'"),
        ({"type": "redis", "url": "redis://"}, f"{X}url: {REDIS_USAGE}; no host given"),
        ({"type": "redis", "url": 6379}, f"{X}url: must be a string, got int"),
        ({"type": "redis", "url": "redis://h", "timeout": "2s"}, f"{X}timeout: must be a number, got str"),
        ({"type": "redis", "url": "redis://h", "timeout": True}, f"{X}timeout: must be a number, got bool"),
        ({"type": "redis", "url": "redis://h", "prefix": 1}, f"{X}prefix: must be a string, got int"),
        ({"max_value_size": "1MiB"}, f"{X}max_value_size: must be an integer, got str"),
        ({"max_value_size": 1.5}, f"{X}max_value_size: must be an integer, got float"),
        ({"type": 1}, f"{X}type: must be a string, got int"),
        # url without type = "redis" would otherwise quietly be a local SQLite store
        ({"url": "redis://h:6379/0"}, f'{X}url: applies only to type = "redis" stores (this one is sqlite)'),
        ({"type": "memory", "timeout": 1}, f'{X}timeout: applies only to type = "redis" or type = "cassandra" '
                                           "stores (this one is memory)"),
        ({"type": "redis", "url": "redis://h", "path": "kv.db"},
         f'{X}path: applies only to type = "sqlite" stores (this one is redis)'),
    ],
)
def test_runtime_config_table_errors_name_the_field(tmp_path: Path, table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        StoreManager.from_runtime({"x": table}, tmp_path)
    assert str(info.value) == message
    assert "hunter2" not in str(info.value)  # a URL's password never ends up in a message


def test_redis_tables_become_redis_configs(tmp_path: Path) -> None:
    mgr = StoreManager.from_runtime({"default": {"type": "redis", "url": "redis://127.0.0.1:6390/2", "timeout": 1,
                                                 "prefix": "app1:", "max_value_size": 4096},
                                     "sock": {"type": "redis", "url": "unix:///run/redis.sock"}}, tmp_path)
    cfg = mgr.configs["default"]
    assert (cfg.type, cfg.url, cfg.prefix, cfg.timeout, cfg.max_value_size) == \
        ("redis", "redis://127.0.0.1:6390/2", "app1:", 1.0, 4096)
    sock = mgr.configs["sock"]
    assert (sock.prefix, sock.timeout) == (None, 2.0)
