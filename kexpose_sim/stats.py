"""Counts of API calls by service, method and route, so tests and benchmarks can assert how many
calls (and how many writes) an operation made. Read with ``GET /_sim/stats``."""

from __future__ import annotations

import threading
from collections import Counter

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class ApiStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()

    def count(self, service: str, method: str, path: str) -> None:
        with self._lock:
            self._calls[f"{service} {method} {path}"] += 1

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()

    def describe(self) -> dict:
        with self._lock:
            calls = dict(self._calls)
        writes = sum(n for k, n in calls.items() if k.split()[1] in WRITE_METHODS)
        return {"total": sum(calls.values()), "writes": writes, "calls": calls}
