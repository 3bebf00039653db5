"""Reading a file from a Mesos task's sandbox through Admin Router — what
``dcos task exec <task> cat <file>`` amounts to for a file that sits in the sandbox:
the master's ``/mesos/tasks`` finds the task and its agent, the agent's ``state`` gives the
executor's sandbox directory, and the agent's files API serves the file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kexpose_components.dcos.client import DcosApiError, DcosSession


@dataclass(frozen=True)
class Sandbox:
    """Where one task's sandbox is: its agent and directory there."""

    agent: str
    directory: str

    def read(self, session: DcosSession, file_name: str) -> str | None:
        """The file's text, or None while it is not there."""
        response = session.request("GET", f"/agent/{self.agent}/files/download", expect=(200, 404),
                                   params={"path": f"{self.directory}/{file_name}"})
        return None if response.status_code == 404 else response.text


def _running(session: DcosSession, task_id_prefix: str) -> list[dict[str, Any]]:
    tasks = session.request("GET", "/mesos/tasks").json().get("tasks", [])
    return [t for t in tasks if t["id"].startswith(task_id_prefix) and t.get("state", "TASK_RUNNING") == "TASK_RUNNING"]


def sandbox(session: DcosSession, task: dict[str, Any]) -> Sandbox:
    """The sandbox of a task as ``/mesos/tasks`` lists it."""
    agent = task["slave_id"]
    state = session.request("GET", f"/agent/{agent}/state").json()
    directory = next((e["directory"] for fw in state.get("frameworks", []) if fw["id"] == task["framework_id"]
                      for e in fw.get("executors", []) if e["id"] == task["executor_id"]), None)
    if directory is None:
        raise DcosApiError("GET", session.connection.url + f"/agent/{agent}/state", None,
                           f"agent {agent} does not list the sandbox of task {task['id']}")
    return Sandbox(agent, directory)


def running_sandboxes(session: DcosSession, task_ids: list[str]) -> dict[str, Sandbox]:
    """The sandboxes of those of ``task_ids`` that Mesos lists as running."""
    wanted = set(task_ids)
    return {t["id"]: sandbox(session, t) for t in _running(session, "") if t["id"] in wanted}


def task_file(session: DcosSession, task_id_prefix: str, file_name: str) -> str:
    matching = _running(session, task_id_prefix)
    if not matching:
        raise DcosApiError("GET", session.connection.url + "/mesos/tasks", None,
                           f"no running task whose id starts with {task_id_prefix!r}: is the service installed under "
                           "that name (grouped names use dots: dev/kubernetes01 -> dev.kubernetes01)?")
    text = sandbox(session, matching[0]).read(session, file_name)
    if text is None:
        raise DcosApiError("GET", session.connection.url + "/agent/…/files/download", 404,
                           f"{file_name} is not in the sandbox of task {matching[0]['id']}")
    return text
