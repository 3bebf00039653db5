"""Marathon's state: apps and their versions, tasks on agents, deployments and their progress.

Lifecycle as on real Marathon: a change is stored before the API answers (GET shows it with
``deployments: [{id}]`` at once), a deployment plan then runs in the background until the app's
tasks of the new version are running (and healthy, with health checks), and only then leaves
``/v2/deployments``. Tasks are placed on agents the way Mesos offers would allow: roles,
constraints, cpu/mem and host ports. An app that cannot be placed (say, port 6443 already taken on
the only public agent) never finishes deploying — the same deadlock users hit on real clusters.

An app record is ``{"definition", "versionInfo", "versions": {ts: definition}}`` plus the
runner's ``_failures``/``_nextLaunchAt`` (launch backoff). Tasks and plans carry ``_`` keys for
the runner; the API never shows them.
"""

from __future__ import annotations

import copy
import logging
import math
import re
import time
import uuid
from typing import Any, Callable

from kexpose_sim.clock import timestamp
from kexpose_sim.cluster import Agent, Cluster
from kexpose_sim.marathon import apps as appdefs
from kexpose_sim.marathon.apps import ValidationFailure

log = logging.getLogger("kexpose_sim.marathon")

#: A runtime decides whether a launched task really starts; it returns a failure message or
#: None. The data plane installs one that runs real processes (HAProxy) for some apps.
TaskRuntime = Callable[[dict, dict, Agent], "str | None"]
#: Called with (new state, task, app definition or None) on every task state change.
TaskListener = Callable[[str, dict, "dict | None"], None]

Record = dict[str, Any]
Steps = list[list[tuple[str, str]]]


def _safe_id(app_id: str) -> str:
    return app_id.strip("/").replace("/", "_")


