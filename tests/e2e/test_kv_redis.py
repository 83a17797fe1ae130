"""`wasm-server up --config` with the default store on a real Redis, driven over HTTP.

The guest is examples/kv-counter/c (POST increments, GET reads, 503 "the
counter is unavailable" when the store fails). What these tests prove:

- increments made through the server land in Redis under
  ``wasm-server:kv:default:``, exactly as many as were acknowledged;
- Redis killed with SIGKILL mid-load: the server stays up, requests get the
  guest's 503 within the store timeout, and after Redis restarts on its AOF
  (``appendfsync always``) no acknowledged increment is lost. An increment
  whose reply was lost in the crash may or may not be there (the guest got a
  503, so it was never acknowledged), hence ``ok <= final <= ok + failed``;
- a Redis that hangs (``CLIENT PAUSE … WRITE``) costs one store timeout per
  write, reads go on, and writes work again when it resumes;
- a Redis missing at start-up does not stop the server; a redis store
  without a url stops it with a message naming the field.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.e2e.conftest import CLI, EXAMPLES, ROOT, Server, free_port, wait_port

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="redis-server is not installed (scripts/setup installs Debian's)")
KEY = b"wasm-server:kv:default:counter"
TIMEOUT = 1.0  # the store's timeout in these tests (seconds)


class RedisProcess:
    """A redis-server on a loopback port whose AOF fsyncs every write, so it can be killed and restarted."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.dir = workdir
        self.dir.mkdir(parents=True)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port("127.0.0.1", self.port, self.proc, timeout=20)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5)


@pytest.fixture(scope="module")
def counter_app() -> Path:
    app = EXAMPLES / "kv-counter" / "c"
    built = subprocess.run([*CLI, "build", str(app)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stdout + built.stderr
    return app


@pytest.fixture
def redis_process(tmp_path: Path) -> Iterator[RedisProcess]:
    r = RedisProcess(tmp_path / "redis")
    r.start()
    yield r
    r.kill()


def runtime_config(tmp_path: Path, url: str | None, **extra: object) -> Path:
    lines = ['[key_value_store.default]', 'type = "redis"', f"timeout = {TIMEOUT}"]
    lines += [f'url = "{url}"'] if url is not None else []
    lines += [f"{k} = {v!r}" for k, v in extra.items()]
    path = tmp_path / "runtime.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def counter(tmp_path: Path, counter_app: Path, redis_process: RedisProcess,
            server_factory: Callable[..., Server]) -> Server:
    return server_factory(counter_app, "--config", str(runtime_config(tmp_path, redis_process.url)))


def post(client: httpx.Client, server: Server) -> httpx.Response:
    return client.post(f"{server.url}/count", timeout=30)


def test_increments_through_the_server_are_in_redis(counter: Server, redis_process: RedisProcess) -> None:
    n = 200
    with httpx.Client() as c:
        assert [post(c, counter).text for _ in range(n)] == [f"{i}\n" for i in range(1, n + 1)]
        assert c.get(f"{counter.url}/count").text == f"{n}\n"
    with redis_process.client() as r:
        assert r.get(KEY) == b"%d" % n
        assert r.keys("*") == [KEY]  # one key, under the store's namespace, nothing else


def test_redis_killed_mid_load_is_a_503_and_no_acknowledged_increment_is_lost(
        counter: Server, redis_process: RedisProcess) -> None:
    counts = {200: 0, 503: 0}
    unexpected: list[tuple[int, str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load() -> None:
        with httpx.Client() as c:
            while not stop.is_set():
                r = post(c, counter)
                with lock:
                    if r.status_code == 200 or (r.status_code, r.text) == (503, "the counter is unavailable\n"):
                        counts[r.status_code] += 1
                    else:
                        unexpected.append((r.status_code, r.text))

    def wait_for_more(status: int) -> None:
        before, deadline = counts[status], time.monotonic() + 10
        while counts[status] == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert counts[status] > before, f"no {status} within 10 s"

    workers = [threading.Thread(target=load) for _ in range(4)]
    for w in workers:
        w.start()
    try:
        wait_for_more(200)
        redis_process.kill()  # SIGKILL: no shutdown, only what the AOF already has
        wait_for_more(503)
        with httpx.Client() as c:
            started = time.monotonic()
            down = post(c, counter)
            assert down.status_code == 503 and down.text == "the counter is unavailable\n"
            assert time.monotonic() - started < TIMEOUT + 1  # quickly: a refused connection is immediate
            assert c.get(f"{counter.url}/count").status_code == 503  # reads fail clearly too
        assert counter.proc.poll() is None
        redis_process.start()
        wait_for_more(200)  # requests succeed again once Redis is back
        time.sleep(0.3)
    finally:
        stop.set()
        for w in workers:
            w.join(60)
    assert not unexpected
    with redis_process.client() as r:
        final = int(r.get(KEY) or 0)
    ok, failed = counts[200], counts[503] + 1  # + the one sent above
    print(f"acknowledged {ok}, failed {failed}, in Redis {final}")
    assert ok <= final <= ok + failed, (ok, failed, final)
    with httpx.Client() as c:
        assert post(c, counter).text == f"{final + 1}\n"
    assert counter.proc.poll() is None
    assert "store 'default' unavailable" in counter.log()


def test_a_hanging_redis_costs_one_timeout_per_write_and_reads_go_on(counter: Server,
                                                                     redis_process: RedisProcess) -> None:
    with httpx.Client() as c, redis_process.client() as r:
        assert post(c, counter).text == "1\n"
        r.execute_command("CLIENT", "PAUSE", 4000, "WRITE")
        try:
            started = time.monotonic()
            slow = post(c, counter)
            took = time.monotonic() - started
            assert slow.status_code == 503 and slow.text == "the counter is unavailable\n"
            assert TIMEOUT * 0.9 <= took < TIMEOUT + 1.5, took
            assert c.get(f"{counter.url}/count").text.strip() in ("1", "2")  # reads are not paused
        finally:
            r.execute_command("CLIENT", "UNPAUSE")
        after = post(c, counter)
        assert after.status_code == 200 and after.text in ("2\n", "3\n")  # the timed-out one: not known
        assert counter.proc.poll() is None
    assert "did not answer INCRBY within 1 s" in counter.log()


def test_redis_missing_at_start_up_is_a_503_until_it_comes(tmp_path: Path, counter_app: Path,
                                                           server_factory: Callable[..., Server]) -> None:
    port = free_port()
    server = server_factory(counter_app, "--config",
                            str(runtime_config(tmp_path, f"redis://127.0.0.1:{port}/0")))
    with httpx.Client() as c:
        assert post(c, server).status_code == 503
        r = RedisProcess(tmp_path / "late-redis", port)
        try:
            r.start()
            assert post(c, server).text == "1\n"
        finally:
            r.kill()


def test_a_redis_store_without_url_stops_the_start_with_the_field_named(tmp_path: Path,
                                                                        counter_app: Path) -> None:
    cfg = runtime_config(tmp_path, None)
    proc = subprocess.run([*CLI, "up", str(counter_app), "--no-build", "--listen", f"127.0.0.1:{free_port()}",
                           "--data-dir", str(tmp_path / "data"), "--config", str(cfg)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "key_value_store.default.url: a redis store needs url" in proc.stderr
