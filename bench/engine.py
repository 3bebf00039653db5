"""Benchmarks 1-3: engine overhead at scale, parallel convergence, API economy.

Each kexpose figure (N ``MarathonApp`` dummies against an in-process simulator, auth off, no data
plane) is set against the same operation timed in the same run on two baselines: N native
``random.RandomId`` resources (pulumi-random's provider, built by ``make setup``: the engine floor
any Pulumi provider is measured against) and N no-op dynamic resources (``bench.noop``), which
isolate what kexpose's providers add (HTTP calls, deployment waits) over the engine and the Python
dynamic-provider machinery both pay.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from bench.common import Sim, inline_stack, median, ratio, simulator, timed
from bench.noop import Noop
from kexpose_components.dcos.client import DcosConnection, DcosSession
from kexpose_components.dcos.marathon import MarathonClient
from tests.support.engine import OFFLINE_SETTINGS, engine_root
from kexpose_components.resources.marathon_app import MarathonApp
from kexpose_sim.config import Timing

#: preview (creating N), up, no-op preview, no-op up, refresh, destroy — in that order on one stack.
OPS = ("preview", "up", "noop_preview", "noop_up", "refresh", "destroy")
FAST = Timing(task_launch=0.0, tick=0.01)


def app(i: int) -> dict[str, Any]:
    return {"id": f"/bench/app-{i}", "cmd": "sleep 1000", "cpus": 0.01, "mem": 8, "instances": 1}


def kexpose_program(url: str, n: int) -> Callable[[], None]:
    def program() -> None:
        for i in range(n):
            MarathonApp(f"app-{i}", connection={"url": url}, app=app(i))
    return program


def baseline_program(n: int) -> Callable[[], None]:
    def program() -> None:
        for i in range(n):
            Noop(f"noop-{i}", key=str(i))
    return program


def native_program(n: int) -> Callable[[], None]:
    def program() -> None:
        import pulumi_random

        for i in range(n):
            pulumi_random.RandomId(f"id-{i}", byte_length=8)
    return program


def lifecycle(program: Callable[[], None], sim: Sim | None, n: int) -> dict[str, Any]:
    """Time every operation of OPS on a fresh stack; with ``sim``, count its API calls per op."""
    out: dict[str, Any] = {"seconds": {}, "calls": {}, "writes": {}}
    with inline_stack(program) as stack:
        steps: dict[str, Callable[[], Any]] = {
            "preview": stack.preview, "up": stack.up,
            "noop_preview": lambda: stack.preview(expect_no_changes=True),
            "noop_up": lambda: stack.up(expect_no_changes=True),
            "refresh": stack.refresh, "destroy": stack.destroy,
        }
        for op in OPS:
            if sim:
                sim.reset_stats()
            out["seconds"][op], _ = timed(steps[op])
            if sim:
                stats = sim.stats()
                out["calls"][op], out["writes"][op] = stats["total"], stats["writes"]
            if op == "up":
                out["state_bytes_per_resource"] = len(json.dumps(stack.export_stack().deployment)) / n
    return out


def overhead_at_scale(ns: list[int], reps: int) -> dict[str, Any]:
    """Benchmarks 1 and 3: medians per (N, op) for kexpose and the baseline, and their ratio."""
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="kexpose-bench-sim-") as tmp, simulator(Path(tmp), FAST) as sim:
        for _ in range(reps):  # interleaved, so drift in machine load hits both sides alike
            for n in ns:
                runs.setdefault(("kexpose", n), []).append(lifecycle(kexpose_program(sim.url, n), sim, n))
                runs.setdefault(("baseline", n), []).append(lifecycle(baseline_program(n), None, n))
                runs.setdefault(("native", n), []).append(lifecycle(native_program(n), None, n))
    result: dict[str, Any] = {}
    for n in ns:
        k, b, nat = runs[("kexpose", n)], runs[("baseline", n)], runs[("native", n)]
        row: dict[str, Any] = {}
        for op in OPS:
            ks, bs = median([r["seconds"][op] for r in k]), median([r["seconds"][op] for r in b])
            nat_s = median([r["seconds"][op] for r in nat])
            row[op] = {"kexpose_s": ks, "baseline_s": bs, "ratio": ratio(ks, bs), "native_s": nat_s,
                       "ratio_to_native": ratio(ks, nat_s),
                       "calls_per_resource": median([r["calls"][op] for r in k]) / n,
                       "writes": max(r["writes"][op] for r in k)}
        row["state_bytes_per_resource"] = {"kexpose": median([r["state_bytes_per_resource"] for r in k]),
                                           "baseline": median([r["state_bytes_per_resource"] for r in b]),
                                           "native": median([r["state_bytes_per_resource"] for r in nat])}
        result[str(n)] = row
    return result


def http_latency(sim: Sim, samples: int = 200) -> float:
    """Median seconds of one GET /v2/apps/<id> on a kept-alive session (what a provider call costs)."""
    session = requests.Session()
    times = [timed(lambda: session.get(f"{sim.url}/service/marathon/v2/apps/bench/app-0", timeout=5))[0]
             for _ in range(samples)]
    return median(times)


def breakdown(n: int, reps: int, slow: float = 0.5) -> dict[str, Any]:
    """Where one ``up`` of N goes: engine + dynamic machinery (baseline), HTTP (calls x latency),
    and deployment waits (the same up with task_launch=``slow`` minus task_launch=0)."""
    ups: dict[str, list[float]] = {"baseline": [], "fast": [], "slow": []}
    calls: list[int] = []
    latency = float("nan")
    with tempfile.TemporaryDirectory(prefix="kexpose-bench-sim-") as tmp, \
            simulator(Path(tmp) / "fast", FAST) as fast, \
            simulator(Path(tmp) / "slow", Timing(task_launch=slow, tick=0.01)) as slow_sim:
        for _ in range(reps):
            for key, program, sim in (("baseline", baseline_program(n), None), ("fast", kexpose_program(fast.url, n), fast),
                                      ("slow", kexpose_program(slow_sim.url, n), slow_sim)):
                with inline_stack(program) as stack:
                    if sim:
                        sim.reset_stats()
                    seconds, _ = timed(stack.up)
                    ups[key].append(seconds)
                    if key == "fast" and sim:
                        calls.append(sim.stats()["total"])
        latency = http_latency(fast)
    b, f, s = (median(ups[k]) for k in ("baseline", "fast", "slow"))
    return {"n": n, "up_baseline_s": b, "up_kexpose_task_launch_0_s": f, f"up_kexpose_task_launch_{slow:g}_s": s,
            "kexpose_extra_over_baseline_s": f - b, "deployment_wait_added_by_task_launch_s": s - f,
            "task_launch_s": slow, "http_calls": median(calls), "http_median_latency_s": latency,
            "http_serial_seconds": median(calls) * latency}


def provider_workers() -> int | None:
    """Worker threads of kexpose's dynamic-provider host (one process serves every dynamic resource
    of a stack; the SDK's own host has 4), read from the installed host: it caps concurrent calls."""
    host = engine_root() / "bin" / "kexpose_dynamic_host.py"
    m = re.search(r"^DEFAULT_WORKERS = (\d+)", host.read_text(), re.M) if host.exists() else None
    return int(os.environ.get("KEXPOSE_PROVIDER_WORKERS") or (m.group(1) if m else 0)) or None


