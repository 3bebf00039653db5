"""Marathon's scheduler: launches tasks where offers fit, reports them running and healthy,
kills them, relaunches failed ones after the backoff, and moves deployment plans along.

An app that cannot be placed (say, port 6443 already taken on the only public agent) never
finishes deploying — the same deadlock users hit on real clusters. Tasks carry ``_`` keys for
the scheduler (``public_task`` drops them for the API).
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from typing import TYPE_CHECKING, Any, Iterator

from kexpose_sim.clock import timestamp
from kexpose_sim.marathon import apps as appdefs
from kexpose_sim.marathon.deployments import light_plan
from kexpose_sim.marathon.placement import place

if TYPE_CHECKING:
    from kexpose_sim.marathon.backend import MarathonBackend, Record

log = logging.getLogger("kexpose_sim.marathon")


class Scheduler:
    """Drives the backend's tasks and plans; ``tick`` is called by the simulator's runner."""

    def __init__(self, backend: MarathonBackend) -> None:
        self.backend = backend
        self.state = backend.state

    def _running(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(agent id, app definition) for every task of an app that still exists."""
        apps = self.backend.apps
        return ((t["slaveId"], apps[t["appId"]]["definition"]) for t in self.backend.tasks.values()
                if t["appId"] in apps)

    def tick(self, now: float) -> bool:
        """Advance tasks and plans; True if anything changed (the caller persists)."""
        changed = self._progress_tasks(now)
        for plan in list(self.backend.deployments.values()):
            changed = self._progress_plan(plan, now) or changed
        deploying = {a for d in self.backend.deployments.values() for a in d["affectedApps"]}
        for app_id, rec in list(self.backend.apps.items()):
            if app_id not in deploying:
                changed = self._maintain(rec, now) or changed
        self.backend.queue.sync()
        return changed

    def _maintain(self, rec: Record, now: float) -> bool:
        """Outside deployments Marathon still keeps ``instances`` tasks: it relaunches failed or
        killed ones (after the backoff)."""
        app = rec["definition"]
        live = [t for t in self.backend.app_tasks(app["id"]) if t["state"] != "TASK_KILLING"]
        if len(live) >= app["instances"] or now < rec.get("_nextLaunchAt", 0):
            return False
        launched = False
        for _ in range(app["instances"] - len(live)):
            if self.launch(rec, None) is None:
                break
            launched = True
        return launched

    def _progress_tasks(self, now: float) -> bool:
        timing = self.state.config.timing
        changed = False
        for task in list(self.backend.tasks.values()):
            if task["state"] == "TASK_KILLING" and now >= task["_killAt"]:
                self._set_state(task, "TASK_KILLED")
                self.state.cluster.release(task["id"])
                del self.backend.tasks[task["id"]]
            elif task["_hung"] and task["_plan"] not in self.backend.deployments:
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
        rec = self.backend.apps.get(task["appId"])
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
        task = self.backend.tasks.get(task_id)
        if task is None or task["state"] == "TASK_KILLING":
            return
        self._set_state(task, "TASK_FAILED", message)
        self.state.cluster.release(task_id)
        del self.backend.tasks[task_id]
        rec = self.backend.apps.get(task["appId"])
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
        for matches, runtime in self.backend.runtimes:
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
            self.backend.advance_step(plan)
        else:
            self.backend.finish_deployment(plan, success=True)
        return True

    def _act(self, action: str, app_id: str, plan: dict[str, Any], now: float) -> bool:
        """Drive one action a step further; True once it is complete."""
        if action == "StartApplication":
            return True
        if action == "StopApplication":
            alive = self.backend.app_tasks(app_id)
            for t in alive:
                self.kill(t)
            if not alive:
                self.state.events.publish("app_terminated_event", {"appId": app_id})
            return not alive
        rec = self.backend.apps.get(app_id)
        return rec is None or self._converge(rec, plan, now)

    def _converge(self, rec: Record, plan: dict[str, Any], now: float) -> bool:
        """Scale/restart towards ``instances`` tasks of the current config, honouring the
        upgrade strategy (how many old tasks must stay up, how many extra may run)."""
        app = rec["definition"]
        config = rec["versionInfo"]["lastConfigChangeAt"]
        tasks = [t for t in self.backend.app_tasks(app["id"]) if t["state"] != "TASK_KILLING"]
        new = [t for t in tasks if t["_config"] == config]
        old = [t for t in tasks if t["_config"] != config]
        n = app["instances"]
        for t in _kill_order(new, app["killSelection"])[: max(0, len(new) - n)]:
            self.kill(t)
            new.remove(t)
        ready = [t for t in new if _ready(t)]
        strategy = app["upgradeStrategy"]
        keep_old = max(0, math.ceil(n * strategy["minimumHealthCapacity"]) - len(ready))
        for t in _kill_order(old, app["killSelection"])[: max(0, len(old) - keep_old)]:
            self.kill(t)
            old.remove(t)
        max_total = n + math.floor(n * strategy["maximumOverCapacity"])
        if now >= rec.get("_nextLaunchAt", 0):
            while len(new) < n and len(new) + len(old) < max_total:
                task = self.launch(rec, plan)
                if task is None:
                    break
                new.append(task)
        outdated = [t for t in self.backend.app_tasks(app["id"]) if t["_config"] != config]
        return len(new) == n and all(_ready(t) for t in new) and not outdated

    def launch(self, rec: Record, plan: dict[str, Any] | None) -> dict[str, Any] | None:
        """Stage one task where an offer fits, or None when no agent can take it."""
        app = rec["definition"]
        matches = place(app, self.state.cluster, self.backend.app_tasks(app["id"]), self._running())
        self.backend.queue.record(app["id"], rec["versionInfo"]["lastConfigChangeAt"], matches)
        if not matches or not matches[-1].used:
            return None
        agent, host_ports = matches[-1].agent, matches[-1].ports
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
        self.backend.tasks[task_id] = task
        self._emit_status(task)
        return task

    def kill(self, task: dict[str, Any]) -> None:
        if task["state"] == "TASK_KILLING":
            return
        task["state"] = "TASK_KILLING"
        task["_killAt"] = time.time() + self.state.config.timing.task_kill
        for listener in self.backend.task_listeners:
            listener("TASK_KILLING", task, None)

    def _set_state(self, task: dict[str, Any], state: str, message: str | None = None) -> None:
        task["state"] = state
        self._emit_status(task, message)
        for listener in self.backend.task_listeners:
            listener(state, task, self.backend.apps.get(task["appId"], {}).get("definition"))

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


def _safe_id(app_id: str) -> str:
    return app_id.strip("/").replace("/", "_")


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


def healthy(task: dict[str, Any]) -> bool:
    return any(r.get("alive") for r in task.get("healthCheckResults", []))


def _ready(task: dict[str, Any]) -> bool:
    return task["state"] == "TASK_RUNNING" and (not task["_checks"] or healthy(task))


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


def public_task(task: dict[str, Any]) -> dict[str, Any]:
    """A task as the API shows it (internal ``_`` keys removed)."""
    return {k: v for k, v in task.items() if not k.startswith("_")}
