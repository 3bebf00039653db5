"""Who manages an object in the cluster, and which object an exposure manages.

Every Marathon app and Edge-LB pool kexpose manages carries the project and stack that manage it
(``KEXPOSE_OWNER: <organization>/<project>/<stack>``: a label on apps, an environment variable on
pools, which have no labels). Two stacks must never fight over one object: the preflight refuses
one another stack owns, and refuses an existing object nobody owns unless the stack file says
``adopt: true`` (the adopting ``up`` then writes the label).
"""

from __future__ import annotations

from typing import Any

import pulumi

OWNER_LABEL = "KEXPOSE_OWNER"


def current_owner() -> str:
    return f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"


def app_id_of(exposure: Any) -> str:
    """The Marathon app an exposure manages: ``appId``, or ``/kexpose/<name>``."""
    return getattr(exposure, "app_id", None) or f"/kexpose/{exposure.name}"


def pool_name_of(exposure: Any) -> str:
    """The Edge-LB pool an exposure manages: ``poolName``, or ``kexpose-<name>``."""
    return exposure.pool_name or f"kexpose-{exposure.name}"


def owner_of_app(app: dict[str, Any]) -> str | None:
    return (app.get("labels") or {}).get(OWNER_LABEL)


def owner_of_pool(pool: dict[str, Any]) -> str | None:
    return (pool.get("environmentVariables") or {}).get(OWNER_LABEL)


def label_app(app: dict[str, Any], owner: str) -> dict[str, Any]:
    return {**app, "labels": {**(app.get("labels") or {}), OWNER_LABEL: owner}}


def label_pool(pool: dict[str, Any], owner: str) -> dict[str, Any]:
    return {**pool, "environmentVariables": {**(pool.get("environmentVariables") or {}), OWNER_LABEL: owner}}
