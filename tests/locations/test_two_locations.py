"""Two locations, simulated: each in its own network namespace with two cluster nodes, a
balancer and one Cassandra node (its own datacenter); between them 40 ms each way
through the latency proxy (world.py, netns.py).

One scenario, in order, on one set of processes (starting two Cassandras is most of the
run time). It asserts behaviour and prints the figures that docs/operations.md "Two
locations" quotes (run with -s to see them); no assertion is about time.
"""

from __future__ import annotations

import datetime
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.wat_app import write_app
from tests.guests import wat
from tests.locations.netns import remove_leftovers, why_unavailable
from tests.locations.world import CLI, ROOT, Site, World
from wasm_server.abi_codec import GuestResponse, encode_response

# skipped only where namespaces cannot be made; a missing java or haproxy fails (scripts/setup installs both)
REASON = why_unavailable()
pytestmark = [pytest.mark.skipif(REASON is not None, reason=REASON or ""), pytest.mark.timeout(600)]
DELAY_MS = 40.0
#: how long the wan stays cut (writes and reads go on meanwhile)
CUT_SECONDS = 20.0
CUT_ROUNDS = 30
KV_APP = Path(__file__).parent / "kvapp"
KV_CONFIG = ('[key_value_store.default]\ntype = "cassandra"\nhosts = {hosts}\nlocal_dc = "{dc}"\n'
             'keyspace = "{keyspace}"\nreplication = {replication}\n')
FIGURES: dict[str, str] = {}


def figure(name: str, value: str) -> None:
    """Keep a measured figure and print it (docs/operations.md quotes them)."""
    FIGURES[name] = value
    print(f"[two locations] {name}: {value}", flush=True)


def wait_for(what: str, predicate: Callable[[], bool], timeout: float = 60.0, step: float = 0.02) -> float:
    """Seconds until ``predicate()`` held; fails naming ``what`` after ``timeout``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(step)
    return time.monotonic() - started


def text_app(tmp: Path, text: str) -> Path:
    """A one-route app answering ``text`` on /version (a deploy you can tell apart)."""
    guest = wat.guest(response=encode_response(GuestResponse(200, [], text.encode())))
    return write_app(tmp / text, {"version": (guest, 'routes = ["/version"]')})


def runs(site: Site, path: str, body: str) -> bool:
    """Every node of ``site`` answers ``body`` on ``path`` (asked directly, not through the balancer)."""
    return all(site.get(f"{url}{path}", timeout=5).get("body") == body for url in site.node_urls)


def serves(site: Site, path: str, body: str) -> bool:
    answer = site.get(f"{site.url}{path}", timeout=5)
    return answer.get("status") == 200 and answer.get("body") == body


def median_ms(samples: list[float]) -> str:
    low, high, mid = min(samples), max(samples), statistics.median(samples)
    return f"median {mid:.1f} ms (min {low:.1f}, max {high:.1f}, n={len(samples)})"


def cassandra_log_seconds(site: Site, text: str, since: datetime.datetime) -> list[float]:
    """Seconds after ``since`` of each line of the node's log that contains ``text``."""
    seconds = []
    for line in site.cassandra.log_tail(1_000_000).splitlines():
        if text in line:
            stamp = datetime.datetime.strptime(" ".join(line.split()[2:4]), "%Y-%m-%d %H:%M:%S,%f")
            if stamp >= since:
                seconds.append(round((stamp - since).total_seconds(), 1))
    return seconds


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    for tool, package in (("java", "openjdk-17-jre-headless"), ("haproxy", "haproxy")):
        assert shutil.which(tool), f"needs {tool}: scripts/setup installs it (apt-get install {package})"
    remove_leftovers()
    started = time.monotonic()
    built = subprocess.Popen([*CLI, "build", str(KV_APP)], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)  # while Cassandra starts
    # not pytest's tmp_path: the logs of a failed run stay (pytest keeps only its last few runs)
    w = World(Path(tempfile.mkdtemp(prefix="wasm-server-locations-")), DELAY_MS, KV_CONFIG)
    try:
        w.start_network()
        w.start_cassandra()
        out, _ = built.communicate(timeout=600)
        assert built.returncode == 0, out
        w.start_nodes()
        figure("start-up", f"both Cassandra nodes ready in {w.timings['cassandra_start_s']:.0f} s (in parallel), "
                           f"four wasm-server nodes and two balancers in {w.timings['nodes_start_s']:.0f} s, "
                           f"{time.monotonic() - started:.0f} s in all")
        yield w
    finally:
        if built.poll() is None:
            built.kill()
        if built.stdout is not None:
            built.stdout.close()
        w.close()
        if w.passed:
            shutil.rmtree(w.root, ignore_errors=True)
        else:
            print(f"[two locations] logs kept in {w.root} (node*.log, */cassandra/logs)", flush=True)


