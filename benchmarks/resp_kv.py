"""Raw socket services: the wasm RESP server against redis-server, and DNS queries/s.

    .venv/bin/python benchmarks/resp_kv.py [--requests 40000] [--runs 3] [--quick]

RESP: `redis-benchmark -t set,get -n N -P 16` against examples/resp-kv/rust
(1 worker) and against a real redis-server (with 10 N requests, so both
runs last about as long), each pinned to core 0, the client on core 1,
alternating runs; medians go to RESULTS.md and the issue-13 targets (RESP SET
and GET / redis-server, medians of the per-round ratios) to the Targets
summary (scripts/bench runs this in its default set, about a minute).
DNS: a bounded asyncio UDP load generator (64 queries in flight) against
examples/dns/c for a fixed time; queries/s answered.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, free_port, machine, wait_port, write_section
from suite import Target, record

RESP_SECTION = "## RESP server vs redis-server (issue 3)"
#: issue 13: the RESP example's SET and GET rates, each at least this fraction of redis-server's
TARGET = 0.25
#: redis-server answers this many times more requests per run (its runs would be too short to time otherwise)
REDIS_SCALE = 10
DNS_SECTION = "## DNS over UDP (issue 3)"
CLI = str(Path(sys.executable).parent / "wasm-server")


def parse_redis_benchmark(text: str) -> dict[str, float]:
    """``SET: 24570.02 requests per second`` lines → {"SET": 24570.02, …}."""
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"^(\w+): ([\d.]+) requests per second", text, re.M)}


def redis_benchmark(port: int, n: int) -> dict[str, float]:
    """One redis-benchmark run pinned to core 1."""
    out = subprocess.run(["taskset", "-c", "1", "redis-benchmark", "-p", str(port), "-t", "set,get", "-n", str(n),
                          "-P", "16", "-q"], capture_output=True, text=True, timeout=600)
    # -q prints progress with carriage returns; the final figures are what remains after each \r
    return parse_redis_benchmark("\n".join(line.split("\r")[-1] for line in out.stdout.splitlines()))


def start(cmd: list[str], port: int) -> subprocess.Popen[bytes]:
    """A server pinned to core 0."""
    proc = subprocess.Popen(["taskset", "-c", "0", *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc


def resp(n: int, runs: int, data_dir: Path) -> dict[str, list[dict[str, float]]]:
    """Alternating runs of both servers."""
    results: dict[str, list[dict[str, float]]] = {"wasm resp-kv": [], "redis-server": []}
    for _ in range(runs):
        for name in results:
            port = free_port()
            requests = n
            if name == "redis-server":
                requests = n * REDIS_SCALE
                cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            else:
                cmd = [CLI, "up", str(ROOT / "examples/resp-kv/rust"), "--no-build", "--data-dir", str(data_dir),
                       "--map-port", f"6379=127.0.0.1:{port}"]
            proc = start(cmd, port)
            try:
                r = redis_benchmark(port, requests)
                results[name].append(r)
                print(f"{name:14} SET {r.get('SET', 0):9.0f}/s  GET {r.get('GET', 0):9.0f}/s", file=sys.stderr)
            finally:
                proc.terminate()
                proc.wait(10)
    return results


def paired_ratios(results: dict[str, list[dict[str, float]]]) -> dict[str, float]:
    """SET and GET: the median of per-round ratios wasm / redis-server (a round runs both once)."""
    pairs = list(zip(results["wasm resp-kv"], results["redis-server"], strict=False))
    return {op: statistics.median(w.get(op, 0.0) / r[op] for w, r in pairs if r.get(op))
            for op in ("SET", "GET")}


def targets(ratio: dict[str, float]) -> list[Target]:
    """Issue 13's RESP rows of the Targets summary."""
    return [Target(f"RESP {op} / redis-server", ratio[op], TARGET, "×", True)
            for op in ("SET", "GET")]


def dns_query(qid: int) -> bytes:
    """An A query for hello.wasm.test."""
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + b"\x05hello\x04wasm\x04test\x00\x00\x01\x00\x01"


async def dns_load(port: int, seconds: float, in_flight: int = 64) -> tuple[int, int]:
    """Keep ``in_flight`` queries outstanding for ``seconds``; returns (answered, sent)."""
    loop = asyncio.get_running_loop()
    answered = 0
    sent = 0
    window = asyncio.Semaphore(in_flight)

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            nonlocal answered
            if len(data) >= 12 and data[3] & 0x0F == 0:
                answered += 1
            window.release()

    transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=("127.0.0.1", port))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            await asyncio.wait_for(window.acquire(), 0.5)
        except TimeoutError:
            for _ in range(in_flight):  # replies were lost: reopen the window
                window.release()
            continue
        sent += 1
        transport.sendto(dns_query(sent & 0xFFFF))
    transport.close()
    return answered, sent


