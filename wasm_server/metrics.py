"""Per-component counters and a latency histogram, in Prometheus' text format.

Recording is one ``bisect`` and a few integer additions per request; the
text is built only when ``/metrics`` is scraped.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field

#: latency bucket upper bounds in seconds
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class ComponentStats:
    """What happened to one component's requests."""

    requests: int = 0
    errors: int = 0
    timeouts: int = 0
    traps: int = 0
    overloaded: int = 0
    seconds_sum: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))

    def observe(self, seconds: float) -> None:
        """Record one finished request's duration."""
        self.seconds_sum += seconds
        self.buckets[bisect_left(BUCKETS, seconds)] += 1


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(apps: Iterable[tuple[str, dict[str, ComponentStats], dict[str, int]]],
           kv_ops: dict[str, int] | None = None) -> str:
    """The exposition text for ``(app name, stats per component, live instances per component)``."""
    out = [
        "# HELP wasm_server_requests_total Requests handled, per component.",
        "# TYPE wasm_server_requests_total counter",
    ]
    rows = [(app, comp, st, live.get(comp, 0)) for app, stats, live in apps for comp, st in sorted(stats.items())]
    for app, comp, st, _ in rows:
        out.append(f'wasm_server_requests_total{{app="{_label(app)}",component="{_label(comp)}"}} {st.requests}')
    for metric, help_text, attr in (
        ("wasm_server_errors_total", "Requests that failed in the guest (trap or bad response).", "errors"),
        ("wasm_server_traps_total", "Guest traps.", "traps"),
        ("wasm_server_timeouts_total", "Requests stopped at their deadline.", "timeouts"),
        ("wasm_server_overloaded_total", "Requests refused with 503 by admission control.", "overloaded"),
    ):
        out += [f"# HELP {metric} {help_text}", f"# TYPE {metric} counter"]
        for app, comp, st, _ in rows:
            out.append(f'{metric}{{app="{_label(app)}",component="{_label(comp)}"}} {getattr(st, attr)}')
    out += ["# HELP wasm_server_active_instances Requests running in an instance now, per component.",
            "# TYPE wasm_server_active_instances gauge"]
    for app, comp, _, live in rows:
        out.append(f'wasm_server_active_instances{{app="{_label(app)}",component="{_label(comp)}"}} {live}')
    out += ["# HELP wasm_server_request_duration_seconds Time from routing to the guest's answer.",
            "# TYPE wasm_server_request_duration_seconds histogram"]
    for app, comp, st, _ in rows:
        labels = f'app="{_label(app)}",component="{_label(comp)}"'
        running = 0
        for bound, count in zip(BUCKETS, st.buckets, strict=False):
            running += count
            out.append(f'wasm_server_request_duration_seconds_bucket{{{labels},le="{bound}"}} {running}')
        running += st.buckets[-1]
        out.append(f'wasm_server_request_duration_seconds_bucket{{{labels},le="+Inf"}} {running}')
        out.append(f"wasm_server_request_duration_seconds_sum{{{labels}}} {st.seconds_sum:.6f}")
        out.append(f"wasm_server_request_duration_seconds_count{{{labels}}} {running}")
    out += ["# HELP wasm_server_kv_operations_total Key-value calls by guests, per component.",
            "# TYPE wasm_server_kv_operations_total counter"]
    for app, comp, _, _ in rows:
        count = (kv_ops or {}).get(comp, 0)
        out.append(f'wasm_server_kv_operations_total{{app="{_label(app)}",component="{_label(comp)}"}} {count}')
    return "\n".join(out) + "\n"
