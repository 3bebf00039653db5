"""Benchmark 5: how long ``make setup`` takes when everything is already there (warm).

Cold figures are NOT re-measured (that would mean wiping the Go and engine caches, ~9 minutes and
3 GB of downloads); they are read from docs/engine.md, where they were recorded.
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

from bench.common import median, timed
from tests.support.engine import PROJECT_ROOT


def warm_setup(reps: int) -> dict[str, Any]:
    """Median wall seconds of ``bash scripts/setup.sh`` (what ``make setup`` runs), ``reps`` times."""
    times = []
    for _ in range(reps):
        seconds, proc = timed(lambda: subprocess.run(["bash", "scripts/setup.sh"], cwd=PROJECT_ROOT,
                                                     capture_output=True, text=True, timeout=900))
        if proc.returncode != 0:
            return {"error": f"setup failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}"}
        times.append(seconds)
    return {"warm_median_s": median(times), "warm_runs_s": times, "cold": cold_from_docs()}


def cold_from_docs() -> dict[str, str]:
    """The recorded rows of docs/engine.md's "Measured" table (cold and warm make setup)."""
    text = (PROJECT_ROOT / "docs" / "engine.md").read_text()
    rows = {}
    for line in text.splitlines():
        m = re.match(r"\|\s*(cold|warm) `make setup`[^|]*\|\s*([^|]+)\|\s*([^|]+)\|", line)
        if m:
            rows[m.group(1)] = f"{m.group(2).strip()} (disk: {m.group(3).strip()})"
    rows["source"] = "docs/engine.md (not re-measured: would wipe the caches)"
    return rows
