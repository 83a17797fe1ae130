"""`wasm-server up --config` with the default store in Cassandra (the test run's node), over HTTP.

The guest is examples/kv-counter/c (POST increments, GET reads, 503 "the counter is
unavailable" when the store fails). What these tests prove:

- increments from concurrent clients on two server processes (two nodes of a cluster) all
  count once: the lightweight transactions of different processes meet in Paxos;
- the counter is in Cassandra's table, decimal ASCII under the store's name;
- a Cassandra that cannot be reached is the guest's 503, the server stays up.
"""

from __future__ import annotations

import subprocess
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.cassandra_node import cassandra_contact
from tests.e2e.conftest import CLI, EXAMPLES, ROOT, Server, free_port
from wasm_server.kv.cassandra import bucket_of, open_session

# the first test may wait for the run's Cassandra node to start (10-40 s here, longer on a cold,
# loaded CI machine; tests/cassandra_node.py waits up to 240 s): more than pytest's 120 s default
pytestmark = pytest.mark.timeout(300)

KEYSPACE = "kv_e2e"


@pytest.fixture(scope="module")
def counter_app() -> Path:
    app = EXAMPLES / "kv-counter" / "c"
    built = subprocess.run([*CLI, "build", str(app)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stdout + built.stderr
    return app


def runtime_config(tmp_path: Path, hosts: str, prefix: str) -> Path:
    path = tmp_path / f"runtime-{uuid.uuid4().hex[:6]}.toml"
    path.write_text("\n".join([
        "[key_value_store.default]", 'type = "cassandra"', f'hosts = ["{hosts}"]', f'keyspace = "{KEYSPACE}"',
        f'prefix = "{prefix}"', 'consistency = "LOCAL_QUORUM"', "timeout = 5.0", ""]))
    return path


def test_increments_from_two_server_processes_all_count_once(tmp_path: Path, counter_app: Path,
                                                             server_factory: Callable[..., Server]) -> None:
    prefix = f"e2e{uuid.uuid4().hex[:8]}:"
    config = runtime_config(tmp_path, cassandra_contact(), prefix)
    nodes = [server_factory(counter_app, "--config", str(config), data_dir=tmp_path / f"data{i}") for i in (1, 2)]
    got: list[int] = []
    failures: list[str] = []

    def client(server: Server) -> None:
        with httpx.Client() as c:
            for _ in range(25):
                r = c.post(f"{server.url}/count", timeout=30)
                if r.status_code == 200:
                    got.append(int(r.text))
                else:
                    failures.append(f"{r.status_code} {r.text}")

    threads = [threading.Thread(target=client, args=(nodes[i % 2],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures
    assert sorted(got) == list(range(1, 101))  # every acknowledged increment counted exactly once
    with httpx.Client() as c:
        assert [c.get(f"{n.url}/count").text for n in nodes] == ["100\n", "100\n"]
    session = open_session([cassandra_contact()], None, 10.0)
    try:
        row = session.execute(f"SELECT value FROM {KEYSPACE}.kv WHERE store = %s AND bucket = %s AND key = %s",
                              [prefix + "default", bucket_of(b"counter"), b"counter"]).one()
        assert row == (b"100",)
    finally:
        session.cluster.shutdown()


def test_an_unreachable_cassandra_is_a_503_and_the_server_stays_up(tmp_path: Path, counter_app: Path,
                                                                   server_factory: Callable[..., Server]) -> None:
    config = runtime_config(tmp_path, f"127.0.0.1:{free_port()}", "gone:")  # nothing listens there
    server = server_factory(counter_app, "--config", str(config))
    with httpx.Client() as c:
        for _ in range(2):
            r = c.post(f"{server.url}/count", timeout=30)
            assert (r.status_code, r.text) == (503, "the counter is unavailable\n")
        assert c.get(f"{server.url}/count").status_code == 503
    assert server.proc.poll() is None
    assert "no Cassandra node of 127.0.0.1:" in server.log()