class MarathonBackend:
    def __init__(self, state) -> None:
        self.state = state
        self.apps: dict[str, Record] = {}  # id -> record
        self.tasks: dict[str, dict[str, Any]] = {}  # task id -> task
        self.deployments: dict[str, dict[str, Any]] = {}  # plan id -> plan
        self.runtimes: list[tuple[Callable[[dict], bool], TaskRuntime]] = []
        self.task_listeners: list[TaskListener] = []

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

    def app_info(self, app_id: str, embed_tasks: bool = True, embed_failure: bool = True) -> dict[str, Any]:
        """AppInfo: the definition plus versionInfo, counts and deployments (always), tasks and
        lastTaskFailure when embedded."""
        rec = self.apps[app_id]
        tasks = self.app_tasks(app_id)
        running = [t for t in tasks if t["state"] == "TASK_RUNNING"]
        checked = bool(rec["definition"].get("healthChecks"))
        healthy = [t for t in running if _healthy(t)] if checked else []
        app = {**rec["definition"], "versionInfo": rec["versionInfo"],
               "tasksStaged": sum(1 for t in tasks if t["state"] == "TASK_STAGING"),
               "tasksRunning": len(running), "tasksHealthy": len(healthy),
               "tasksUnhealthy": len(running) - len(healthy) if checked else 0,
               "deployments": [{"id": d} for d in self.app_deployments(app_id)]}
        if embed_tasks:
            app["tasks"] = [public_task(t) for t in tasks]
        if embed_failure and rec.get("lastTaskFailure"):
            app["lastTaskFailure"] = rec["lastTaskFailure"]
        return app

    # -- validation -----------------------------------------------------------------------------
    def prepare(self, body: Any, app_id: str | None, partial: bool) -> dict[str, Any]:
        """Validate a client body (422 ``Invalid JSON``), normalise it, apply the semantic rules
        (422 ``Object is not valid``) and return the definition it asks for. ``app_id`` (from the
        URL) overrides the body's id; ``partial`` merges over the existing app."""
        raw = appdefs.read_app(body, require_id=app_id is None)
        raw.pop("version", None)
        raw["id"] = appdefs.canonical_id(app_id if app_id is not None else raw["id"])
        existing = self.apps.get(raw["id"])
        if partial and existing is not None:
            raw = merge_update(existing["definition"], raw)
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
            self._finish_deployment(d, success=False)

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
            actions = _STEPS[self._apply(definition, version)]
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
        change = _change(old, definition)
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
            self._kill(task)
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
        self._finish_deployment(plan, success=False)
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
        self._advance_step(plan)
        return plan

    def _advance_step(self, plan: dict[str, Any]) -> None:
        plan["currentStep"] += 1
        step = plan["steps"][plan["currentStep"] - 1]
        plan["currentActions"] = [{**a, "readinessCheckResults": []} for a in step["actions"]]
        self.state.events.publish("deployment_info", {"plan": light_plan(plan), "currentStep": step})

    def _finish_deployment(self, plan: dict[str, Any], success: bool) -> None:
        self.deployments.pop(plan["id"], None)
        self.state.events.publish("deployment_success" if success else "deployment_failed",
                                  {"id": plan["id"], "plan": light_plan(plan)})

    # -- the runner -----------------------------------------------------------------------------
    def tick(self, now: float) -> bool:
        """Advance tasks and plans; True if anything changed (the caller persists)."""
        changed = self._progress_tasks(now)
        for plan in list(self.deployments.values()):
            changed = self._progress_plan(plan, now) or changed
        deploying = {a for d in self.deployments.values() for a in d["affectedApps"]}
        for app_id, rec in list(self.apps.items()):
            if app_id not in deploying:
                changed = self._maintain(rec, now) or changed
        return changed

    def _maintain(self, rec: Record, now: float) -> bool:
        """Outside deployments Marathon still keeps ``instances`` tasks: it relaunches failed or
        killed ones (after the backoff)."""
        app = rec["definition"]
        live = [t for t in self.app_tasks(app["id"]) if t["state"] != "TASK_KILLING"]
        if len(live) >= app["instances"] or now < rec.get("_nextLaunchAt", 0):
            return False
        launched = False
        for _ in range(app["instances"] - len(live)):
            if self._launch(rec, None) is None:
                break
            launched = True
        return launched

    def _progress_tasks(self, now: float) -> bool:
        timing = self.state.config.timing
        changed = False
        for task in list(self.tasks.values()):
            if task["state"] == "TASK_KILLING" and now >= task["_killAt"]:
                self._set_state(task, "TASK_KILLED")
                self.state.cluster.release(task["id"])
                del self.tasks[task["id"]]
            elif task["_hung"] and task["_plan"] not in self.deployments:
                task["_hung"] = False  # the stuck deployment was replaced: the launch proceeds
                task["_stagedAt"] = now
            elif (task["state"] == "TASK_STAGING" and not task["_hung"]
                  and now >= task["_stagedAt"] + task["_launchSeconds"]):
                self._run_or_fail(task, now)
            elif (task["state"] == "TASK_RUNNING" and task["_checks"] and "healthCheckResults" not in task
                  and now >= task["_startedAt"] + timing.health_grace):
                self._report_healthy(task)
            else:
                continue
            changed = True
        return changed

    def _report_healthy(self, task: dict[str, Any]) -> None:
        ts = timestamp()
        task["healthCheckResults"] = [{"alive": True, "consecutiveFailures": 0, "firstSuccess": ts, "lastSuccess": ts,
                                       "lastFailure": None, "instanceId": task["_instanceId"]}]
        self.state.events.publish("health_status_changed_event", {
            "appId": task["appId"], "instanceId": task["_instanceId"], "version": task["version"], "alive": True})

    def _run_or_fail(self, task: dict[str, Any], now: float) -> None:
        rec = self.apps.get(task["appId"])
        failure = None if rec is None else self._start_failure(task, rec["definition"])
        if failure is not None:
            self.fail_task(task["id"], failure)
            return
        task["_startedAt"] = now
        task["startedAt"] = timestamp(now)
        self._set_state(task, "TASK_RUNNING")

    def fail_task(self, task_id: str, message: str) -> None:
        """A task died (it failed to start, or its process exited): TASK_FAILED, its ports are
        freed, the app records ``lastTaskFailure`` and relaunches only after the backoff.
        Unknown or already finished tasks are ignored."""
        task = self.tasks.get(task_id)
        if task is None or task["state"] == "TASK_KILLING":
            return
        self._set_state(task, "TASK_FAILED", message)
        self.state.cluster.release(task_id)
        del self.tasks[task_id]
        rec = self.apps.get(task["appId"])
        if rec is None:
            return
        rec["lastTaskFailure"] = {"appId": task["appId"], "host": task["host"], "message": message,
                                  "state": "TASK_FAILED", "taskId": task_id, "timestamp": timestamp(),
                                  "version": task["version"], "slaveId": task["slaveId"]}
        rec["_failures"] = rec.get("_failures", 0) + 1
        rec["_nextLaunchAt"] = time.time() + _backoff_delay(rec["definition"], rec["_failures"])

    def _start_failure(self, task: dict[str, Any], app: dict[str, Any]) -> str | None:
        """Why the task fails to start: declared by the definition, or by an installed runtime.
        A runtime that raises fails the task (as a broken executor would) instead of stopping
        the runner for every app."""
        failure = _declared_failure(app)
        if failure is not None:
            return failure
        agent = self.state.cluster.agent(task["slaveId"])
        for matches, runtime in self.runtimes:
            if matches(app):
                try:
                    return runtime(task, app, agent)
                except Exception as exc:
                    log.exception("task runtime failed for %s", task["id"])
                    return f"Task launch failed: {exc}"
        return None

    def _progress_plan(self, plan: dict[str, Any], now: float) -> bool:
        actions = plan["currentActions"]
        done = all([self._act(a["action"], a["app"], plan, now) for a in actions])
        if not done:
            return False
        self.state.events.publish("deployment_step_success", {
            "plan": light_plan(plan), "currentStep": plan["steps"][plan["currentStep"] - 1]})
        if plan["currentStep"] < plan["totalSteps"]:
            self._advance_step(plan)
        else:
            self._finish_deployment(plan, success=True)
        return True

    def _act(self, action: str, app_id: str, plan: dict[str, Any], now: float) -> bool:
        """Drive one action a step further; True once it is complete."""
        if action == "StartApplication":
            return True
        if action == "StopApplication":
            alive = self.app_tasks(app_id)
            for t in alive:
                self._kill(t)
            if not alive:
                self.state.events.publish("app_terminated_event", {"appId": app_id})
            return not alive
        rec = self.apps.get(app_id)
        return rec is None or self._converge(rec, plan, now)

    def _converge(self, rec: Record, plan: dict[str, Any], now: float) -> bool:
        """Scale/restart towards ``instances`` tasks of the current config, honouring the
        upgrade strategy (how many old tasks must stay up, how many extra may run)."""
        app = rec["definition"]
        config = rec["versionInfo"]["lastConfigChangeAt"]
        tasks = [t for t in self.app_tasks(app["id"]) if t["state"] != "TASK_KILLING"]
        new = [t for t in tasks if t["_config"] == config]
        old = [t for t in tasks if t["_config"] != config]
        n = app["instances"]
        for t in _kill_order(new, app["killSelection"])[: max(0, len(new) - n)]:
            self._kill(t)
            new.remove(t)
        ready = [t for t in new if _ready(t)]
        strategy = app["upgradeStrategy"]
        keep_old = max(0, math.ceil(n * strategy["minimumHealthCapacity"]) - len(ready))
        for t in _kill_order(old, app["killSelection"])[: max(0, len(old) - keep_old)]:
            self._kill(t)
            old.remove(t)
        max_total = n + math.floor(n * strategy["maximumOverCapacity"])
        if now >= rec.get("_nextLaunchAt", 0):
            while len(new) < n and len(new) + len(old) < max_total:
                task = self._launch(rec, plan)
                if task is None:
                    break
                new.append(task)
        outdated = [t for t in self.app_tasks(app["id"]) if t["_config"] != config]
        return len(new) == n and all(_ready(t) for t in new) and not outdated

    def _launch(self, rec: Record, plan: dict[str, Any] | None) -> dict[str, Any] | None:
        """Stage one task where an offer fits, or None when no agent can take it."""
        app = rec["definition"]
        placement = self._place(app)
        if placement is None:
            return None
        agent, host_ports = placement
        task_id = f"{_safe_id(app['id'])}.instance-{uuid.uuid4()}._app.1"
        now = time.time()
        task = {
            "id": task_id, "appId": app["id"], "host": agent.hostname, "slaveId": agent.id,
            "state": "TASK_STAGING", "stagedAt": timestamp(now), "version": app["version"],
            "ports": host_ports, "servicePorts": [item[key] for item, key in appdefs.service_port_slots(app)],
            "ipAddresses": [{"ipAddress": agent.address, "protocol": "IPv4"}], "role": agent.role,
            "_stagedAt": now, "_config": rec["versionInfo"]["lastConfigChangeAt"],
            "_instanceId": task_id.rsplit("._app", 1)[0], "_checks": bool(app.get("healthChecks")),
            "_launchSeconds": _launch_seconds(app, self.state.config.timing.task_launch),
            "_hung": bool(plan and plan["_hung"]), "_plan": plan["id"] if plan else None,
        }
        self.state.cluster.reserve(agent.id, host_ports, task_id)
        self.tasks[task_id] = task
        self._emit_status(task)
        return task

    def _place(self, app: dict[str, Any]) -> tuple[Agent, list[int]] | None:
        """The first agent whose offer fits the app: role, constraints, resources, host ports.
        Without acceptedResourceRoles only unreserved (``*``) resources are used, so the app
        never lands on a public agent (DC/OS: ACCEPTED_RESOURCE_ROLES_DEFAULT_BEHAVIOR=unreserved)."""
        cluster = self.state.cluster
        roles = app.get("acceptedResourceRoles") or ["*"]
        peers = self.app_tasks(app["id"])
        for agent in cluster.agents:
            if agent.role not in roles:
                continue
            if not all(_constraint_allows(c, agent, peers, cluster) for c in app.get("constraints", [])):
                continue
            if not self._resources_fit(app, agent):
                continue
            ports = _host_ports(app, agent, cluster)
            if ports is not None:
                return agent, ports
        return None

    def _resources_fit(self, app: dict[str, Any], agent: Agent) -> bool:
        used = [self.apps[t["appId"]]["definition"] for t in self.tasks.values()
                if t["slaveId"] == agent.id and t["appId"] in self.apps]
        cpus = sum(a["cpus"] for a in used) + app["cpus"]
        mem = sum(a["mem"] for a in used) + app["mem"]
        return cpus <= agent.cpus + 1e-9 and mem <= agent.mem + 1e-9

    def _kill(self, task: dict[str, Any]) -> None:
        if task["state"] == "TASK_KILLING":
            return
        task["state"] = "TASK_KILLING"
        task["_killAt"] = time.time() + self.state.config.timing.task_kill
        for listener in self.task_listeners:
            listener("TASK_KILLING", task, None)

    def _set_state(self, task: dict[str, Any], state: str, message: str | None = None) -> None:
        task["state"] = state
        self._emit_status(task, message)
        for listener in self.task_listeners:
            listener(state, task, self.apps.get(task["appId"], {}).get("definition"))

    def _emit_status(self, task: dict[str, Any], message: str | None = None) -> None:
        events = self.state.events
        events.publish("status_update_event", {
            "slaveId": task["slaveId"], "taskId": task["id"], "taskStatus": task["state"], "message": message or "",
            "appId": task["appId"], "host": task["host"], "ipAddresses": task["ipAddresses"],
            "ports": task["ports"], "version": task["version"]})
        condition = {"TASK_STAGING": "Staging", "TASK_RUNNING": "Running", "TASK_FAILED": "Failed",
                     "TASK_KILLED": "Killed"}.get(task["state"], "Unknown")
        events.publish("instance_changed_event", {"instanceId": task["_instanceId"], "condition": condition,
                                                  "runSpecId": task["appId"], "agentId": task["slaveId"],
                                                  "host": task["host"], "runSpecVersion": task["version"]})


