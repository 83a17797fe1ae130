"""A cluster on loopback: Redis, three wasm-server nodes and haproxy in front.

The kv-counter example is deployed once through one node's admin API; every
node serves it, increments through the balancer all land in the shared Redis
store, a node stopped mid-run costs no request, and a restarted node catches
up with the current version. The ws-chat example deployed the same way is one
room across nodes: pub/sub goes through Redis.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.e2e.conftest import CLI, EXAMPLES, ROOT, free_port, wait_port
from tests.e2e.wat_app import write_app
from tests.guests import wat
from wasm_server.abi_codec import GuestResponse, encode_response

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None or shutil.which("haproxy") is None,
                                reason="needs redis-server and haproxy (scripts/setup installs both)")
TOKEN = "cluster-token"


@dataclass
class Node:
    """One `wasm-server up --cluster` process."""

    proc: subprocess.Popen[bytes]
    port: int
    admin: int
    log: Path
    data: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin}"

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Cluster:
    """Redis + nodes + haproxy, all on 127.0.0.1, torn down by the fixture."""

    def __init__(self, root: Path, kv_on_redis: bool = True) -> None:
        self.root = root
        self.redis_port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--dir", str(root),
             "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port("127.0.0.1", self.redis_port, self.redis)  # type: ignore[arg-type]
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.config = root / "runtime.toml"
        kv = f'[key_value_store.default]\ntype = "redis"\nurl = "{self.redis_url}"\n' if kv_on_redis else ""
        self.config.write_text(f'[cluster]\nredis_url = "{self.redis_url}"\n\n{kv}')
        self.nodes: list[Node] = []
        self.files: list[object] = []
        self.haproxy: subprocess.Popen[bytes] | None = None
        self.lb_port = 0

    def start_node(self, name: str, port: int | None = None, admin: int | None = None) -> Node:
        port, admin = port or free_port(), admin or free_port()
        data = self.root / name
        data.mkdir(exist_ok=True)
        log = self.root / f"{name}-{len(self.nodes)}.log"
        out = log.open("wb")
        self.files.append(out)
        proc = subprocess.Popen(
            [*CLI, "up", "--config", str(self.config), "--admin", f"127.0.0.1:{admin}",
             "--listen", f"127.0.0.1:{port}", "--data-dir", str(data)],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
            env={**os.environ, "WASM_SERVER_ADMIN_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"})
        wait_port("127.0.0.1", admin, proc)  # type: ignore[arg-type]
        node = Node(proc, port, admin, log, data)
        self.nodes.append(node)
        return node

    def start_haproxy(self, nodes: list[Node]) -> str:
        self.lb_port = free_port()
        servers = "\n".join(f"  server {i} 127.0.0.1:{n.port} check port {n.admin}" for i, n in enumerate(nodes))
        cfg = self.root / "haproxy.cfg"
        cfg.write_text(f"""
global
  maxconn 2000
defaults
  mode http
  timeout connect 1s
  timeout client 15s
  timeout server 15s
  retries 3
  option redispatch
  retry-on conn-failure empty-response response-timeout
frontend fe
  bind 127.0.0.1:{self.lb_port}
  default_backend nodes
