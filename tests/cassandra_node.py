"""Real Cassandra 5.0 nodes for tests and benchmarks: a launcher and one shared loopback node.

:class:`CassandraNode` writes a small config (cassandra.yaml, cassandra-rackdc.properties,
logback.xml) into its directory and runs the daemon from the jars scripts/cassandra/install
fetched from Maven Central, with Java 17, a capped heap and the start-up waits cut short,
optionally inside a network namespace (``ip netns exec``)::

    with CassandraNode(tmp / "n1", cql_port=9142, seeds=["127.0.0.1:7100"], storage_port=7100) as node:
        node.wait_ready(120)
        ...  # contact point node.contact() == "127.0.0.1:9142"

:func:`shared_node` is the node the KV tests use: one per test run, shared by every
pytest-xdist worker through a lock file (each worker uses its own keyspace), stopped by the
last worker to finish. :func:`cassandra_contact` is the pytest-friendly way to get it.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest

VERSION = "5.0.6"
ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "scripts" / "cassandra" / "install"
READY_LINE = "Starting listening for CQL clients"

# What Cassandra's conf/jvm17-server.options gives Java 17: its code reaches into JDK internals
# (jamm measuring objects, Netty's direct buffers, the JMX/attach helpers), which the module
# system refuses without these exports and opens.
JVM17_MODULE_FLAGS = [
    "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports", "java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
    "--add-exports", "java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports", "java.rmi/sun.rmi.server=ALL-UNNAMED",
    "--add-exports", "java.sql/java.sql=ALL-UNNAMED",
    "--add-exports", "java.base/java.lang.ref=ALL-UNNAMED",
    "--add-exports", "jdk.unsupported/sun.misc=ALL-UNNAMED",
    "--add-exports", "jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
    "--add-exports", "jdk.attach/sun.tools.attach=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang.module=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.loader=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.reflect=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.math=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.module=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.util.jar=ALL-UNNAMED",
    "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
    "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens", "java.base/java.io=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens", "jdk.compiler/com.sun.tools.javac=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang=ALL-UNNAMED",
    "--add-opens", "java.base/java.util=ALL-UNNAMED",
]


def cassandra_home() -> Path:
    """The directory holding ``lib/*.jar`` (fetched by scripts/cassandra/install if absent).

    Raises RuntimeError naming the command that installs what is missing.
    """
    env = os.environ.get("WASM_SERVER_CASSANDRA_HOME")
    home = Path(env) if env else Path.home() / ".cache" / "wasm-server" / f"cassandra-{VERSION}"
    if (home / "lib" / f"cassandra-all-{VERSION}.jar").is_file():
        return home
    if shutil.which("java") is None or shutil.which("mvn") is None:
        raise RuntimeError("Cassandra needs java and mvn: run scripts/setup "
                           "(apt-get install openjdk-17-jre-headless maven, then scripts/cassandra/install)")
    done = subprocess.run([str(INSTALL)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"scripts/cassandra/install failed:\n{done.stderr[-2000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class CassandraNode:
    """One Cassandra daemon: its config, data and log under ``directory``.

    ``seeds`` are ``"HOST:STORAGE_PORT"`` strings (default: this node alone). ``dc`` and
    ``rack`` go to cassandra-rackdc.properties (GossipingPropertyFileSnitch). ``netns`` runs
    the JVM inside that network namespace. ``yaml`` adds or replaces top-level cassandra.yaml
    settings (``{"paxos_variant": "v1"}``). ``auto_bootstrap`` stays False: nodes of the tests
    start empty, and streaming data in on the first start would only slow them down.
    """

    def __init__(
        self,
        directory: Path,
        *,
        address: str = "127.0.0.1",
        cql_port: int,
        storage_port: int = 7000,
        dc: str = "dc1",
        rack: str = "rack1",
        seeds: list[str] | None = None,
        broadcast_address: str | None = None,
        heap_mb: int = 512,
        netns: str | None = None,
        cluster_name: str = "wasm-server-test",
        num_tokens: int = 4,
        initial_token: str | None = None,
        yaml: dict[str, str] | None = None,
    ) -> None:
        """Describe the node; nothing runs until :meth:`start`."""
        self.directory = Path(directory)
        self.address = address
        self.cql_port = cql_port
        self.storage_port = storage_port
        self.dc = dc
        self.rack = rack
        self.seeds = seeds if seeds is not None else [f"{broadcast_address or address}:{storage_port}"]
        self.broadcast_address = broadcast_address
        self.heap_mb = heap_mb
        self.netns = netns
        self.cluster_name = cluster_name
        self.num_tokens = num_tokens
        self.initial_token = initial_token
        self.yaml = dict(yaml or {})
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid: int | None = None
        self.started_at = 0.0
        self.log_path = self.directory / "logs" / "stdout.log"

    # --- config ---------------------------------------------------------------------------

    def contact(self) -> str:
        """The CQL contact point ``"HOST:PORT"`` (the broadcast address if one is set)."""
        return f"{self.broadcast_address or self.address}:{self.cql_port}"

    def write_config(self) -> Path:
        """Write conf/ (cassandra.yaml, cassandra-rackdc.properties, logback.xml); the conf directory."""
        conf = self.directory / "conf"
        for sub in ("conf", "data", "commitlog", "hints", "saved_caches", "cdc_raw", "logs", "triggers"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        (conf / "cassandra.yaml").write_text(self._yaml())
        (conf / "cassandra-rackdc.properties").write_text(f"dc={self.dc}\nrack={self.rack}\nprefer_local=true\n")
        (conf / "logback.xml").write_text(_LOGBACK.replace("@LOG@", str(self.directory / "logs" / "system.log")))
        return conf

    def _yaml(self) -> str:
        d = self.directory
        lines = [
            f"cluster_name: '{self.cluster_name}'",
            f"num_tokens: {self.num_tokens}",
            *([f"initial_token: {self.initial_token}"] if self.initial_token else []),
            "allocate_tokens_for_local_replication_factor: 1",
            "auto_bootstrap: false",
            "partitioner: org.apache.cassandra.dht.Murmur3Partitioner",
            f"data_file_directories: ['{d / 'data'}']",
            f"commitlog_directory: '{d / 'commitlog'}'",
            f"hints_directory: '{d / 'hints'}'",
            f"saved_caches_directory: '{d / 'saved_caches'}'",
            f"cdc_raw_directory: '{d / 'cdc_raw'}'",
            # periodic: a write is acknowledged once in the commit log's buffer (fsynced every
            # 10 s), Cassandra's default; durability comes from replicas, not from one disk
            "commitlog_sync: periodic",
            "commitlog_sync_period: 10000ms",
            "commitlog_segment_size: 8MiB",
            "seed_provider:",
            "  - class_name: org.apache.cassandra.locator.SimpleSeedProvider",
            "    parameters:",
            f"      - seeds: '{','.join(self.seeds)}'",
            f"listen_address: {self.address}",
            f"rpc_address: {self.address}",
            *([f"broadcast_address: {self.broadcast_address}",
               f"broadcast_rpc_address: {self.broadcast_address}"] if self.broadcast_address else []),
            f"storage_port: {self.storage_port}",
            f"native_transport_port: {self.cql_port}",
            "start_native_transport: true",
            "endpoint_snitch: GossipingPropertyFileSnitch",
            "dynamic_snitch: true",
            # small: a test node holds a few MB; the defaults size caches and memtables from the heap
            "memtable_heap_space: 64MiB",
            "memtable_offheap_space: 64MiB",
            "key_cache_size: 8MiB",
            "counter_cache_size: 1MiB",
            "prepared_statements_cache_size: 4MiB",
            "file_cache_size: 32MiB",
            "networking_cache_size: 16MiB",
            "concurrent_reads: 8",
            "concurrent_writes: 8",
            "concurrent_counter_writes: 8",
            "concurrent_compactors: 1",
            "read_request_timeout: 5000ms",
            "range_request_timeout: 5000ms",
            "write_request_timeout: 2000ms",
            "counter_write_request_timeout: 5000ms",
            "cas_contention_timeout: 1000ms",
            "request_timeout: 5000ms",
            "hinted_handoff_enabled: true",
            "max_hint_window: 3h",
            "materialized_views_enabled: false",
            "sasi_indexes_enabled: false",
            "authenticator: AllowAllAuthenticator",
            "authorizer: AllowAllAuthorizer",
        ]
        # the caller's settings replace ours key by key (top-level keys only)
        lines = [line for line in lines if line.split(":", 1)[0] not in self.yaml or line.startswith(" ")]
        lines += [f"{key}: {value}" for key, value in self.yaml.items()]
        return "\n".join(lines) + "\n"

    def command(self) -> list[str]:
        """The command line that runs the daemon (inside ``ip netns exec`` when netns is set)."""
        home = cassandra_home()
        conf = self.directory / "conf"
        heap = f"{self.heap_mb}m"
        java = [
            "java", "-ea", "-da:net.openhft...", "-Xss256k", "-XX:+UseThreadPriorities",
            "-XX:+ExitOnOutOfMemoryError",
            "-XX:+PerfDisableSharedMem", "-XX:+UseTLAB", "-XX:+ResizeTLAB",
            f"-Xms{heap}", f"-Xmx{heap}", "-XX:MaxDirectMemorySize=256m", "-XX:+UseG1GC",
            "-XX:MaxTenuringThreshold=1", "-XX:ParallelGCThreads=2", "-XX:ConcGCThreads=1",
            "-XX:CICompilerCount=2",
            *JVM17_MODULE_FLAGS,
            "-Djdk.attach.allowAttachSelf=true",
            "-Dio.netty.tryReflectionSetAccessible=true",
            "-Dio.netty.allocator.useCacheForAllThreads=true", "-Dio.netty.allocator.maxOrder=11",
            "-Djava.net.preferIPv4Stack=true",
            f"-Dcassandra.config=file://{conf / 'cassandra.yaml'}",
            f"-Dlogback.configurationFile=file://{conf / 'logback.xml'}",
            f"-Dcassandra.logdir={self.directory / 'logs'}",
            f"-Dcassandra.storagedir={self.directory / 'data'}",
            f"-Dcassandra.triggers_dir={self.directory / 'triggers'}",
            "-Dcassandra-foreground=yes",
            # start-up waits meant for big clusters: a test node has no gossip to wait for
            "-Dcassandra.skip_wait_for_gossip_to_settle=0",
            "-Dcassandra.ring_delay_ms=1000",
            "-Dcassandra.superuser_setup_delay_ms=0",
            "-Dcassandra.migration_task_wait_in_seconds=1",
            "-Dcassandra.available_processors=2",
            "-cp", f"{conf}:{home / 'lib'}/*",
            "org.apache.cassandra.service.CassandraDaemon",
        ]
        return (["ip", "netns", "exec", self.netns] if self.netns else []) + java

    # --- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Write the config and spawn the JVM (stdout and stderr to ``logs/stdout.log``)."""
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError(f"Cassandra in {self.directory} is already running")
        command = self.command()
        self.write_config()
        self.started_at = time.monotonic()
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=self.directory, start_new_session=True)
        self.pid = self.proc.pid

    def wait_ready(self, timeout: float = 180.0) -> float:
        """Wait until the node serves CQL; the seconds since :meth:`start`.

        Ready means the log says CQL listens (works inside a namespace too) and, outside a
        namespace, the CQL port accepts. RuntimeError with the log's tail if the JVM exits or
        the time runs out.
        """
        if self.pid is None:
            raise RuntimeError("wait_ready() before start()")
        deadline = time.monotonic() + timeout
        while True:
            if not self.running():
                code = self.proc.returncode if self.proc is not None else "?"
                raise RuntimeError(f"Cassandra in {self.directory} exited with {code}:\n{self.log_tail()}")
            if READY_LINE in self._log_text() and (self.netns or self._port_answers()):
                return time.monotonic() - self.started_at
            if time.monotonic() > deadline:
                raise RuntimeError(f"Cassandra in {self.directory} was not ready within {timeout:g} s:\n"
                                   f"{self.log_tail()}")
            time.sleep(0.25)

    def _port_answers(self) -> bool:
        try:
            socket.create_connection((self.address, self.cql_port), timeout=0.5).close()
        except OSError:
            return False
        return True

    def _log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the node's output (for error messages)."""
        return "\n".join(self._log_text().splitlines()[-lines:])

    def running(self) -> bool:
        """Whether the JVM is alive."""
        if self.proc is not None:
            return self.proc.poll() is None
        return self.pid is not None and _alive(self.pid)

    def attach(self, pid: int, started_at: float) -> None:
        """Treat the running JVM ``pid`` (started by another process) as this node's."""
        self.pid = pid
        self.started_at = started_at

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (Cassandra drains and exits), then SIGKILL if it is still there after ``timeout``."""
        self._signal(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """SIGKILL at once: the node dies as a machine would (unflushed commit log included)."""
        self._signal(signal.SIGKILL, 10.0)

    def _signal(self, sig: signal.Signals, timeout: float) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        # the JVM's process group: under `ip netns exec` the JVM is a child (or exec'd) of ip
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def __enter__(self) -> CassandraNode:
        """Start the node (the caller waits with :meth:`wait_ready`)."""
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        """Stop the node."""
        self.stop()


_LOGBACK = """<configuration scan="false">
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>@LOG@</file>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <filter class="ch.qos.logback.classic.filter.ThresholdFilter"><level>INFO</level></filter>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/><appender-ref ref="STDOUT"/></root>
  <logger name="org.apache.cassandra" level="INFO"/>
</configuration>
"""


# --- one node shared by the whole test run ------------------------------------------------------

_SHARED_ROOT = Path(tempfile.gettempdir()) / f"wasm-server-cassandra-{os.getuid()}"


@contextlib.contextmanager
def _locked() -> Iterator[Path]:
    _SHARED_ROOT.mkdir(parents=True, exist_ok=True)
    with open(_SHARED_ROOT / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield _SHARED_ROOT / "node.json"
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_contact: str | None = None
_started: list[CassandraNode] = []  # the node this process started: its Popen lives as long as the process
_registered: list[bool] = []  # whether _leave runs at exit


def shared_node() -> str:
    """The contact point ``"127.0.0.1:PORT"`` of the test run's node, started on first use.

    Every process of the run (pytest-xdist workers) shares one node: the first starts it under
    a lock file and records it in node.json, the others find it there; each registers its pid
    and waits until the node is ready; the last user alive at exit stops it. A node whose
    users are all gone (a crashed run) is stopped and replaced. A caller interrupted while the
    node starts (a test's timeout) leaves it starting: the next caller waits for the same node.
    """
    global _contact
    if _contact is not None:
        return _contact
    with _locked() as state_file:
        state = json.loads(state_file.read_text()) if state_file.exists() else None
        if state is not None and not (_alive(state["pid"]) and any(_alive(p) for p in state["users"])):
            _stop_pid(state["pid"])
            shutil.rmtree(state["directory"], ignore_errors=True)
            state = None
        if state is None:
            directory = Path(tempfile.mkdtemp(prefix="node-", dir=_SHARED_ROOT))
            node = CassandraNode(directory, cql_port=free_port(), storage_port=free_port(), heap_mb=512)
            node.start()
            _started.append(node)
            state = {"pid": node.pid, "cql_port": node.cql_port, "storage_port": node.storage_port,
                     "directory": str(directory), "started": time.time(), "users": []}
        state["users"] = [p for p in state["users"] if _alive(p) and p != os.getpid()] + [os.getpid()]
        state_file.write_text(json.dumps(state))
    if not _registered:
        _registered.append(True)
        atexit.register(_leave)
    node = CassandraNode(Path(state["directory"]), cql_port=state["cql_port"], storage_port=state["storage_port"])
    node.attach(state["pid"], time.monotonic() - (time.time() - state["started"]))
    node.wait_ready(240)
    _contact = node.contact()
    return _contact


def _leave() -> None:
    with _locked() as state_file:
        if not state_file.exists():
            return
        state = json.loads(state_file.read_text())
        state["users"] = [p for p in state["users"] if p != os.getpid() and _alive(p)]
        if state["users"]:
            state_file.write_text(json.dumps(state))
            return
        _stop_pid(state["pid"])
        shutil.rmtree(state["directory"], ignore_errors=True)
        state_file.unlink()


def _stop_pid(pid: int) -> None:
    # the node runs in its own session (start_new_session), so its pid is its process group
    if not _alive(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)


def cassandra_contact() -> str:
    """:func:`shared_node` for tests: skips (with the command to run) where Java or the jars cannot be had."""
    if shutil.which("java") is None:
        pytest.skip("java is not installed (scripts/setup installs openjdk-17-jre-headless)")
    return shared_node()


@pytest.fixture(scope="session")
def cassandra() -> str:
    """The test run's Cassandra contact point ``"127.0.0.1:PORT"`` (one node for every worker)."""
    return cassandra_contact()
