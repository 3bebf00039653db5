"""The slice of the Mesos master and agent APIs (behind Admin Router) that DC/OS tooling reads:

- ``GET /mesos/master/state-summary``: the cluster's agents (resources, attributes, what is used)
  and frameworks (Marathon, the Kubernetes services, Edge-LB pools) with task counts.

And what fetching a task's file needs — how ``dcos task exec … cat ca-crt.pem`` style look-ups
work without a shell:

- ``GET /mesos/tasks``: every task (Marathon's and the frameworks'), with ``framework_id``,
  ``slave_id``, ``executor_id`` and ``name``;
- ``GET /agent/<agent-id>/state``: the agent's frameworks and executors with their sandbox
  ``directory``;
- ``GET /agent/<agent-id>/files/download?path=<sandbox path>``: a file from an agent's sandbox.
"""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from kexpose_sim.cluster import Agent
from kexpose_sim.dataplane.kubernetes import agent_root, sandbox_path
from kexpose_sim.edgelb.models import service_name
from kexpose_sim.http import json_response, text_response

MARATHON_FRAMEWORK_ID = "kexpose-sim-0000"


def handle(state, request: Request, path: str) -> Response:
    if request.method != "GET":
        return text_response("Method Not Allowed", 405)
    if path in ("/mesos/tasks", "/mesos/master/tasks"):
        return json_response({"tasks": tasks(state)})
    if path == "/mesos/master/state-summary":
        with state.lock:
            return json_response(state_summary(state))
    parts = path.strip("/").split("/")
    if len(parts) == 3 and parts[0] == "agent" and parts[2] == "state":
        return json_response(agent_state(state, parts[1]))
    if len(parts) == 4 and parts[0] == "agent" and parts[2:] == ["files", "download"]:
        return download(state, parts[1], request.args.get("path", ""))
    return text_response("Not Found", 404)


def tasks(state) -> list[dict]:
    with state.lock:
        out = []
        for fw in state.cluster.frameworks:
            for t in fw.tasks:
                out.append({"id": t.id, "name": t.name, "framework_id": fw.id, "slave_id": t.agent_id,
                            "executor_id": t.id, "state": t.state,
                            "sandbox": sandbox_path(t.agent_id, fw.id, t.id)})
        for t in state.marathon.tasks.values():
            out.append({"id": t["id"], "name": t["appId"].strip("/").replace("/", "."), "framework_id": MARATHON_FRAMEWORK_ID,
                        "slave_id": t["slaveId"], "executor_id": t["id"], "state": t["state"],
                        "sandbox": sandbox_path(t["slaveId"], MARATHON_FRAMEWORK_ID, t["id"])})
        return out


def agent_state(state, agent_id: str) -> dict:
    """The part of a Mesos agent's ``/state`` that locates sandboxes."""
    frameworks: dict[str, list[dict]] = {}
    for t in tasks(state):
        if t["slave_id"] == agent_id:
            frameworks.setdefault(t["framework_id"], []).append({"id": t["executor_id"], "directory": t["sandbox"]})
    return {"id": agent_id, "frameworks": [{"id": fw, "executors": ex} for fw, ex in frameworks.items()]}


def download(state, agent_id: str, file_path: str) -> Response:
    agent = next((a for a in state.cluster.agents if a.id == agent_id), None)
    if agent is None:
        return text_response("Agent not found", 404)
    root = agent_root(state.config.state_dir, agent.name).resolve()
    target = (root / file_path.lstrip("/")).resolve()
    if root not in target.parents or not target.is_file():
        return text_response("File not found", 404)
    return Response(Path(target).read_bytes(), content_type="application/octet-stream")


# -- /master/state-summary --------------------------------------------------------------------------
RESOURCES = ("cpus", "mem", "disk", "gpus")
TASK_STATES = ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING", "TASK_FINISHED", "TASK_KILLED",
               "TASK_FAILED", "TASK_LOST", "TASK_ERROR", "TASK_UNREACHABLE")