backend nodes
  balance roundrobin
  option httpchk GET /healthz
  http-check expect status 200
  default-server inter 200ms fall 2 rise 2
{servers}
""")
        err = (self.root / "haproxy.log").open("wb")
        self.files.append(err)
        self.haproxy = subprocess.Popen(["haproxy", "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=err)
        wait_port("127.0.0.1", self.lb_port, self.haproxy)  # type: ignore[arg-type]
        return f"http://127.0.0.1:{self.lb_port}"

    def close(self) -> None:
        if self.haproxy is not None:
            self.haproxy.kill()
            self.haproxy.wait()
        for n in self.nodes:
            n.stop(signal.SIGKILL)
        self.redis.kill()
        self.redis.wait()
        for f in self.files:
            f.close()  # type: ignore[attr-defined]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(scope="module")
def counter_app() -> Path:
    app = EXAMPLES / "kv-counter" / "c"
    built = subprocess.run([*CLI, "build", str(app)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    return app


def deploy(path: Path, name: str, admin_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "deploy", str(path), "--name", name, "--no-build", "--admin", admin_url,
                           "--token", TOKEN], capture_output=True, text=True, timeout=60, cwd=ROOT)


def version_on(node: Node, name: str) -> int | None:
    r = httpx.get(f"{node.admin_url}/v1/apps/{name}", headers={"authorization": f"Bearer {TOKEN}"})
    return int(r.json()["version"]) if r.status_code == 200 else None


def wait_for(predicate: object, timeout: float = 15.0) -> float:
    """Seconds until ``predicate()`` held (fails the test after ``timeout``)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_deploy_once_serve_everywhere_survive_a_node_and_catch_up(cluster: Cluster, counter_app: Path) -> None:
    nodes = [cluster.start_node(f"n{i}") for i in range(3)]
    lb = cluster.start_haproxy(nodes)
    out = deploy(counter_app, "counter", nodes[0].admin_url)
    assert out.returncode == 0, out.stdout + out.stderr
    took = wait_for(lambda: all(httpx.get(f"{n.url}/count").status_code == 200 for n in nodes))
    print(f"deployed through node 0, served by all three after {took:.2f}s")

    total = 60
    failures: list[str] = []
    acknowledged = 0
    stopped = threading.Event()

    def increments() -> None:
        nonlocal acknowledged
        with httpx.Client(timeout=10) as client:
            for i in range(total):
                if i == total // 2:
                    stopped.set()  # node 1 goes away now
                try:
                    r = client.post(f"{lb}/count")
                    if r.status_code == 200:
                        acknowledged += 1
                    else:
                        failures.append(f"{r.status_code} {r.text.strip()}")
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                time.sleep(0.02)

    worker = threading.Thread(target=increments)
    worker.start()
    stopped.wait(30)
    nodes[1].stop()
    worker.join(60)
    assert failures == [] and acknowledged == total
    for n in (nodes[0], nodes[2]):
        assert httpx.get(f"{n.url}/count").text == f"{total}\n"  # every node reads the shared store

    restarted = cluster.start_node("n1", port=nodes[1].port, admin=nodes[1].admin)
    wait_for(lambda: httpx.get(f"{restarted.url}/count").status_code == 200)
    assert httpx.get(f"{restarted.url}/count").text == f"{total}\n"
    assert version_on(restarted, "counter") == version_on(nodes[0], "counter")


def text_guest(text: str) -> bytes:
    return wat.guest(response=encode_response(GuestResponse(200, [], text.encode())))


def test_conflicting_deploys_end_with_the_newest_on_every_node(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path / "registry-only", kv_on_redis=False)
    try:
        conflicting_deploys(cluster, tmp_path)
    finally:
        cluster.close()