def test_two_locations(world: World, tmp_path: Path) -> None:
    scenario_started = time.monotonic()
    a, b = world.site("a"), world.site("b")

    # -- a deploy through location a's admin API is served in both ---------------------------
    deployed = world.deploy(a, KV_APP, "kv")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    took = wait_for("the kv app served in b", lambda: runs(b, "/kv/none", "no such key\n"))
    figure("deploy reaches the other location", f"{took:.2f} s after a's admin API answered")
    v1 = world.deploy(b, text_app(tmp_path, "v1"), "version")  # and one through b's
    assert v1.returncode == 0, v1.stderr
    wait_for("v1 served in a", lambda: runs(a, "/version", "v1"))

    # -- reads are served in the location: they do not pay the wan round trip -----------------
    assert a.put(f"{a.url}/kv/greeting", "hello")["status"] == 200
    wait_for("the greeting replicated to b", lambda: serves(b, "/kv/greeting", "hello"))
    local = [float(str(a.get(f"{a.url}/kv/greeting")["ms"])) for _ in range(30)]
    far = [float(str(a.get(f"{b.far_url}/kv/greeting")["ms"])) for _ in range(30)]
    writes = [float(str(a.put(f"{a.url}/kv/w{i}", "x")["ms"])) for i in range(30)]
    figure("read in a, served by a", median_ms(local))
    figure("write in a, acknowledged by a", median_ms(writes))
    figure("read in a, served by b across the wan", median_ms(far))

    # -- a write in one location is visible in the other within the replication delay ---------
    after_ack, after_send = [], []
    for i in range(10):
        writer, reader = (a, b) if i % 2 == 0 else (b, a)
        sent = time.monotonic()
        assert writer.put(f"{writer.url}/kv/rep{i}", f"r{i}")["status"] == 200
        acknowledged = time.monotonic()
        wait_for(f"rep{i} visible in {reader.loc.name}", lambda r=reader, i=i: serves(r, f"/kv/rep{i}", f"r{i}"),
                 timeout=30, step=0.002)
        after_ack.append((time.monotonic() - acknowledged) * 1000)
        after_send.append((time.monotonic() - sent) * 1000)
    # Cassandra sends the mutation to the other datacenter as it writes locally: a slow
    # acknowledgement can leave less than the one-way delay between the ack and the replica
    figure("write acknowledged in one location -> readable in the other", median_ms(after_ack))
    figure("write sent in one location -> readable in the other", median_ms(after_send))

    # -- cut: each location keeps serving reads, writes and deploys on its own ----------------
    acknowledged_writes: dict[str, str] = {f"rep{i}": f"r{i}" for i in range(10)} | {"greeting": "hello"}
    world.cut()
    cut_at, cut_wall = time.monotonic(), datetime.datetime.now()
    during: list[float] = []
    # spread over CUT_SECONDS, past Cassandra's write timeout (2 s) and its failure detector
    # (about 18 s of silence with gossip every second): the other datacenter is then known
    # down, and what it misses is kept as hints
    for i in range(CUT_ROUNDS):
        time.sleep(max(0.0, cut_at + i * CUT_SECONDS / CUT_ROUNDS - time.monotonic()))
        for site in (a, b):
            key, value = f"cut-{site.loc.name}{i}", f"{site.loc.name}{i}"
            written = site.put(f"{site.url}/kv/{key}", value)
            assert written.get("status") == 200, written  # the write succeeds with the other location gone
            acknowledged_writes[key] = value
            read = site.get(f"{site.url}/kv/greeting")
            assert read.get("body") == "hello", read
            during += [float(str(written["ms"])), float(str(read["ms"]))]
    assert b.get(f"{b.url}/kv/cut-a0").get("status") == 404  # really cut: a's writes have not reached b
    figure("requests while cut", f"{CUT_ROUNDS} writes and {CUT_ROUNDS} reads per location, all answered, "
                                 f"{median_ms(during)}")
    # deploys keep working on both sides of the cut; the same app deployed on both
    v2 = world.deploy(a, text_app(tmp_path, "v2"), "version")
    assert v2.returncode == 0, v2.stderr
    wait_for("v2 served in a", lambda: runs(a, "/version", "v2"))
    assert runs(b, "/version", "v1")  # b cannot know
    v3 = world.deploy(b, text_app(tmp_path, "v3"), "version")  # later: its version is higher
    assert v3.returncode == 0, v3.stderr
    wait_for("v3 served in b", lambda: runs(b, "/version", "v3"))
    assert runs(a, "/version", "v2")

    # -- heal: nothing acknowledged is lost; the later deploy runs everywhere -------------------
    cut_seconds = time.monotonic() - cut_at
    world.heal()
    healed, healed_wall = time.monotonic(), datetime.datetime.now()
    wait_for("v3 served in a", lambda: runs(a, "/version", "v3"), timeout=120, step=0.1)
    deploy_caught_up = time.monotonic() - healed
    assert runs(b, "/version", "v3")  # one winner everywhere

    def all_readable_everywhere() -> bool:
        return all(serves(site, f"/kv/{key}", value) for site in (a, b) for key, value in acknowledged_writes.items())

    wait_for("every acknowledged write readable in both locations", all_readable_everywhere, timeout=120, step=0.5)
    converged = time.monotonic() - healed
    figure("cut", f"{cut_seconds:.1f} s; after healing, a served b's later deploy in {deploy_caught_up:.1f} s and "
                  f"all {len(acknowledged_writes)} acknowledged writes were readable in both locations after "
                  f"{converged:.1f} s")
    for site in (a, b):  # how the writes crossed: Cassandra's log says (hinted handoff, not a repair)
        down = cassandra_log_seconds(site, "is now DOWN", cut_wall)
        up = cassandra_log_seconds(site, "is now UP", healed_wall)
        hints = cassandra_log_seconds(site, "Finished hinted handoff", healed_wall)
        figure(f"Cassandra in {site.loc.name}",
               f"marked the other datacenter down {down[0] if down else 'never'} s after the cut and up "
               f"{up[0] if up else 'never'} s after healing; delivered {len(hints)} hint files, the last "
               f"{hints[-1] if hints else '-'} s after healing")
    figure("scenario", f"{time.monotonic() - scenario_started:.0f} s")
    world.passed = True