def dns(seconds: float, runs: int, data_dir: Path) -> list[float]:
    """Queries/s answered by examples/dns/c, per run."""
    out = []
    for _ in range(runs):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        proc = subprocess.Popen(["taskset", "-c", "0", CLI, "up", str(ROOT / "examples/dns/c"), "--no-build",
                                 "--data-dir", str(data_dir), "--map-port", f"53=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(2.0)
            answered, sent = asyncio.run(dns_load(port, seconds))
            out.append(answered / seconds)
            print(f"dns            {answered / seconds:9.0f} answered/s ({sent} sent)", file=sys.stderr)
        finally:
            proc.terminate()
            proc.wait(10)
    return out


def main() -> int:
    """Run both and record them."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=40000, help="per SET/GET run of the wasm server")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--dns-seconds", type=float, default=3.0)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    if args.quick:
        args.requests, args.runs, args.dns_seconds = 5000, 1, 1.0
    for tool in ("redis-benchmark", "redis-server", "taskset"):
        if not shutil.which(tool):
            print(f"error: {tool} is missing (scripts/setup installs it)", file=sys.stderr)
            return 1
    for example in ("resp-kv/rust", "dns/c"):
        subprocess.run([CLI, "build", str(ROOT / "examples" / example)], check=True)
    command = "python benchmarks/resp_kv.py " + " ".join(sys.argv[1:])
    with tempfile.TemporaryDirectory() as tmp:
        r = resp(args.requests, args.runs, Path(tmp))
        d = dns(args.dns_seconds, args.runs, Path(tmp))
    med = {name: {op: statistics.median(run[op] for run in runs) for op in ("SET", "GET")} for name, runs in r.items()}
    ratio = paired_ratios(r)
    worst = min(ratio.values())
    lines = [RESP_SECTION, "", f"Date: {time.strftime('%Y-%m-%d')}. Machine: {machine()}.", "",
             f"Command: `{command.strip()}`", "",
             f"`redis-benchmark -t set,get -n {args.requests} -P 16` (redis-server: -n {args.requests * REDIS_SCALE}), "
             "servers on core 0, client on core 1;",
             "wasm: examples/resp-kv/rust (1 worker, SQLite KV); redis-server without persistence.", "",
             "| server | SET/s (median) | GET/s (median) | runs |", "|---|---|---|---|"]
    for name, runs in r.items():
        lines.append(f"| {name} | {med[name]['SET']:.0f} | {med[name]['GET']:.0f} | "
                     + ", ".join(f"{x['SET']:.0f}/{x['GET']:.0f}" for x in runs) + " |")
    lines += ["", f"Ratio wasm/redis (median of per-round ratios): SET {ratio['SET']:.3f}×, GET {ratio['GET']:.3f}× "
              f"— issue 13 target ≥ {TARGET}×: "
              + ("met" if worst >= TARGET else f"missed by {TARGET / worst:.1f}×") + "; issue 3 target ≥ 0.5×: "
              + ("met." if worst >= 0.5 else f"missed by {0.5 / worst:.1f}×."), "",
              "How the wasm server spends a SET (issue 13; py-spy on the server under redis-benchmark -P 16, "
              "2026-11-29): the guest gets all pipelined commands of a TCP read in one data event and answers "
              "them with one send, and SETs are group-committed (one SQLite transaction per event-loop turn, "
              "the replies held until it commits), so per command what remains is one guest→host KV crossing: "
              "the Python import path (argument conversion, reading the store label, key and value out of guest "
              "memory through ctypes: about 30% of the samples), the SQLite INSERT itself (about 18%), the "
              "guest's own work and the ctypes call (about 10%), and the event, the send and asyncio for the "
              "rest. redis-server answers a pipelined command in C in about a microsecond; ≥ 0.25× leaves about "
              "4 µs per command, less than one Python crossing costs today: it needs the compiled call path "
              "(engine/_lowlevel.py as a C extension) or a batched KV import (many operations per crossing).", ""]
    write_section(RESP_SECTION, "\n".join(lines))
    record("resp", targets(ratio), {f"{name} {op}/s": v for name, m in med.items() for op, v in m.items()})
    dns_lines = [DNS_SECTION, "", f"Date: {time.strftime('%Y-%m-%d')}. Command: `{command.strip()}`", "",
                 "examples/dns/c on core 0 (1 worker), an asyncio UDP client keeping 64 A queries in flight for "
                 f"{args.dns_seconds:.0f} s per run.", "",
                 f"Answered queries/s: median **{statistics.median(d):.0f}** (runs: "
                 + ", ".join(f"{x:.0f}" for x in d) + ").", ""]
    write_section(DNS_SECTION, "\n".join(dns_lines))
    print("\n".join(lines + dns_lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
