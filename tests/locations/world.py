"""Two locations started for real: per location one Cassandra node (its own datacenter), two
``wasm-server up --cluster`` nodes, haproxy in front, and a client agent; between them
the latency proxy in the wan namespace (netns.py draws the network).

Everything a location runs is bound to its own address inside its namespace. The proxy
forwards, on each location's face: Cassandra's internode port (7000: the replication
path, each node's ``broadcast_address`` is its face) and CQL (9042, which the other
location's drivers see in system.peers and ignore: DC-aware, local datacenter only),
and the balancer's port (8080: only the test uses it, to measure a read that crosses).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.cassandra_node import CassandraNode
from tests.locations.latency_proxy import control
from tests.locations.netns import LOCATIONS, Location, Network

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "wasm_server.cli.main"]
TOKEN = "locations-token"
BALANCER = 8080
#: (app port, admin port) of each location's two nodes
NODE_PORTS = ((8081, 9081), (8082, 9082))
CQL, STORAGE = 9042, 7000
KEYSPACE_KV, KEYSPACE_REGISTRY = "locations_kv", "locations_registry"


class Agent:
    """The client living in one location (agent.py, inside its namespace)."""

    def __init__(self, net: Network, loc: Location) -> None:
        self.proc = subprocess.Popen(net.exec(loc.netns, [sys.executable, "-m", "tests.locations.agent"]),
                                     cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._lock = threading.Lock()

    def request(self, method: str, url: str, body: str | None = None, timeout: float = 10) -> dict[str, object]:
        """One request; ``{"status", "body", "ms"}`` or ``{"error", "ms"}``."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with self._lock:
            self.proc.stdin.write(json.dumps({"method": method, "url": url, "body": body, "timeout": timeout}) + "\n")
            self.proc.stdin.flush()
            answer: dict[str, object] = json.loads(self.proc.stdout.readline())
        return answer

    def close(self) -> None:
        """End the agent (stdin closes, it exits)."""
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        self.proc.kill()
        self.proc.wait()


@dataclass
class Site:
    """One location's processes."""

    loc: Location
    root: Path
    cassandra: CassandraNode
    nodes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    haproxy: subprocess.Popen[bytes] | None = None
    agent: Agent | None = None
    files: list[object] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The balancer, as a client in this location reaches it."""
        return f"http://{self.loc.address}:{BALANCER}"

    @property
    def far_url(self) -> str:
        """The balancer, as a client in the other location reaches it (through the wan)."""
        return f"http://{self.loc.face}:{BALANCER}"

    @property
    def node_urls(self) -> list[str]:
        """Each node's own app port (what the balancer spreads requests over)."""
        return [f"http://{self.loc.address}:{port}" for port, _ in NODE_PORTS]

    def admin_url(self, i: int = 0) -> str:
        """Node ``i``'s admin API."""
        return f"http://{self.loc.address}:{NODE_PORTS[i][1]}"

    def get(self, url: str, timeout: float = 10) -> dict[str, object]:
        """GET from inside this location."""
        assert self.agent is not None
        return self.agent.request("GET", url, timeout=timeout)

    def put(self, url: str, body: str, timeout: float = 10) -> dict[str, object]:
        """PUT from inside this location."""
        assert self.agent is not None
        return self.agent.request("PUT", url, body, timeout=timeout)