def cli_default_parallel() -> int | None:
    """``pulumi up --parallel`` default of the built CLI (from its --help)."""
    out = subprocess.run([str(engine_root() / "bin" / "pulumi"), "up", "--help"], capture_output=True, text=True,
                         env={**os.environ, **OFFLINE_SETTINGS}, timeout=60).stdout
    m = re.search(r"--parallel int32 .*\(default (\d+)\)", out)
    return int(m.group(1)) if m else None


def end_seen(n: int, deploy_s: float, reps: int) -> dict[str, Any]:
    """How soon a wait sees its deployment end: N threads each PUT an app whose deployment takes
    ``deploy_s`` and wait for it through MarathonClient (the process's one watcher). The ratio is
    (PUT to the wait's return) / D: 1.0 is seeing the end the moment the simulator's tasks run."""
    ratios: list[float] = []
    with tempfile.TemporaryDirectory(prefix="kexpose-bench-sim-") as tmp, \
            simulator(Path(tmp), Timing(task_launch=deploy_s, tick=0.01)) as sim:
        for rep in range(reps):
            client = MarathonClient(DcosSession(DcosConnection(url=sim.url)))

            def one(i: int) -> float:
                t0 = time.perf_counter()
                definition = {**app(i), "id": f"/seen/r{rep}/app-{i}"}
                client.wait_for_deployments([client.put_app(definition)], definition["id"], 120)
                return (time.perf_counter() - t0) / deploy_s

            with ThreadPoolExecutor(n) as pool:
                ratios += list(pool.map(one, range(n)))
    return {"n": n, "deploy_s": deploy_s, "median_ratio": median(ratios), "max_ratio": max(ratios)}


def parallel_convergence(ns: list[int], deploy_s: float, reps: int) -> dict[str, Any]:
    """Benchmark 2: ``up --parallel N`` of N independent apps that each take ``deploy_s`` to
    deploy, against the same ``up`` of N no-op dynamic resources (the engine's and the dynamic
    machinery's own time). ``(up - baseline) / D`` has a floor of 1.0; the Marathon calls of the
    ``up`` per resource show the waits cost one watcher, not N pollers."""
    out: dict[str, Any] = {"deploy_s": deploy_s, "cli_default_parallel": cli_default_parallel(),
                           "dynamic_provider_workers": provider_workers()}
    with tempfile.TemporaryDirectory(prefix="kexpose-bench-sim-") as tmp, \
            simulator(Path(tmp), Timing(task_launch=deploy_s, tick=0.01)) as sim:
        for n in ns:
            times, base, calls, polls = [], [], [], []
            for _ in range(reps):
                with inline_stack(kexpose_program(sim.url, n)) as stack:
                    sim.reset_stats()
                    times.append(timed(lambda: stack.up(parallel=n))[0])
                    stats = sim.stats()
                    calls.append(stats["total"])
                    polls.append(sum(v for k, v in stats["calls"].items() if "GET /v2/deployments" in k))
                with inline_stack(baseline_program(n)) as stack:
                    base.append(timed(lambda: stack.up(parallel=n))[0])
            t, bt = median(times), median(base)
            out[f"n_{n}"] = {"n": n, "up_s": t, "baseline_up_s": bt, "ratio_to_D_after_engine_overhead": (t - bt) / deploy_s,
                             "calls_per_resource": median(calls) / n, "deployment_polls": median(polls)}
    return out
