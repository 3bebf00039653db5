"""The slice of the Mesos master and agent APIs (behind Admin Router) that fetching a task's file
needs — how ``dcos task exec … cat ca-crt.pem`` style look-ups work without a shell:

- ``GET /mesos/tasks``: every task (Marathon's and the frameworks'), with ``framework_id``,
  ``slave_id``, ``executor_id`` and ``name``;
- ``GET /agent/<agent-id>/state``: the agent's frameworks and executors with their sandbox
  ``directory``;
- ``GET /agent/<agent-id>/files/download?path=<sandbox path>``: a file from an agent's sandbox.
"""

from __future__ import annotations

from pathlib import Path

from werkzeug.wrappers import Request, Response

from kexpose_sim.dataplane.kubernetes import agent_root, sandbox_path
from kexpose_sim.http import json_response, text_response

MARATHON_FRAMEWORK_ID = "kexpose-sim-0000"


def handle(state, request: Request, path: str) -> Response:
    if request.method != "GET":
        return text_response("Method Not Allowed", 405)
    if path in ("/mesos/tasks", "/mesos/master/tasks"):
        return json_response({"tasks": tasks(state)})
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
