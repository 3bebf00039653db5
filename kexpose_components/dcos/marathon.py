"""Marathon v2: the calls kexpose makes, deployment waits, and drift-aware comparison.

Comparison is the heart of a quiet ``pulumi preview``: Marathon returns many fields nobody sent
(``cpus: 1.0``, ``networks: [{"mode": "host"}]``, assigned service ports …). A live app *matches*
a desired definition when every field the user set has the same meaning live, and every field
the user did not set still has Marathon's default (or is a field only the server writes). So a
definition never diffs against its own read-back, while a label someone added by hand does.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

from kexpose_components.dcos.client import DcosApiError, DcosSession

#: Fields Marathon computes; never compared.
SERVER_FIELDS = frozenset({
    "version", "versionInfo", "tasks", "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy",
    "deployments", "lastTaskFailure", "taskStats", "readinessCheckResults", "role", "counts",
})
#: What a field reads back as when it was not sent (several accepted values where versions differ).
TOP_DEFAULTS: dict[str, tuple[Any, ...]] = {
    "instances": (1,), "cpus": (1.0,), "mem": (128.0,), "disk": (0.0,), "gpus": (0,), "executor": ("",),
    "backoffSeconds": (1,), "backoffFactor": (1.15,), "maxLaunchDelaySeconds": (300, 3600), "requirePorts": (False,),
    "labels": ({},), "killSelection": ("YOUNGEST_FIRST",), "networks": ([{"mode": "host"}],),
    "upgradeStrategy": ({"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0},),
    "unreachableStrategy": ({"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0},
                            {"inactiveAfterSeconds": 300, "expungeAfterSeconds": 600}),
    "portDefinitions": ([{"port": 0, "name": "default", "protocol": "tcp"}],),
}
#: Defaults inside nested objects, by path (``*`` is any list index).
NESTED_DEFAULTS: dict[str, tuple[Any, ...]] = {
    "container.type": ("DOCKER",), "container.volumes": ([],), "container.docker.forcePullImage": (False,),
    "container.docker.parameters": ([],), "container.docker.privileged": (False,),
    "portDefinitions.*.protocol": ("tcp",), "portDefinitions.*.labels": ({},),
    "networks.*.name": ("dcos",), "networks.*.labels": ({},),
    "healthChecks.*.gracePeriodSeconds": (300,), "healthChecks.*.intervalSeconds": (60,),
    "healthChecks.*.timeoutSeconds": (20,), "healthChecks.*.maxConsecutiveFailures": (3,),
    "healthChecks.*.delaySeconds": (15,), "healthChecks.*.ipProtocol": ("IPv4",), "healthChecks.*.protocol": ("HTTP",),
    "healthChecks.*.portIndex": (0,), "healthChecks.*.ignoreHttp1xx": (False,),
    "fetch.*.extract": (True,), "fetch.*.executable": (False,), "fetch.*.cache": (False,),
}
#: Values the server assigns when the definition says 0.
ASSIGNED_WHEN_ZERO = frozenset({"portDefinitions.*.port", "container.portMappings.*.servicePort",
                                "container.portMappings.*.hostPort"})


def _generic(path: str) -> str:
    return ".".join("*" if p.isdigit() else p for p in path.split("."))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _equal(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def values_match(desired: Any, live: Any, path: str = "") -> bool:
    """Whether ``live`` means what ``desired`` says, at ``path`` (dotted, list indices numeric)."""
    generic = _generic(path)
    if generic in ASSIGNED_WHEN_ZERO and desired == 0:
        return _is_number(live)
    if isinstance(desired, dict) and isinstance(live, dict):
        if generic == "labels" or generic.endswith(".labels") or generic == "env":
            return desired == live
        for key in set(desired) | set(live):
            sub = f"{path}.{key}" if path else key
            if key in desired and key in live:
                if not values_match(desired[key], live[key], sub):
                    return False
            elif key in desired:
                if not _is_default(sub, desired[key]):
                    return False
            elif not _is_default(sub, live[key]):
                return False
        return True
    if isinstance(desired, list) and isinstance(live, list):
        return len(desired) == len(live) and all(
            values_match(d, v, f"{path}.{i}" if path else str(i)) for i, (d, v) in enumerate(zip(desired, live))
        )
    return _equal(desired, live)


def _is_default(path: str, value: Any) -> bool:
    defaults = NESTED_DEFAULTS.get(_generic(path))
    if defaults is None:
        return value in (None, [], {}, "")
    return any(values_match(d, value, path) for d in defaults)


def changed_fields(desired: dict[str, Any], live: dict[str, Any]) -> list[str]:
    """Top-level fields where the live app differs from the desired definition."""
    changed = []
    for key in sorted(set(desired) | set(live)):
        if key in SERVER_FIELDS or key == "id":
            continue
        if key in desired and key in live:
            if not values_match(desired[key], live[key], key):
                changed.append(key)
        elif key in desired:
            if key not in TOP_DEFAULTS or not any(values_match(desired[key], d, key) for d in TOP_DEFAULTS[key]):
                changed.append(key)
        elif key in TOP_DEFAULTS:
            if not any(values_match(d, live[key], key) for d in TOP_DEFAULTS[key]):
                changed.append(key)
        elif live[key] not in (None, [], {}, ""):
            changed.append(key)  # a field nobody asked for was set (by hand, say)
    return changed


def project_live(desired: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """The live app in the shape of the desired definition: fields that match keep the user's
    spelling, drifted fields carry the live value. Used as the refreshed *inputs*, so the next
    preview shows exactly what drifted and nothing else."""
    drifted = set(changed_fields(desired, live))
    projected = {k: v for k, v in desired.items() if k not in drifted}
    projected.update({k: live[k] for k in drifted if k in live})
    projected["id"] = live.get("id", desired.get("id"))
    return {k: projected[k] for k in sorted(projected)}


def whole_numbers(value: Any) -> Any:
    """Integral floats back to ints (Pulumi carries all numbers as doubles; Marathon's integer
    fields such as ``instances`` and ports want JSON integers)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    return value


