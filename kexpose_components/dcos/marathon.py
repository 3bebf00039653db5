"""Marathon v2: the calls kexpose makes, deployment waits, and what Marathon fills in on
read-back (the table the drift-aware comparison in ``compare`` needs).

Definitions are sent as given: the resources normalise what the engine hands them (whole numbers
back to JSON integers, which Marathon's integer fields want) before they reach this client."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from kexpose_components.dcos.client import DcosApiError, DcosSession
from kexpose_components.dcos.compare import Defaults
from kexpose_components.dcos.deployment_watch import watcher
from kexpose_components.errors import KexposeError

#: Marathon's read-back behaviour, as the comparison needs it.
MARATHON_DEFAULTS = Defaults(
    server_fields=frozenset({
        "version", "versionInfo", "tasks", "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy",
        "deployments", "lastTaskFailure", "taskStats", "readinessCheckResults", "role", "counts", "id",
    }),
    top={
        "instances": (1,), "cpus": (1.0,), "mem": (128.0,), "disk": (0.0,), "gpus": (0,), "executor": ("",),
        "backoffSeconds": (1,), "backoffFactor": (1.15,), "maxLaunchDelaySeconds": (300, 3600),
        "requirePorts": (False,), "labels": ({},), "killSelection": ("YOUNGEST_FIRST",),
        "networks": ([{"mode": "host"}],),
        "upgradeStrategy": ({"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0},),
        "unreachableStrategy": ({"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0},
                                {"inactiveAfterSeconds": 300, "expungeAfterSeconds": 600}),
        "portDefinitions": ([{"port": 0, "name": "default", "protocol": "tcp"}],),
    },
    nested={
        "container.type": ("DOCKER",), "container.volumes": ([],), "container.docker.forcePullImage": (False,),
        "container.docker.parameters": ([],), "container.docker.privileged": (False,),
        "portDefinitions.*.protocol": ("tcp",), "portDefinitions.*.labels": ({},),
        "networks.*.name": ("dcos",), "networks.*.labels": ({},),
        "healthChecks.*.gracePeriodSeconds": (300,), "healthChecks.*.intervalSeconds": (60,),
        "healthChecks.*.timeoutSeconds": (20,), "healthChecks.*.maxConsecutiveFailures": (3,),
        "healthChecks.*.delaySeconds": (15,), "healthChecks.*.ipProtocol": ("IPv4",),
        "healthChecks.*.protocol": ("HTTP",), "healthChecks.*.portIndex": (0,), "healthChecks.*.ignoreHttp1xx": (False,),
        "fetch.*.extract": (True,), "fetch.*.executable": (False,), "fetch.*.cache": (False,),
    },
    assigned_when_zero=frozenset({"portDefinitions.*.port", "container.portMappings.*.servicePort",
                                  "container.portMappings.*.hostPort"}),
    exact=frozenset({"labels", "env", "portDefinitions.*.labels", "networks.*.labels"}),
)


def changed_fields(desired: dict[str, Any], live: dict[str, Any]) -> list[str]:
    """Top-level fields where a live app differs from the desired definition."""
    return MARATHON_DEFAULTS.changed_fields(desired, live)


def project_live(desired: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """The live app in the shape of the desired definition (see :meth:`Defaults.project_live`)."""
    return MARATHON_DEFAULTS.project_live(desired, live)


def live_definition(app: dict[str, Any]) -> dict[str, Any]:
    """A live app without the fields only the server writes."""
    return {k: v for k, v in app.items() if k not in MARATHON_DEFAULTS.server_fields or k == "id"}


class AppLocked(DcosApiError):
    """409: a running deployment touches the app."""

    @property
    def deployment_ids(self) -> list[str]:
        deployments = (self.details or {}).get("deployments", []) if isinstance(self.details, dict) else []
        return [d["id"] for d in deployments]


class DeploymentTimeout(KexposeError):
    """A deployment did not finish in time; the message names it and the app's last failure."""