def merge_update(existing: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """A partial update (Marathon's AppUpdate): given top-level fields replace the stored ones,
    omitted fields keep their values. Deprecated inputs replace what they translate to, and a
    networking change drops port definitions meant for the old networking."""
    merged = {k: v for k, v in existing.items() if k not in appdefs.RUNTIME_FIELDS}
    if "ports" in update:
        merged.pop("portDefinitions", None)
    if "uris" in update:
        merged.pop("fetch", None)
    if "networks" in update and "portDefinitions" not in update:
        merged.pop("portDefinitions", None)
    merged.update(update)
    return merged


#: The plan for each kind of change (Marathon's DeploymentPlan; an identical app: no steps).
_STEPS: dict[str | None, tuple[str, ...]] = {
    "create": ("StartApplication", "ScaleApplication"),
    "config": ("RestartApplication",),
    "scale": ("ScaleApplication",),
    None: (),
}


def _change(old: dict[str, Any] | None, new: dict[str, Any]) -> str | None:
    """What a new definition does to the app: create, config (restart), scale, or nothing."""
    if old is None:
        return "create"
    if appdefs.config_differs(old, new):
        return "config"
    if old["instances"] != new["instances"]:
        return "scale"
    return None


def _reset_backoff(rec: Record) -> None:
    """A new config starts without launch delay (Marathon resets the delay on app updates)."""
    rec.pop("_failures", None)
    rec.pop("_nextLaunchAt", None)


def _backoff_delay(app: dict[str, Any], failures: int) -> float:
    """``backoffSeconds * backoffFactor^(failures-1)``, at most ``maxLaunchDelaySeconds`` (also
    when the power overflows, as it does for an app that has crash-looped for long enough)."""
    try:
        delay = app["backoffSeconds"] * app["backoffFactor"] ** (failures - 1)
    except OverflowError:
        return app["maxLaunchDelaySeconds"]
    return min(delay, app["maxLaunchDelaySeconds"])


def _kill_order(tasks: list[dict[str, Any]], selection: str) -> list[dict[str, Any]]:
    return sorted(tasks, key=lambda t: t["_stagedAt"], reverse=selection == "YOUNGEST_FIRST")


def _healthy(task: dict[str, Any]) -> bool:
    return any(r.get("alive") for r in task.get("healthCheckResults", []))


def _ready(task: dict[str, Any]) -> bool:
    return task["state"] == "TASK_RUNNING" and (not task["_checks"] or _healthy(task))


def _declared_failure(app: dict[str, Any]) -> str | None:
    """Failure injection by definition: label SIM_FAIL=true or an image tagged ``:fail``."""
    image = app.get("container", {}).get("docker", {}).get("image", "")
    if app["labels"].get("SIM_FAIL") == "true" or ":fail" in image:
        return "Command exited with status 1 (simulated failure)"
    return None


def _launch_seconds(app: dict[str, Any], default: float) -> float:
    """Staging time: the simulator's default, or the app's label ``SIM_SLOW=<seconds>``."""
    try:
        return max(0.0, float(app["labels"]["SIM_SLOW"]))
    except (KeyError, ValueError):
        return default


def _host_ports(app: dict[str, Any], agent: Agent, cluster: Cluster) -> list[int] | None:
    """The host ports a task of ``app`` gets on ``agent`` (None if they are not all free):
    host networking reserves one per port definition (the definitions' own ports with
    requirePorts), bridge mappings their hostPort (0 = dynamic)."""
    if "portDefinitions" in app:
        wanted = [pd["port"] if app["requirePorts"] else 0 for pd in app["portDefinitions"]]
    else:
        wanted = [pm["hostPort"] for pm in app.get("container", {}).get("portMappings", []) if "hostPort" in pm]
    fixed = [p for p in wanted if p]
    used = cluster.ports_in_use(agent.id)
    if any(p in used or not agent.offers_port(p) for p in fixed):
        return None
    dynamic = cluster.free_ports(agent, len(wanted) - len(fixed))
    if dynamic is None:
        return None
    it = iter(dynamic)
    return [p if p else next(it) for p in wanted]


def _constraint_allows(c: list[str], agent: Agent, peers: list[dict[str, Any]], cluster: Cluster) -> bool:
    """Whether ``agent`` satisfies one constraint, given the app's other tasks ``peers``."""
    field, op = c[0], c[1]
    value = c[2] if len(c) > 2 else None

    def attr(a: Agent) -> str | None:
        return a.hostname if field in ("hostname", "@hostname") else a.attributes.get(field)

    mine = attr(agent)
    placed = [attr(cluster.agent(t["slaveId"])) for t in peers]
    if op == "UNLIKE":
        return mine is None or re.fullmatch(value, mine) is None
    if mine is None:
        return False
    if op == "UNIQUE":
        return mine not in placed
    if op == "CLUSTER":
        return mine == value if value else (not placed or mine == placed[0])
    if op == "IS":
        return mine == value
    if op == "LIKE":
        return re.fullmatch(value, mine) is not None
    if op == "MAX_PER":
        return placed.count(mine) < int(value)
    return True  # GROUP_BY: spreading is best effort


def public_task(task: dict[str, Any]) -> dict[str, Any]:
    """A task as the API shows it (internal ``_`` keys removed)."""
    return {k: v for k, v in task.items() if not k.startswith("_")}


def light_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan in events (``plan-format=light``, the default since Marathon 1.8)."""
    return {"id": plan["id"], "steps": plan["steps"], "version": plan["version"]}


def public_deployment(plan: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in plan.items() if not k.startswith("_")}
