"""Shared helpers: medians, a stopwatch, an in-process simulator and throwaway inline stacks."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from pulumi import automation as auto

from tests.support.engine import EngineEnv, workspace_options
from kexpose_sim.config import SimConfig, Timing
from kexpose_sim.server import Simulator

PROJECT = "kexpose-bench"


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall seconds of one call (perf_counter), and its result."""
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


@dataclass
class Sim:
    """An in-process simulator without data plane (no root, no HAProxy): APIs only."""

    sim: Simulator

    @property
    def url(self) -> str:
        return self.sim.base_url

    def stats(self) -> dict[str, Any]:
        return requests.get(f"{self.url}/_sim/stats", timeout=5).json()

    def reset_stats(self) -> None:
        requests.delete(f"{self.url}/_sim/stats", timeout=5).raise_for_status()


@contextmanager
def simulator(workdir: Path, timing: Timing) -> Iterator[Sim]:
    """auth="none" (no login round-trips to count) and ``dataplane=False`` (no processes)."""
    sim = Simulator(SimConfig(state_dir=workdir / "sim", auth="none", timing=timing), dataplane=False).start()
    try:
        yield Sim(sim)
    finally:
        sim.stop()


@contextmanager
def inline_stack(program: Callable[[], None], name: str = "bench") -> Iterator[auto.Stack]:
    """A stack on its own file backend in a temp dir; destroyed (best effort) and removed after."""
    with tempfile.TemporaryDirectory(prefix="kexpose-bench-") as tmp:
        backend = Path(tmp) / "state"
        backend.mkdir()
        env = EngineEnv(backend_dir=backend, passphrase="kexpose-bench")
        stack = auto.create_stack(name, project_name=PROJECT, program=program, opts=workspace_options(env))
        try:
            yield stack
        finally:
            try:
                stack.destroy()
            except auto.errors.CommandError:
                pass
            # The Automation API leaves the inline program's work dir (automation-*) behind.
            work = Path(stack.workspace.work_dir)
            if work.name.startswith("automation-"):
                shutil.rmtree(work, ignore_errors=True)
