"""Marathon's deployment plans: which steps a change takes and how plans appear in the API and events."""

from __future__ import annotations

from typing import Any

from kexpose_sim.marathon import apps as appdefs

#: The plan for each kind of change (Marathon's DeploymentPlan; an identical app: no steps).
STEPS: dict[str | None, tuple[str, ...]] = {
    "create": ("StartApplication", "ScaleApplication"),
    "config": ("RestartApplication",),
    "scale": ("ScaleApplication",),
    None: (),
}


def change_kind(old: dict[str, Any] | None, new: dict[str, Any]) -> str | None:
    """What a new definition does to the app: create, config (restart), scale, or nothing."""
    if old is None:
        return "create"
    if appdefs.config_differs(old, new):
        return "config"
    if old["instances"] != new["instances"]:
        return "scale"
    return None


def light_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan in events (``plan-format=light``, the default since Marathon 1.8)."""
    return {"id": plan["id"], "steps": plan["steps"], "version": plan["version"]}


def public_deployment(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan as ``/v2/deployments`` shows it (internal ``_`` keys removed)."""
    return {k: v for k, v in plan.items() if not k.startswith("_")}
