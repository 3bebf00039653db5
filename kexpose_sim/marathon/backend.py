"""Marathon's state: apps and their versions, tasks on agents, deployments and their progress.

Lifecycle as on real Marathon: a change is stored before the API answers (GET shows it with
``deployments: [{id}]`` at once), a deployment plan then runs in the background (``scheduler``)
until the app's tasks of the new version are running (and healthy, with health checks), and only
then leaves ``/v2/deployments``. Tasks are placed where Mesos offers would allow (``placement``).

An app record is ``{"definition", "versionInfo", "versions": {ts: definition}}`` plus the
scheduler's ``_failures``/``_nextLaunchAt`` (launch backoff). Tasks and plans carry ``_`` keys for
the scheduler; the API never shows them.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any, Callable

from kexpose_sim.clock import timestamp
from kexpose_sim.cluster import Agent
from kexpose_sim.marathon import apps as appdefs
from kexpose_sim.marathon.deployments import STEPS, change_kind, light_plan
from kexpose_sim.marathon.exceptions import ValidationFailure
from kexpose_sim.marathon.launch_queue import LaunchQueue
from kexpose_sim.marathon.schema import read_app
from kexpose_sim.marathon.scheduler import Scheduler, healthy, public_task
from kexpose_sim.marathon.task_stats import task_stats

#: A runtime decides whether a launched task really starts; it returns a failure message or
#: None. The data plane installs one that runs real processes (HAProxy) for some apps.
TaskRuntime = Callable[[dict, dict, Agent], "str | None"]
#: Called with (new state, task, app definition or None) on every task state change.
TaskListener = Callable[[str, dict, "dict | None"], None]

Record = dict[str, Any]
Steps = list[list[tuple[str, str]]]


class MarathonBackend:
    """Apps, tasks and deployment plans. Callers hold ``state.lock`` and ``save()`` after changes."""

    def __init__(self, state) -> None:
        self.state = state
        self.apps: dict[str, Record] = {}  # id -> record
        self.tasks: dict[str, dict[str, Any]] = {}  # task id -> task
        self.deployments: dict[str, dict[str, Any]] = {}  # plan id -> plan
        self.runtimes: list[tuple[Callable[[dict], bool], TaskRuntime]] = []
        self.task_listeners: list[TaskListener] = []
        self.scheduler = Scheduler(self)
        self.queue = LaunchQueue(self)

    # -- persistence ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"apps": self.apps, "tasks": self.tasks, "deployments": self.deployments}

    def load_dict(self, data: dict[str, Any]) -> None:
        self.apps = data["apps"]
        self.tasks = data["tasks"]
        self.deployments = data["deployments"]

    # -- reads ----------------------------------------------------------------------------------
    @property
    def role(self) -> str:
        """``--mesos_role`` on DC/OS: every app's role, and the one public agents offer."""
        return "slave_public"

    def record(self, app_id: str) -> Record:
        """The app's record, or 404."""
        rec = self.apps.get(app_id)
        if rec is None:
            raise ValidationFailure(404, f"App '{app_id}' does not exist")
        return rec

    def app_tasks(self, app_id: str) -> list[dict[str, Any]]:
        return [t for t in self.tasks.values() if t["appId"] == app_id]

    def app_deployments(self, app_id: str) -> list[str]:
        return [d["id"] for d in self.deployments.values() if app_id in d["affectedApps"]]

    def app_info(self, app_id: str, embed_tasks: bool = True, embed_failure: bool = True,
                 embed_stats: bool = False) -> dict[str, Any]:
        """AppInfo: the definition plus versionInfo, counts and deployments (always), tasks,
        lastTaskFailure and taskStats when embedded."""
        rec = self.apps[app_id]
        tasks = self.app_tasks(app_id)
        running = [t for t in tasks if t["state"] == "TASK_RUNNING"]
        checked = bool(rec["definition"].get("healthChecks"))
        well = [t for t in running if healthy(t)] if checked else []
        app = {**rec["definition"], "versionInfo": rec["versionInfo"],
               "tasksStaged": sum(1 for t in tasks if t["state"] == "TASK_STAGING"),
               "tasksRunning": len(running), "tasksHealthy": len(well),
               "tasksUnhealthy": len(running) - len(well) if checked else 0,
               "deployments": [{"id": d} for d in self.app_deployments(app_id)]}
        if embed_tasks:
            app["tasks"] = [public_task(t) for t in tasks]
        if embed_failure and rec.get("lastTaskFailure"):
            app["lastTaskFailure"] = rec["lastTaskFailure"]
        if embed_stats:
            app["taskStats"] = task_stats(rec, tasks)
        return app

    # -- validation -----------------------------------------------------------------------------
    def prepare(self, body: Any, app_id: str | None, partial: bool) -> dict[str, Any]:
        """Validate a client body (422 ``Invalid JSON``), normalise it, apply the semantic rules
        (422 ``Object is not valid``) and return the definition it asks for. ``app_id`` (from the
        URL) overrides the body's id; ``partial`` merges over the existing app."""
        raw = read_app(body, require_id=app_id is None)
        raw.pop("version", None)
        raw["id"] = appdefs.canonical_id(app_id if app_id is not None else raw["id"])
        existing = self.apps.get(raw["id"])
        if partial and existing is not None:
            raw = appdefs.merge_update(existing["definition"], raw)
        definition = appdefs.normalize(raw, self.role)
        appdefs.check_semantics(definition, self.state.config.marathon_features, self.role)
        return definition

    def lock_check(self, app_ids: list[str], force: bool) -> None:
        """409 while a deployment touches these apps, unless ``force`` (which cancels it)."""
        locking = [d for d in self.deployments.values() if set(d["affectedApps"]) & set(app_ids)]
        if not locking:
            return
        if not force:
            ids = [d["id"] for d in locking]
            raise ValidationFailure(
                409,
                "App is locked by one or more deployments. Override with the option '?force=true'. "
                f"View details at '/v2/deployments/{ids[0]}'.",
                extra={"deployments": [{"id": i} for i in ids]},
            )
        for d in locking:
            self.finish_deployment(d, success=False)

    # -- writes ---------------------------------------------------------------------------------
    def put_app(self, definition: dict[str, Any], force: bool = False) -> tuple[str, str, bool]:
        """Create or replace one app. Returns (deployment id, version, created)."""
        deployment_id, version, created = self.put_apps([definition], force)
        return deployment_id, version, created[0]

    def put_apps(self, definitions: list[dict[str, Any]], force: bool = False) -> tuple[str, str, list[bool]]:
        """Create or replace apps in one plan (first every new app's StartApplication, then the
        scale and restart actions). Returns (deployment id, version, created per app)."""
        self.lock_check([d["id"] for d in definitions], force)
        version = timestamp()
        previous: dict[str, Record | None] = {}
        starts: list[tuple[str, str]] = []
        rest: list[tuple[str, str]] = []
        for definition in definitions:
            previous.setdefault(definition["id"], copy.deepcopy(self.apps.get(definition["id"])))
            actions = STEPS[self._apply(definition, version)]
            starts += [(a, definition["id"]) for a in actions if a == "StartApplication"]
            rest += [(a, definition["id"]) for a in actions if a != "StartApplication"]
        changed = sorted({app_id for _, app_id in starts + rest})
        plan = self._start_deployment(changed, [step for step in (starts, rest) if step], version,
                                      {a: previous[a] for a in changed})
        return plan["id"], version, [previous[d["id"]] is None for d in definitions]

    def _apply(self, definition: dict[str, Any], version: str) -> str | None:
        """Store a new definition and return the kind of change it is.

        versionInfo as in Marathon: a new app or a config change sets version, lastScalingAt and
        lastConfigChangeAt; an ``instances``-only change sets version and lastScalingAt; an
        identical definition keeps all three (its plan has no steps)."""
        app_id = definition["id"]
        rec = self.apps.get(app_id)
        old = None if rec is None else rec["definition"]
        self._assign_service_ports(definition, old)
        change = change_kind(old, definition)
        if rec is None:
            rec = self.apps[app_id] = {"versions": {}}
        if change in ("create", "config"):
            rec["versionInfo"] = {"lastScalingAt": version, "lastConfigChangeAt": version}
            _reset_backoff(rec)
        elif change == "scale":
            rec["versionInfo"] = {**rec["versionInfo"], "lastScalingAt": version}
        definition["version"] = rec["versionInfo"]["lastScalingAt"]
        self._store(rec, definition)
        self.state.events.publish("api_post_event", {"clientIp": "127.0.0.1", "uri": f"/v2/apps{app_id}",
                                                      "appDefinition": definition})
        self.state.events.publish("group_change_success", {"groupId": "/", "version": version})
        return change

    def rollback_app(self, app_id: str, version: str, force: bool) -> tuple[str, str]:
        """PUT ``{"version": ts}``: the app goes back to a stored version (a config change)."""
        target = self.record(app_id)["versions"].get(version)
        if target is None:
            raise ValidationFailure(404, f"App '{app_id}' does not exist in version {version}")
        deployment_id, new_version, _ = self.put_app(copy.deepcopy(target), force)
        return deployment_id, new_version

    def delete_app(self, app_id: str, force: bool = True) -> tuple[str, str]:
        """The app leaves GET at once; a StopApplication plan kills its tasks."""
        rec = self.record(app_id)
        self.lock_check([app_id], force)
        del self.apps[app_id]
        version = timestamp()
        plan = self._start_deployment([app_id], [[("StopApplication", app_id)]], version, {app_id: rec})
        return plan["id"], version

    def restart_app(self, app_id: str, force: bool) -> tuple[str, str]:
        """Same definition, new version and lastConfigChangeAt: every task is replaced."""
        rec = self.record(app_id)
        self.lock_check([app_id], force)
        previous = {app_id: copy.deepcopy(rec)}
        version = timestamp()
        rec["versionInfo"] = {"lastScalingAt": version, "lastConfigChangeAt": version}
        _reset_backoff(rec)
        self._store(rec, {**rec["definition"], "version": version})
        plan = self._start_deployment([app_id], [[("RestartApplication", app_id)]], version, previous)
        return plan["id"], version

    def kill_tasks(self, app_id: str | None, task_ids: list[str], scale: bool,
                   force: bool = False) -> dict[str, Any] | list[dict]:
        """DELETE tasks: killed ones are relaunched by the runner, unless ``scale`` lowers the
        apps' ``instances`` by the number killed (then the answer is a DeploymentResult)."""
        chosen = [t for tid in task_ids if (t := self.tasks.get(tid)) is not None
                  and (app_id is None or t["appId"] == app_id)]
        owners = sorted(a for a in {t["appId"] for t in chosen} | ({app_id} if app_id else set()) if a in self.apps)
        if scale:
            self.lock_check(owners, force)
        for task in chosen:
            self.scheduler.kill(task)
        if not scale:
            return [public_task(t) for t in chosen]
        definitions = []
        for owner in owners:
            definition = self.apps[owner]["definition"]
            killed = sum(1 for t in chosen if t["appId"] == owner)
            definitions.append({**definition, "instances": max(0, definition["instances"] - killed)})
        deployment_id, version, _ = self.put_apps(definitions, force=True)
        return {"deploymentId": deployment_id, "version": version}

    def cancel_deployment(self, deployment_id: str, force: bool) -> dict[str, Any] | None:
        """Cancel a running plan. ``force``: just stop it (None). Otherwise roll back: a new plan
        takes the apps back to their state before the cancelled one (definition and versionInfo,
        so tasks still running the old version count as done)."""
        plan = self.deployments.get(deployment_id)
        if plan is None:
            raise ValidationFailure(404, f"DeploymentPlan {deployment_id} does not exist")
        self.finish_deployment(plan, success=False)
        if force:
            return None
        version = timestamp()
        steps: Steps = []
        previous: dict[str, Record | None] = {}
        for app_id, before in plan["_previous"].items():
            current = self.apps.get(app_id)
            previous[app_id] = copy.deepcopy(current)
            if before is None:
                if current is not None:
                    del self.apps[app_id]
                    steps.append([("StopApplication", app_id)])
                continue
            before["versions"] = {**before["versions"], **(current or {}).get("versions", {})}
            self.apps[app_id] = before
            steps.append([("RestartApplication" if current else "ScaleApplication", app_id)])
        rollback = self._start_deployment(list(plan["affectedApps"]), steps, version, previous)
        return {"deploymentId": rollback["id"], "version": version}

    # -- internal apps (Edge-LB pool schedulers) --------------------------------------------------
    def put_internal_app(self, definition: dict[str, Any]) -> str:
        """Create/replace an app on behalf of another DC/OS service (Cosmos installing a
        package): validated like a full API definition, but forced. Returns the deployment id."""
        deployment_id, _, _ = self.put_app(self.prepare(definition, None, partial=False), force=True)
        return deployment_id

    def remove_internal_app(self, app_id: str) -> None:
        app_id = appdefs.canonical_id(app_id)
        if app_id in self.apps:
            self.delete_app(app_id, force=True)

    # -- records --------------------------------------------------------------------------------
    def _store(self, rec: Record, definition: dict[str, Any]) -> None:
        rec["definition"] = definition
        rec["versions"][definition["version"]] = definition

    def _assign_service_ports(self, definition: dict[str, Any], old: dict[str, Any] | None) -> None:
        """Replace service port 0 with free ports from 10000-20000; an app re-sending 0 gets its
        earlier ports back (Marathon's AssignDynamicServiceLogic)."""
        slots = appdefs.service_port_slots(definition)
        reuse = iter([item[key] for item, key in appdefs.service_port_slots(old)] if old else [])
        taken = {item[key] for app_id, rec in self.apps.items() if app_id != definition["id"]
                 for item, key in appdefs.service_port_slots(rec["definition"])}
        taken |= {item[key] for item, key in slots}
        free = (p for p in range(*appdefs.SERVICE_PORT_RANGE) if p not in taken)
        for item, key in slots:
            if item[key] == 0:
                port = next(reuse, 0) or next(free, 0)
                if not port:
                    raise ValidationFailure(422, "All ports in the range {}-{} are already in use".format(
                        *appdefs.SERVICE_PORT_RANGE))
                item[key] = port
                taken.add(port)

    # -- deployments ----------------------------------------------------------------------------
    def _start_deployment(self, app_ids: list[str], steps: Steps, version: str,
                          previous: dict[str, Record | None]) -> dict[str, Any]:
        plan = {
            "id": str(uuid.uuid4()),
            "version": version,
            "affectedApps": app_ids,
            "affectedPods": [],
            "steps": [{"actions": [{"action": a, "app": app} for a, app in step]} for step in steps],
            "currentActions": [],
            "currentStep": 0,
            "totalSteps": len(steps),
            "_hung": self.state.faults.hang_deployments(),
            "_previous": previous,
        }
        if not steps:  # nothing to do: Marathon's zero-step plan finishes at once
            self.state.events.publish("deployment_success", {"id": plan["id"], "plan": light_plan(plan)})
            return plan
        self.deployments[plan["id"]] = plan
        self.advance_step(plan)
        return plan

    def advance_step(self, plan: dict[str, Any]) -> None:
        plan["currentStep"] += 1
        step = plan["steps"][plan["currentStep"] - 1]
        plan["currentActions"] = [{**a, "readinessCheckResults": []} for a in step["actions"]]
        self.state.events.publish("deployment_info", {"plan": light_plan(plan), "currentStep": step})

    def finish_deployment(self, plan: dict[str, Any], success: bool) -> None:
        self.deployments.pop(plan["id"], None)
        self.state.events.publish("deployment_success" if success else "deployment_failed",
                                  {"id": plan["id"], "plan": light_plan(plan)})

    # -- the scheduler --------------------------------------------------------------------------
    def tick(self, now: float) -> bool:
        """Advance tasks and plans; True if anything changed (the caller persists)."""
        return self.scheduler.tick(now)

    def fail_task(self, task_id: str, message: str) -> None:
        """A task's process died (the data plane reports it): see ``Scheduler.fail_task``."""
        self.scheduler.fail_task(task_id, message)


def _reset_backoff(rec: Record) -> None:
    """A new config starts without launch delay (Marathon resets the delay on app updates)."""
    rec.pop("_failures", None)
    rec.pop("_nextLaunchAt", None)
