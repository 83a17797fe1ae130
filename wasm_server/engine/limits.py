"""Per-component resource limits and their defaults."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024

DEFAULT_MEMORY = 64 * MiB
DEFAULT_TIMEOUT = 10.0
DEFAULT_CONCURRENCY = 100
DEFAULT_QUEUE = 400
DEFAULT_IDLE_INSTANCES = 64


@dataclass(frozen=True, slots=True)
class Limits:
    """Hard limits a component runs under.

    ``memory`` caps the guest's linear memory in bytes (``memory.grow`` fails
    past it); ``timeout`` is the wall-clock deadline of one request in seconds,
    enforced by epoch interruption. ``concurrency`` requests run at once (each
    in its own instance) and ``queue`` more wait; beyond that the server
    answers 503 with ``Retry-After``. ``idle_instances`` caps the pool of
    instances kept for reuse (with ``instance_reuse``).
    """

    memory: int = DEFAULT_MEMORY
    timeout: float = DEFAULT_TIMEOUT
    concurrency: int = DEFAULT_CONCURRENCY
    queue: int = DEFAULT_QUEUE
    idle_instances: int = DEFAULT_IDLE_INSTANCES
