"""Fault injection, switchable per run (``--faults``) and at runtime (``PUT /_sim/faults``).

Faults apply to the DC/OS APIs only (never to ``/_sim``), optionally narrowed to path prefixes
and methods, so a test can hit exactly the call it means to.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class FaultConfig:
    latency_ms: int = 0  # added to every matching request
    error_rate: float = 0.0  # share of matching requests answered with error_status
    error_burst: int = 0  # the next N matching requests are answered with error_status
    error_status: int = 503
    timeout_rate: float = 0.0  # share answered 503 after timeout_ms (a gateway timing out)
    timeout_ms: int = 1000
    drop_rate: float = 0.0  # share of matching connections closed without an answer
    drop_burst: int = 0  # the next N matching connections are closed without an answer
    hang_deployments: bool = False  # new Marathon deployments never finish (tasks stay staging)
    events_silent: bool = False  # open /v2/events streams stay attached but lose every event (a stalled proxy)
    edgelb_500_applied: int = 0  # the next N Edge-LB writes take effect, then answer 500
    paths: list[str] = field(default_factory=list)  # service-relative prefixes; empty = all
    methods: list[str] = field(default_factory=list)  # e.g. ["PUT", "DELETE"]; empty = all
    seed: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault keys {unknown}; known: {sorted(known)}")
        return cls(**data)


class Decision:
    """What to do with one request: nothing, an error status, or drop the connection."""

    NONE = "none"
    ERROR = "error"
    DROP = "drop"


class FaultInjector:
    def __init__(self, config: FaultConfig | None = None):
        self._lock = threading.Lock()
        self.set(config or FaultConfig())

    def set(self, config: FaultConfig) -> None:
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)
            self.injected = {"latency": 0, "error": 0, "timeout": 0, "drop": 0, "edgelb_500_applied": 0}

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"config": asdict(self.config), "injected": dict(self.injected)}

    def _matches(self, method: str, path: str) -> bool:
        c = self.config
        if c.methods and method.upper() not in c.methods:
            return False
        return not c.paths or any(path.startswith(p) for p in c.paths)

    def decide(self, method: str, path: str) -> tuple[str, int]:
        """Apply latency now and say whether to answer normally, fail (with a status) or drop."""
        with self._lock:
            c = self.config
            if not self._matches(method, path):
                return Decision.NONE, 0
            delay = c.latency_ms / 1000.0
            kind = None
            if c.drop_burst > 0:
                c.drop_burst -= 1
                kind = "drop"
            elif c.error_burst > 0:
                c.error_burst -= 1
                kind = "error"
            elif c.drop_rate and self._rng.random() < c.drop_rate:
                kind = "drop"
            elif c.error_rate and self._rng.random() < c.error_rate:
                kind = "error"
            elif c.timeout_rate and self._rng.random() < c.timeout_rate:
                kind = "timeout"
                delay += c.timeout_ms / 1000.0
            if c.latency_ms:
                self.injected["latency"] += 1
            if kind:
                self.injected[kind] += 1
        if delay:
            time.sleep(delay)
        if kind == "drop":
            return Decision.DROP, 0
        if kind == "error":
            return Decision.ERROR, c.error_status
        if kind == "timeout":
            return Decision.ERROR, 503
        return Decision.NONE, 0

    def hang_deployments(self) -> bool:
        with self._lock:
            return self.config.hang_deployments

    def events_silent(self) -> bool:
        with self._lock:
            return self.config.events_silent

    def take_edgelb_500_applied(self) -> bool:
        with self._lock:
            if self.config.edgelb_500_applied > 0:
                self.config.edgelb_500_applied -= 1
                self.injected["edgelb_500_applied"] += 1
                return True
            return False
