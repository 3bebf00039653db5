"""Reading a file from a Mesos task's sandbox through Admin Router — what
``dcos task exec <task> cat <file>`` amounts to for a file that sits in the sandbox:
the master's ``/mesos/tasks`` finds the task and its agent, the agent's ``state`` gives the
executor's sandbox directory, and the agent's files API serves the file."""

from __future__ import annotations

from kexpose_components.dcos.client import DcosApiError, DcosSession


def task_file(session: DcosSession, task_id_prefix: str, file_name: str) -> str:
    tasks = session.request("GET", "/mesos/tasks").json().get("tasks", [])
    matching = [t for t in tasks if t["id"].startswith(task_id_prefix) and t.get("state", "TASK_RUNNING") == "TASK_RUNNING"]
    if not matching:
        raise DcosApiError("GET", session.connection.url + "/mesos/tasks", None,
                           f"no running task whose id starts with {task_id_prefix!r}: is the service installed under "
                           "that name (grouped names use dots: dev/kubernetes01 -> dev.kubernetes01)?")
    task = matching[0]
    agent = task["slave_id"]
    state = session.request("GET", f"/agent/{agent}/state").json()
    directory = next((e["directory"] for fw in state.get("frameworks", []) if fw["id"] == task["framework_id"]
                      for e in fw.get("executors", []) if e["id"] == task["executor_id"]), None)
    if directory is None:
        raise DcosApiError("GET", session.connection.url + f"/agent/{agent}/state", None,
                           f"agent {agent} does not list the sandbox of task {task['id']}")
    return session.request("GET", f"/agent/{agent}/files/download", params={"path": f"{directory}/{file_name}"}).text