class World:
    """Both locations and the wan between them (see module docstring)."""

    def __init__(self, root: Path, delay_ms: float, kv_config: str) -> None:
        self.root = root
        self.net = Network()
        self.delay_ms = delay_ms
        self.kv_config = kv_config
        self.proxy: subprocess.Popen[str] | None = None
        self.control = root / "wan.sock"
        self.sites: dict[str, Site] = {}
        self.timings: dict[str, float] = {}
        #: set by the test when it passed: the fixture then removes the logs
        self.passed = False

    def site(self, name: str) -> Site:
        """Location ``a`` or ``b``."""
        return self.sites[name]

    # -- start ---------------------------------------------------------------------------------

    def start_network(self) -> None:
        """Namespaces, links and the latency proxy."""
        self.net.create()
        routes = []
        for name in LOCATIONS:
            loc = self.net.location(name)
            for port in (STORAGE, CQL, BALANCER):
                routes += ["--route", f"{loc.face}:{port}={loc.address}:{port}"]
        self.proxy = subprocess.Popen(self.net.exec(self.net.wan, [
            sys.executable, "-m", "tests.locations.latency_proxy", "--delay-ms", str(self.delay_ms),
            "--control", str(self.control), *routes]), cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.proxy.stdout is not None
        if self.proxy.stdout.readline().strip() != "ready":
            raise RuntimeError("the latency proxy did not start")

    def start_cassandra(self) -> None:
        """One node per location, started together; returns when both serve CQL."""
        seeds = [f"{self.net.location(n).face}:{STORAGE}" for n in LOCATIONS]
        started = time.monotonic()
        for name in LOCATIONS:
            loc = self.net.location(name)
            root = self.root / name
            node = CassandraNode(root / "cassandra", address=loc.address, cql_port=CQL, storage_port=STORAGE, dc=name,
                                 seeds=seeds, broadcast_address=loc.face, heap_mb=384, netns=loc.netns)
            self.sites[name] = Site(loc, root, node)
            node.start()
        for site in self.sites.values():
            site.cassandra.wait_ready(240)
        self.timings["cassandra_start_s"] = time.monotonic() - started

    def runtime_config(self, site: Site) -> Path:
        """The location's runtime.toml: the registry and the KV store in its own datacenter."""
        replication = "{ " + ", ".join(f"{n} = 1" for n in LOCATIONS) + " }"
        host = f'["{site.loc.address}:{CQL}"]'
        config = site.root / "runtime.toml"
        config.write_text(
            f'[cluster]\ncassandra_hosts = {host}\nlocal_dc = "{site.loc.name}"\n'
            f'keyspace = "{KEYSPACE_REGISTRY}"\nreplication = {replication}\n\n'
            + self.kv_config.format(hosts=host, dc=site.loc.name, replication=replication, keyspace=KEYSPACE_KV))
        return config

    def start_node(self, site: Site, i: int) -> subprocess.Popen[bytes]:
        """``wasm-server up --cluster`` inside the location."""
        port, admin = NODE_PORTS[i]
        data = site.root / f"node{i}"
        data.mkdir(parents=True, exist_ok=True)
        log = (site.root / f"node{i}.log").open("ab")
        site.files.append(log)
        proc = subprocess.Popen(self.net.exec(site.loc.netns, [
            *CLI, "up", "--cluster", "--config", str(self.runtime_config(site)), "--no-access-log",
            "--admin", f"{site.loc.address}:{admin}", "--listen", f"{site.loc.address}:{port}",
            "--data-dir", str(data)]), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
            env={**_env(), "WASM_SERVER_ADMIN_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"})
        site.nodes.append(proc)
        return proc

    def start_nodes(self) -> None:
        """Location a's first node creates the schemas; then the other three; then balancers and agents."""
        started = time.monotonic()
        a = self.site("a")
        a.agent = Agent(self.net, a.loc)
        self.start_node(a, 0)
        self.wait_admin(a, 0)
        for name in LOCATIONS:
            site = self.site(name)
            if site.agent is None:
                site.agent = Agent(self.net, site.loc)
            if name != "a":
                self.start_node(site, 0)
            self.start_node(site, 1)
        for site in self.sites.values():
            for i in range(len(NODE_PORTS)):
                self.wait_admin(site, i)
            self.start_haproxy(site)
        self.timings["nodes_start_s"] = time.monotonic() - started

    def wait_admin(self, site: Site, i: int, timeout: float = 60) -> None:
        """Until node ``i``'s admin API answers /healthz (its node exiting fails at once)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = site.nodes[i]
            if proc.poll() is not None:
                raise RuntimeError(f"node {site.loc.name}{i} exited:\n{self.node_log(site, i)[-3000:]}")
            if site.get(f"{site.admin_url(i)}/healthz", timeout=1).get("status") == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(f"node {site.loc.name}{i} did not answer:\n{self.node_log(site, i)[-3000:]}")

    def node_log(self, site: Site, i: int) -> str:
        """Node ``i``'s output so far."""
        return (site.root / f"node{i}.log").read_text(errors="replace")

    def start_haproxy(self, site: Site) -> None:
        """The location's balancer over its two nodes (health-checked on their admin ports)."""
        servers = "\n".join(f"  server n{i} {site.loc.address}:{port} check port {admin}"
                            for i, (port, admin) in enumerate(NODE_PORTS))
        cfg = site.root / "haproxy.cfg"
        cfg.write_text(f"""
global
  maxconn 500
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 3
  option redispatch
  retry-on conn-failure empty-response response-timeout
frontend fe
  bind {site.loc.address}:{BALANCER}
  default_backend nodes
backend nodes
  balance roundrobin
  option httpchk GET /healthz
  http-check expect status 200
  default-server inter 500ms fall 2 rise 2
{servers}
""")
        site.haproxy = subprocess.Popen(self.net.exec(site.loc.netns, ["haproxy", "-f", str(cfg)]),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while "error" in site.get(f"{site.url}/healthz", timeout=1):
            if time.monotonic() > deadline or site.haproxy.poll() is not None:
                raise RuntimeError(f"haproxy in {site.loc.name} did not start")
            time.sleep(0.1)

    # -- the wan ---------------------------------------------------------------------------

    def cut(self) -> None:
        """Cut the wan: the locations cannot reach each other."""
        control(self.control, "cut")

    def heal(self) -> None:
        """Heal the wan."""
        control(self.control, "heal")

    # -- deploys ---------------------------------------------------------------------------

    def deploy(self, site: Site, path: Path, name: str) -> subprocess.CompletedProcess[str]:
        """``wasm-server deploy`` from inside ``site`` to its first node's admin API."""
        return subprocess.run(self.net.exec(site.loc.netns, [
            *CLI, "deploy", str(path), "--name", name, "--no-build", "--admin", site.admin_url(0),
            "--token", TOKEN]), capture_output=True, text=True, timeout=60, cwd=ROOT)

    # -- stop ------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop everything started, then remove the namespaces (also after a failure)."""
        for site in self.sites.values():
            if site.agent is not None:
                site.agent.close()
            for proc in [*site.nodes, *([site.haproxy] if site.haproxy else [])]:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                proc.wait()
            site.cassandra.kill()
            for f in site.files:
                f.close()  # type: ignore[attr-defined]
        if self.proxy is not None:
            self.proxy.kill()
            self.proxy.wait()
            if self.proxy.stdout is not None:
                self.proxy.stdout.close()
        self.net.close()


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)