class Unplaceable(DeploymentTimeout):
    """Marathon declines every offer for the app: waiting longer cannot help. The message says
    why, per agent, in Marathon's words (``InsufficientPorts``, ``UnfulfilledConstraint``, …)."""


def declined_reasons(item: dict[str, Any]) -> str | None:
    """For a ``/v2/queue`` item (with ``embed=lastUnusedOffers``): why no agent can take the app,
    or None while some offer could still be used (or none was seen yet)."""
    summary = item.get("processedOffersSummary") or {}
    processed, unused = summary.get("processedOffersCount", 0), summary.get("unusedOffersCount", 0)
    offers = item.get("lastUnusedOffers") or []
    if not processed or unused < processed or not offers:
        return None
    by_agent = {}
    for offer in offers:
        host = (offer.get("offer") or {}).get("hostname", "?")
        by_agent.setdefault(host, set()).update(offer.get("reason") or [])
    return "; ".join(f"{host}: {', '.join(sorted(reasons))}" for host, reasons in sorted(by_agent.items()))


@dataclass
class Poll:
    """Adaptive polling (Edge-LB's readiness and deletion): quick first checks (fast clusters
    answer in milliseconds), then slower. ``unplaceable_after``: how long every offer may be
    declined before a Marathon wait gives up (Marathon keeps retrying forever; a port someone else
    holds never frees itself); the queue is then read every ``ceiling`` seconds."""

    first: float = 0.05
    factor: float = 1.5
    ceiling: float = 2.0
    unplaceable_after: float = 15.0

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
                                            params=params, json=definition)
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
                             progress: Callable[[str], None] | None = None, budget: float | None = None) -> None:
        """Return once none of ``ids`` is in ``/v2/deployments``; else DeploymentTimeout, or
        Interrupted on Ctrl-C. ``budget`` is the user's whole timeout when ``timeout`` is what
        remains of it. The process's one :class:`DeploymentWatcher` does the watching."""
        watch = watcher(self.session, self.base)
        what = f"deployment {ids[0]} of {app_id}" if ids else f"deployments of {app_id}"
        started = time.monotonic()
        deadline, reported, queue_checked = started + timeout, started, started
        watch.subscribe(ids)
        try:
            while pending := watch.pending(ids):
                now = time.monotonic()
                if now >= deadline:
                    raise DeploymentTimeout(self._timeout_message(app_id, watch.running(pending[0]), budget or timeout))
                if app_id and now - started >= self.poll.unplaceable_after and now - queue_checked >= self.poll.ceiling:
                    self._fail_if_unplaceable(app_id, pending[0], now - started)
                    queue_checked = now
                if progress and now - reported >= 5:
                    d = watch.running(pending[0])
                    progress(f"waiting for deployment {d['id']} of {app_id}: step {d.get('currentStep')}/{d.get('totalSteps')}")
                    reported = now
                watch.wait(pending, min(1.0, deadline - now), what)
        finally:
            watch.unsubscribe(ids)

    def _fail_if_unplaceable(self, app_id: str, deployment: str, waited: float) -> None:
        queue = self.session.request("GET", self._path("/v2/queue"), params={"embed": "lastUnusedOffers"}).json()
        item = next((q for q in queue.get("queue", []) if (q.get("app") or {}).get("id") == app_id), None)
        reasons = declined_reasons(item) if item else None
        if reasons:
            raise Unplaceable(f"Marathon cannot place {app_id} (deployment {deployment}): every offer was declined "
                              f"for {waited:.0f}s — {reasons}")

    def _timeout_message(self, app_id: str, d: dict[str, Any], timeout: float) -> str:
        actions = ", ".join(f"{a.get('action')} {a.get('app')}" for a in d.get("currentActions", [])) or "no action"
        message = (f"Marathon deployment {d['id']} of {app_id} did not finish within {timeout:g}s "
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
