"""``make bench``: run the benchmarks, print one results table, write bench/results/latest.json.

Every figure is a median of several runs; each kexpose figure sits next to a baseline measured in
the same run (ratio = kexpose / baseline). ``--quick`` does fewer repetitions and smaller N
(for development); the default stays well under 15 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import dataplane, engine, setup_time
from tests.support.engine import pinned_versions

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
BENCHMARKS = ("overhead", "breakdown", "parallel", "seen", "dataplane", "setup")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def plan(quick: bool) -> dict[str, Any]:
    """Sizes and repetitions: default for ``make bench``, smaller for ``--quick``."""
    if quick:
        return {"reps": 1, "ns": [1, 10], "breakdown_n": 10, "parallel_ns": [20], "deploy_s": 2.0,
                "wrk_seconds": 2, "setup_reps": 1}
    return {"reps": 3, "ns": [1, 10, 50], "breakdown_n": 10, "parallel_ns": [20, 50], "deploy_s": 2.0,
            "wrk_seconds": 5, "setup_reps": 3}


def run(selected: list[str], p: dict[str, Any]) -> dict[str, Any]:
    steps: dict[str, Callable[[], Any]] = {
        "overhead": lambda: engine.overhead_at_scale(p["ns"], p["reps"]),
        "breakdown": lambda: engine.breakdown(p["breakdown_n"], p["reps"]),
        "parallel": lambda: engine.parallel_convergence(p["parallel_ns"], p["deploy_s"], p["reps"]),
        "seen": lambda: [engine.end_seen(n, p["deploy_s"], p["reps"]) for n in (1, p["parallel_ns"][0])],
        "dataplane": lambda: dataplane.run(p["reps"], p["wrk_seconds"]),
        "setup": lambda: setup_time.warm_setup(p["setup_reps"]),
    }
    results: dict[str, Any] = {}
    for name in selected:
        log(f"{name} ...")
        t0 = time.monotonic()
        try:
            results[name] = steps[name]()
        except Exception as exc:  # one failing benchmark must not lose the others' numbers
            results[name] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
        log(f"{name} done in {time.monotonic() - t0:.0f}s")
        results.setdefault("_seconds", {})[name] = time.monotonic() - t0
    return results


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def report(r: dict[str, Any], p: dict[str, Any]) -> str:
    out: list[str] = []
    ov = r.get("overhead")
    if ov and "error" not in ov:
        out.append(f"1. Engine overhead: N MarathonApp (kexpose) vs N no-op Python dynamic resources (baseline) "
                   f"and N native random.RandomId (native: the engine floor). Medians of {p['reps']}.")
        rows = []
        for n, row in ov.items():
            for op in engine.OPS:
                c = row[op]
                rows.append([n, op, f"{c['kexpose_s']:.2f}", f"{c['baseline_s']:.2f}", f"{c['ratio']:.2f}",
                             f"{c['native_s']:.2f}", f"{c['ratio_to_native']:.2f}",
                             f"{c['calls_per_resource']:.1f}", str(c["writes"])])
        out.append(table(rows, ["N", "operation", "kexpose s", "baseline s", "ratio", "native s", "ratio native",
                                "API calls/res", "writes"]))
        sizes = [[n, f"{row['state_bytes_per_resource']['kexpose']:.0f}", f"{row['state_bytes_per_resource']['baseline']:.0f}",
                  f"{row['state_bytes_per_resource']['kexpose'] / row['state_bytes_per_resource']['baseline']:.2f}",
                  f"{row['state_bytes_per_resource']['native']:.0f}"]
                 for n, row in ov.items()]
        ns = list(ov)
        if len(ns) > 1:
            lo, hi = ns[0], ns[-1]
            def marginal(kind: str) -> float:
                a, b = ov[lo]["state_bytes_per_resource"][kind] * int(lo), ov[hi]["state_bytes_per_resource"][kind] * int(hi)
                return (b - a) / (int(hi) - int(lo))
            sizes.append([f"marginal {lo}->{hi}", f"{marginal('kexpose'):.0f}", f"{marginal('baseline'):.0f}",
                          f"{marginal('kexpose') / marginal('baseline'):.2f}", f"{marginal('native'):.0f}"])
        out.append("\nState size (exported stack JSON bytes / N, after up):")
        out.append(table(sizes, ["N", "kexpose B/res", "baseline B/res", "ratio", "native B/res"]))
        out.append("3. API economy: 'API calls/res' and 'writes' above (simulator /_sim/stats, reset before each "
                   "operation); no-op preview and no-op up must write nothing.")
    bd = r.get("breakdown")
    if bd and "error" not in bd:
        slow = bd["task_launch_s"]
        out.append(f"\n1b. Where one up of N={bd['n']} goes (medians):")
        out.append(table([
            ["engine + dynamic-provider machinery (baseline up)", f"{bd['up_baseline_s']:.2f}"],
            ["kexpose up, task_launch=0", f"{bd['up_kexpose_task_launch_0_s']:.2f}"],
            ["  extra over baseline (HTTP + first polls)", f"{bd['kexpose_extra_over_baseline_s']:.2f}"],
            [f"  HTTP: {bd['http_calls']:.0f} calls x {bd['http_median_latency_s'] * 1e3:.1f} ms, if serial",
             f"{bd['http_serial_seconds']:.2f}"],
            [f"kexpose up, task_launch={slow:g}", f"{bd[f'up_kexpose_task_launch_{slow:g}_s']:.2f}"],
            [f"  deployment waits added by task_launch={slow:g}", f"{bd['deployment_wait_added_by_task_launch_s']:.2f}"],
        ], ["component", "seconds"]))
    pc = r.get("parallel")
    if pc and "error" not in pc:
        out.append(f"\n2. Parallel convergence: up --parallel N of N apps, each deployment D={pc['deploy_s']:g}s, "
                   f"vs the same up of N no-op dynamic resources (baseline); floor 1.0. The provider host has "
                   f"{pc['dynamic_provider_workers']} worker threads (the SDK's: 4); CLI default "
                   f"--parallel={pc['cli_default_parallel']}. Before the watcher and the host (the previous "
                   f"release, measured 2026-12-02): 6.63 x D at N=20, 12 Marathon calls per resource.")
        rows = [[v["n"], f"{v['up_s']:.2f}", f"{v['baseline_up_s']:.2f}", f"{v['ratio_to_D_after_engine_overhead']:.2f}",
                 f"{v['calls_per_resource']:.2f}", f"{v['deployment_polls']:.0f}"]
                for k, v in pc.items() if k.startswith("n_")]
        out.append(table(rows, ["N", "up s", "baseline up s", "(up-baseline)/D", "Marathon calls/res",
                                "/v2/deployments polls"]))
    seen = r.get("seen")
    if isinstance(seen, list):
        out.append(f"\n2b. When a wait sees its deployment end (PUT to return, over D; goal <= 1.10), medians of "
                   f"{p['reps']}:")
        out.append(table([[s["n"], f"{s['median_ratio']:.3f}", f"{s['max_ratio']:.3f}"] for s in seen],
                         ["waiters at once", "median / D", "max / D"]))
    dp = r.get("dataplane")
    if dp and "error" not in dp and "skipped" not in dp:
        out.append(f"\n4. Data plane: wrk -t2 -c16 -d{p['wrk_seconds']}s --latency over TLS through haproxy "
                   f"(kexpose trusted mode vs seeds' example 1), medians of {p['reps']}.")
        rows = []
        for scenario, row in dp.items():
            k, s = row["kexpose"], row["seeds"]
            rows.append([scenario, f"{k['rps']:.0f}", f"{s['rps']:.0f}", f"{row['ratio_rps']:.2f}",
                         f"{k['p50_ms']:.2f}/{k['p99_ms']:.2f}", f"{s['p50_ms']:.2f}/{s['p99_ms']:.2f}",
                         f"{row['ratio_p99']:.2f}"])
        out.append(table(rows, ["scenario", "kexpose req/s", "seeds req/s", "ratio", "kexpose p50/p99 ms",
                                "seeds p50/p99 ms", "p99 ratio"]))
    st = r.get("setup")
    if st and "error" not in st:
        out.append(f"\n5. Setup: warm make setup median {st['warm_median_s']:.2f}s "
                   f"(runs: {', '.join(f'{t:.2f}' for t in st['warm_runs_s'])}).")
        out.append(f"   cold (from docs/engine.md, not re-measured): {st['cold'].get('cold', 'n/a')}")
        out.append(f"   warm recorded in docs/engine.md: {st['cold'].get('warm', 'n/a')}")
    for name in BENCHMARKS:
        if isinstance(r.get(name), dict) and ("error" in r[name] or "skipped" in r[name]):
            out.append(f"\n{name}: {r[name].get('error') or r[name].get('skipped')}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and smaller N")
    parser.add_argument("--only", action="append", choices=BENCHMARKS, help="run only these (repeatable)")
    args = parser.parse_args(argv)
    p = plan(args.quick)
    load_before = os.getloadavg()  # other work on the machine skews absolute numbers (ratios less so)
    t0 = time.monotonic()
    results = run(args.only or list(BENCHMARKS), p)
    text = report(results, p) + f"\n\nload average before/after: {load_before[0]:.2f} / {os.getloadavg()[0]:.2f}"
    print(text)
    meta = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "quick": args.quick,
            "plan": p, "cpus": os.cpu_count(), "pulumi": pinned_versions().get("PULUMI_VERSION"),
            "total_seconds": time.monotonic() - t0, "loadavg_before": load_before, "loadavg_after": os.getloadavg()}
    # A partial run (--only) must not overwrite the full run's latest.json.
    path = RESULTS.with_name(f"only-{'-'.join(args.only)}.json") if args.only else RESULTS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": meta, "results": results, "table": text}, indent=2) + "\n")
    log(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path} "
        f"in {meta['total_seconds']:.0f}s")
    return 1 if any(isinstance(v, dict) and "error" in v for v in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