def live_definition(app: dict[str, Any]) -> dict[str, Any]:
    """A live app without the fields only the server writes."""
    return {k: v for k, v in app.items() if k not in SERVER_FIELDS}


class AppLocked(DcosApiError):
    """409: a running deployment touches the app."""

    @property
    def deployment_ids(self) -> list[str]:
        deployments = (self.details or {}).get("deployments", []) if isinstance(self.details, dict) else []
        return [d["id"] for d in deployments]


class DeploymentTimeout(Exception):
    """A deployment did not finish in time; the message names it and the app's last failure."""


@dataclass
class Poll:
    """Adaptive polling: quick first checks (fast clusters answer in milliseconds), then slower."""

    first: float = 0.05
    factor: float = 1.5
    ceiling: float = 2.0

    def delays(self):
        delay = self.first
        while True:
            yield delay
            delay = min(delay * self.factor, self.ceiling)


class MarathonClient:
    def __init__(self, session: DcosSession, poll: Poll | None = None):
        self.session = session
        self.base = session.connection.marathon_path.rstrip("/")
        self.poll = poll or Poll()

    def _path(self, path: str) -> str:
        return self.base + path

    # -- apps ---------------------------------------------------------------------------------------
    def get_app(self, app_id: str) -> dict[str, Any] | None:
        response = self.session.request("GET", self._path(f"/v2/apps{app_id}"), expect=(200, 404))
        return None if response.status_code == 404 else response.json()["app"]

    def put_app(self, definition: dict[str, Any], force: bool = False) -> str:
        """Create or replace (``partialUpdate=false``: declarative). Returns the deployment id."""
        params = {"partialUpdate": "false"}
        if force:
            params["force"] = "true"
        try:
            response = self.session.request("PUT", self._path(f"/v2/apps{definition['id']}"), expect=(200, 201),
                                            params=params, json=whole_numbers(definition))
        except DcosApiError as exc:
            if exc.status == 409:
                raise AppLocked(exc.method, exc.url, exc.status, exc.message, exc.details) from None
            raise
        return response.json()["deploymentId"]

    def delete_app(self, app_id: str) -> str | None:
        """Delete (Marathon's default ``force``: a running deployment of the app is cancelled).
        Returns the StopApplication deployment, or None when the app was already gone."""
        response = self.session.request("DELETE", self._path(f"/v2/apps{app_id}"), expect=(200, 404))
        return None if response.status_code == 404 else response.json()["deploymentId"]

    # -- deployments ----------------------------------------------------------------------------------
    def deployments(self) -> list[dict[str, Any]]:
        return self.session.request("GET", self._path("/v2/deployments")).json()

    def rollback(self, deployment_id: str) -> str | None:
        """Cancel a deployment, rolling its apps back. None if it had finished meanwhile."""
        response = self.session.request("DELETE", self._path(f"/v2/deployments/{deployment_id}"), expect=(200, 202, 404))
        return response.json()["deploymentId"] if response.status_code == 200 else None

    def wait_for_deployments(self, ids: list[str], app_id: str, timeout: float,
                             progress: Callable[[str], None] | None = None) -> None:
        """Return once none of ``ids`` is in ``/v2/deployments``; else DeploymentTimeout."""
        pending = set(ids)
        deadline = time.monotonic() + timeout
        reported = 0.0
        for delay in self.poll.delays():
            running = {d["id"]: d for d in self.deployments()}
            pending &= set(running)
            if not pending:
                return
            now = time.monotonic()
            if now >= deadline:
                raise DeploymentTimeout(self._timeout_message(app_id, sorted(pending), running, timeout))
            if progress and now - reported >= 5:
                d = running[next(iter(pending))]
                progress(f"waiting for deployment {d['id']} of {app_id}: step {d.get('currentStep')}/{d.get('totalSteps')}")
                reported = now
            time.sleep(min(delay, max(0.0, deadline - now)))

    def _timeout_message(self, app_id: str, ids: list[str], running: dict[str, dict], timeout: float) -> str:
        d = running[ids[0]]
        actions = ", ".join(f"{a.get('action')} {a.get('app')}" for a in d.get("currentActions", [])) or "no action"
        message = (f"Marathon deployment {ids[0]} of {app_id} did not finish within {timeout:g}s "
                   f"(step {d.get('currentStep')}/{d.get('totalSteps')}: {actions})")
        app = self.get_app(app_id) if app_id else None
        failure = (app or {}).get("lastTaskFailure")
        if failure:
            message += f"; last task failure on {failure.get('host')}: {failure.get('state')} {failure.get('message')}"
        elif app is not None:
            message += (f"; {app.get('tasksRunning', 0)}/{app.get('instances')} tasks running, "
                        f"{app.get('tasksStaged', 0)} staged (no agent may have the resources, ports or "
                        "roles the app asks for)")
        return message
