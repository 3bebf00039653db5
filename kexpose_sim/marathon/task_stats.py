"""``embed=apps.taskStats``: an app's task counts and lifetimes by version, as Marathon's
``TaskStatsByVersion`` reports them (a category with no tasks is left out)."""

from __future__ import annotations

import statistics
import time
from typing import Any

from kexpose_sim.marathon.scheduler import healthy


def _stats(tasks: list[dict[str, Any]], checked: bool, now: float) -> dict[str, Any]:
    running = [t for t in tasks if t["state"] == "TASK_RUNNING"]
    well = sum(1 for t in running if healthy(t)) if checked else 0
    stats: dict[str, Any] = {"counts": {"staged": sum(1 for t in tasks if t["state"] == "TASK_STAGING"),
                                        "running": len(running), "healthy": well,
                                        "unhealthy": len(running) - well if checked else 0}}
    lifetimes = [now - t["_startedAt"] for t in running if "_startedAt" in t]
    if lifetimes:
        stats["lifeTime"] = {"averageSeconds": statistics.fmean(lifetimes), "medianSeconds": statistics.median(lifetimes)}
    return {"stats": stats}


def task_stats(rec: dict[str, Any], tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """``startedAfterLastScaling``, ``withLatestConfig``, ``withOutdatedConfig``, ``totalSummary``."""
    info, now = rec["versionInfo"], time.time()
    checked = bool(rec["definition"].get("healthChecks"))
    groups = {
        "startedAfterLastScaling": [t for t in tasks if t["stagedAt"] >= info["lastScalingAt"]],
        "withLatestConfig": [t for t in tasks if t["_config"] == info["lastConfigChangeAt"]],
        "withOutdatedConfig": [t for t in tasks if t["_config"] != info["lastConfigChangeAt"]],
        "totalSummary": tasks,
    }
    return {name: _stats(group, checked, now) for name, group in groups.items() if group}