#: (framework id, framework name, web UI, [(agent id, task state, resources)])
FrameworkTasks = tuple[str, str, str, list[tuple[str, str, dict[str, float]]]]


def _frameworks(state) -> list[FrameworkTasks]:
    """Every framework with its tasks: Marathon's (resources from their apps), the Kubernetes
    services' control planes, and each Edge-LB pool's instances."""
    marathon = state.marathon
    marathon_tasks = [(t["slaveId"], t["state"], {r: marathon.apps[t["appId"]]["definition"].get(r, 0) for r in RESOURCES}
                       if t["appId"] in marathon.apps else {}) for t in marathon.tasks.values()]
    out: list[FrameworkTasks] = [(MARATHON_FRAMEWORK_ID, "marathon", f"http://{state.config.master_ip}:8080",
                                  marathon_tasks)]
    out += [(fw.id, fw.name, "", [(t.agent_id, t.state, {}) for t in fw.tasks]) for fw in state.cluster.frameworks]
    for record in state.edgelb.pools.values():
        name = service_name(record.pool)
        pool = record.rendered or record.pool
        resources = {"cpus": pool["cpus"], "mem": pool["mem"], "disk": pool["disk"]}
        out.append((f"{uuid.uuid5(uuid.NAMESPACE_URL, state.cluster_id + name)}-0000", name, "",
                    [(i.agent_id, "TASK_RUNNING", resources) for i in record.instances]))
    return out


def _sum(resources: list[dict[str, float]]) -> dict[str, float]:
    return {r: float(sum(x.get(r, 0) for x in resources)) for r in RESOURCES}


def _ports(ranges: list[tuple[int, int]]) -> str:
    return "[" + ", ".join(f"{lo}-{hi}" for lo, hi in ranges) + "]"


def _counts(states: list[str]) -> dict[str, int]:
    counted = Counter(states)
    return {s: counted[s] for s in TASK_STATES}


def _slave(agent: Agent, frameworks: list[FrameworkTasks], master: str) -> dict[str, Any]:
    tasks = [(fw_id, task) for fw_id, _, _, fw_tasks in frameworks for task in fw_tasks if task[0] == agent.id]
    resources = {"cpus": agent.cpus, "mem": agent.mem, "disk": agent.disk, "gpus": float(agent.gpus),
                 "ports": _ports(agent.port_ranges)}
    empty = {r: 0.0 for r in RESOURCES}
    return {
        "id": agent.id, "pid": f"slave(1)@{agent.address}:5051", "hostname": agent.hostname, "port": 5051,
        "resources": resources, "used_resources": _sum([t[2] for _, t in tasks]), "offered_resources": empty,
        "reserved_resources": {agent.role: resources} if agent.public else {},
        "unreserved_resources": empty if agent.public else resources,
        "attributes": {**agent.attributes, **({"public_ip": "true"} if agent.public else {})},
        "active": True, "version": master,
        **_counts([t[1] for _, t in tasks]),
        "framework_ids": sorted({fw_id for fw_id, _ in tasks}),
    }


def state_summary(state) -> dict[str, Any]:
    """``/mesos/master/state-summary``: ``hostname``, ``cluster``, ``slaves`` and ``frameworks``."""
    config = state.config
    frameworks = _frameworks(state)
    return {
        "hostname": config.master_ip,
        "cluster": config.cluster_name,
        "slaves": [_slave(a, frameworks, config.mesos_version) for a in state.cluster.agents],
        "frameworks": [{
            "id": fw_id, "name": name, "pid": f"scheduler-{fw_id}@{config.master_ip}", "hostname": config.master_ip,
            "webui_url": webui, "active": True, "connected": True, "recovered": False,
            "used_resources": _sum([t[2] for t in fw_tasks]), "offered_resources": {r: 0.0 for r in RESOURCES},
            "capabilities": [], **_counts([t[1] for t in fw_tasks]),
            "slave_ids": sorted({t[0] for t in fw_tasks}),
        } for fw_id, name, webui, fw_tasks in frameworks],
    }
