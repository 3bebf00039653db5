"""Marathon's group tree (``/v2/groups``): the groups that app ids such as ``/kexpose/dev/x`` imply.

The simulator stores apps only; a group exists while an app lives under it (and ``/`` always),
as when groups are created implicitly by posting apps. A group's version is its newest app's
version; a group without apps keeps Marathon's initial root version (the epoch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kexpose_sim.marathon.exceptions import ValidationFailure

if TYPE_CHECKING:
    from kexpose_sim.marathon.backend import MarathonBackend

EPOCH = "1970-01-01T00:00:00.000Z"
#: What ``GET /v2/groups`` embeds when the request names nothing (Marathon's ``defaultEmbeds``).
DEFAULT_EMBEDS = frozenset({"group.apps", "group.groups", "group.pods"})
#: App embeds (``group.apps.<x>``) that turn a plain definition into AppInfo.
APP_INFO_EMBEDS = frozenset({"counts", "deployments", "tasks", "lastTaskFailure", "failures", "taskStats"})


def group_ids(app_ids: list[str]) -> set[str]:
    """Every group the app ids imply, ``/`` included."""
    out = {"/"}
    for app_id in app_ids:
        parts = app_id.strip("/").split("/")[:-1]
        out |= {"/" + "/".join(parts[:n]) for n in range(1, len(parts) + 1)}
    return out


def group_tree(backend: MarathonBackend, group_id: str, embeds: set[str]) -> dict[str, Any]:
    """The group as ``GET /v2/groups/<id>`` renders it, or 404 with Marathon's message."""
    if group_id not in group_ids(list(backend.apps)):
        raise ValidationFailure(404, f"Group '{group_id}' does not exist")
    return _render(backend, group_id, embeds or set(DEFAULT_EMBEDS))


def _render(backend: MarathonBackend, group_id: str, embeds: set[str]) -> dict[str, Any]:
    prefix = group_id.rstrip("/") + "/"
    under = sorted(a for a in backend.apps if a.startswith(prefix))
    own = [a for a in under if "/" not in a[len(prefix):]]
    children = sorted(g for g in group_ids(under)
                      if g != group_id and g.startswith(prefix) and "/" not in g[len(prefix):])
    versions = [backend.apps[a]["definition"]["version"] for a in under]
    group: dict[str, Any] = {"id": group_id, "dependencies": [], "version": max(versions, default=EPOCH),
                             "enforceRole": False}
    if "group.apps" in embeds:
        group["apps"] = [_app(backend, a, embeds) for a in own]
    if "group.groups" in embeds:
        group["groups"] = [_render(backend, g, embeds) for g in children]
    if "group.pods" in embeds:
        group["pods"] = []
    return group


def _app(backend: MarathonBackend, app_id: str, embeds: set[str]) -> dict[str, Any]:
    wanted = {e[len("group.apps."):] for e in embeds if e.startswith("group.apps.")}
    if not wanted & APP_INFO_EMBEDS:
        rec = backend.apps[app_id]
        return {**rec["definition"], "versionInfo": rec["versionInfo"]}
    return backend.app_info(app_id, embed_tasks=bool(wanted & {"tasks", "failures"}),
                            embed_failure=bool(wanted & {"lastTaskFailure", "failures"}),
                            embed_stats="taskStats" in wanted)