def conflicting_deploys(cluster: Cluster, tmp_path: Path) -> None:
    nodes = [cluster.start_node(f"c{i}") for i in range(3)]
    a = write_app(tmp_path / "a", {"svc": (text_guest("A"), 'routes = ["/svc"]')})
    b = write_app(tmp_path / "b", {"svc": (text_guest("B"), 'routes = ["/svc"]')})
    results: dict[str, subprocess.CompletedProcess[str]] = {}
    threads = [threading.Thread(target=lambda p=p, k=k, n=n: results.__setitem__(k, deploy(p, "svc", n.admin_url)))
               for k, p, n in (("a", a, nodes[0]), ("b", b, nodes[2]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r.returncode == 0 for r in results.values()), {k: r.stderr for k, r in results.items()}

    def settled() -> bool:
        versions = {version_on(n, "svc") for n in nodes}
        return len(versions) == 1 and None not in versions

    wait_for(settled)
    newest = version_on(nodes[0], "svc")
    bodies = {httpx.get(f"{n.url}/svc").text for n in nodes}
    assert len(bodies) == 1  # one winner everywhere
    winner = "a" if f"version {newest}:" in results["a"].stdout else "b"
    assert bodies == {winner.upper()}

    undeployed = httpx.delete(f"{nodes[1].admin_url}/v1/apps/svc", headers={"authorization": f"Bearer {TOKEN}"})
    assert undeployed.status_code == 200
    wait_for(lambda: all(httpx.get(f"{n.url}/svc").status_code == 404 for n in nodes))


def test_redis_going_away_is_a_clear_503_and_no_acknowledged_write_is_lost(tmp_path: Path,
                                                                          counter_app: Path) -> None:
    cluster = Cluster(tmp_path / "outage")
    try:
        node = cluster.start_node("solo")
        assert deploy(counter_app, "counter", node.admin_url).returncode == 0
        wait_for(lambda: httpx.get(f"{node.url}/count").status_code == 200)
        for i in range(1, 6):
            assert httpx.post(f"{node.url}/count").text == f"{i}\n"
        cluster.redis.terminate()  # Redis goes away (a clean stop: its AOF has every acknowledged write)
        cluster.redis.wait()
        down = httpx.post(f"{node.url}/count", timeout=30)
        assert down.status_code == 503 and "unavailable" in down.text
        assert "store 'default' is unavailable" in node.log.read_text() or "increment failed" in node.log.read_text()
        assert httpx.get(f"{node.url}/count", timeout=30).status_code == 503  # reads fail clearly too
        time.sleep(3)  # an outage that spans several of the once-a-second registry polls and resubscribes
        cluster.redis = subprocess.Popen(
            ["redis-server", "--port", str(cluster.redis_port), "--bind", "127.0.0.1", "--dir", str(cluster.root),
             "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port("127.0.0.1", cluster.redis_port, cluster.redis)  # type: ignore[arg-type]
        wait_for(lambda: httpx.post(f"{node.url}/count").status_code == 200)
        assert httpx.get(f"{node.url}/count").text == "6\n"  # the 5 acknowledged + the one that got through
        assert node.proc.poll() is None  # the server never went down
        # recovery is logged (once the follower resubscribed) …
        wait_for(lambda: all(line in node.log.read_text() for line in (
            "change notifications resumed", "registry is readable again", "subscribed to Redis again")))
        # … and the outage once, although the registry is polled and resubscribed every second
        text = node.log.read_text()
        assert text.count("cannot read the registry") == 1
        assert text.count("change notifications interrupted") == 1
        assert text.count("Redis subscription was interrupted") == 1
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def chat_app() -> Path:
    app = EXAMPLES / "ws-chat" / "c"
    built = subprocess.run([*CLI, "build", str(app)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    return app


async def next_text(ws: ClientConnection) -> str:
    return str(await asyncio.wait_for(ws.recv(), 10))


async def recv_until(ws: ClientConnection, text: str) -> list[str]:
    seen = []
    while not seen or seen[-1] != text:
        seen.append(await next_text(ws))
        assert len(seen) < 20, f"never got {text!r}: {seen}"
    return seen


def test_a_chat_room_spans_the_nodes_through_redis_pubsub(cluster: Cluster, chat_app: Path) -> None:
    a, b = cluster.start_node("a"), cluster.start_node("b")
    assert deploy(chat_app, "chat", a.admin_url).returncode == 0
    wait_for(lambda: all(httpx.get(f"{n.url}/chat").status_code == 426 for n in (a, b)))  # WebSocket route up

    async def scenario() -> None:
        ws = "ws://127.0.0.1:{}/chat?nick={}"
        async with connect(ws.format(a.port, "ann")) as ann:
            await recv_until(ann, "* ann joined")
            async with connect(ws.format(b.port, "bob")) as bob:
                await recv_until(bob, "* bob joined")
                await recv_until(ann, "* bob joined")  # published on node b, heard on node a
                await bob.send("hello from b")
                await recv_until(ann, "bob: hello from b")
                await ann.send("hello from a")
                heard = await recv_until(bob, "ann: hello from a")
                # "* ann joined" may reach node b after bob connected: it crossed Redis meanwhile
                assert [m for m in heard if m != "* ann joined"] == ["bob: hello from b", "ann: hello from a"]
                assert await next_text(ann) == "ann: hello from a"  # once: node a skips its own echo
                await bob.send("bye")
                assert await next_text(ann) == "bob: bye"
            assert await next_text(ann) == "* bob left"

    asyncio.run(scenario())
    for node in (a, b):
        assert node.proc.poll() is None
