"""``HaproxyReload``: the standalone HAProxy serving a config revision on every agent, loaded in place.

It comes after the files (``AgentFiles``) and the app (``MarathonApp``). ``create``/``update``
return only when, on every agent the app is pinned to,
1. the reloader of that agent's task reports the wanted ``revision`` in its status file (read
   through the Mesos agent's files API) as started or reloaded — or as **rejected**: then ``up``
   fails with HAProxy's ``[ALERT]`` lines, and the config that was running keeps serving;
2. a new connection to the agent's port is answered with that revision (the response header the
   config adds), so the new workers are the ones accepting.
``diff`` says in the preview that a new revision is a reload in place, not a restart. Nothing is
deleted (the status file lives in the task's sandbox); refresh keeps the last result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, UpdateResult

from kexpose_components import cancellation
from kexpose_components.dcos.marathon import MarathonClient
from kexpose_components.dcos.mesos import Sandbox, running_sandboxes
from kexpose_components.errors import KexposeError
from kexpose_components.haproxy.reload import STATUS_FILE, ReloadStatus
from kexpose_components.probe import served_revision
from kexpose_components.progress import announce, report
from kexpose_components.resources.connection import secret_connection, session
from kexpose_components.resources.deadline import DEFAULT_TIMEOUT, timeout_seconds
from kexpose_components.resources.inputs import Inputs
from kexpose_components.resources.provider import KexposeProvider

POLL_SECONDS = 0.5


class HaproxyReloadError(KexposeError):
    """An agent did not take the new config; the message names the agent and HAProxy's words."""


@dataclass(frozen=True)
class ReloadInputs(Inputs):
    """Which revision the app's tasks must serve, where, and how to reach the cluster."""

    connection: Any = None
    app_id: str = ""
    revision: str = ""
    hosts: Any = None
    port: int = 0
    timeout: float = DEFAULT_TIMEOUT


def _status(sandbox: Sandbox | None, connection: dict[str, Any]) -> ReloadStatus | None:
    text = sandbox.read(session(connection), STATUS_FILE) if sandbox else None
    return ReloadStatus.parse(text) if text else None


class _Watch:
    """One wait for ``revision`` on every host; remembers what each host was last seen doing."""

    def __init__(self, inputs: ReloadInputs):
        self.inputs = inputs
        self.marathon = MarathonClient(session(inputs.connection))
        self.sandboxes: dict[str, Sandbox] = {}
        self.seen: dict[str, str] = {}

    def tasks(self) -> dict[str, str]:
        """host -> id of its running task (one per agent: the app is pinned, UNIQUE)."""
        app = self.marathon.get_app(self.inputs.app_id) or {}
        tasks = {t["host"]: t["id"] for t in app.get("tasks", []) if t.get("state") == "TASK_RUNNING"}
        missing = [t for t in tasks.values() if t not in self.sandboxes]
        if missing:
            self.sandboxes.update(running_sandboxes(session(self.inputs.connection), missing))
        return tasks

    def served(self, host: str, task: str | None) -> bool:
        """Whether ``host`` serves the revision; raises when its reloader rejected it."""
        wanted = self.inputs.revision
        status = _status(self.sandboxes.get(task), self.inputs.connection) if task else None
        if status is None or status.revision != wanted:
            self.seen[host] = ("no running task" if task is None else "its reloader has not reported yet" if status is None
                               else f"its reloader is at revision {status.revision} ({status.state})")
            return False
        if status.state == "rejected":
            raise HaproxyReloadError(
                f"HAProxy on {host} refused the new config (revision {wanted}) and keeps serving revision "
                f"{status.served}: {' | '.join(status.alerts) or 'no [ALERT] lines'}. Fix the setting it names and run up again.")
        answer = served_revision(host, self.inputs.port)
        self.seen[host] = f"answers with revision {answer}" if answer else f"does not answer on port {self.inputs.port}"
        return answer == wanted

    def wait(self) -> dict[str, str]:
        inputs = self.inputs
        pending = sorted(inputs.hosts or [])
        deadline = time.monotonic() + float(inputs.timeout)
        while True:
            tasks = self.tasks()
            pending = [h for h in pending if not self.served(h, tasks.get(h))]
            if not pending:
                return {h: inputs.revision for h in inputs.hosts}
            if time.monotonic() > deadline:
                raise HaproxyReloadError(
                    f"{inputs.app_id} did not serve revision {inputs.revision} within {inputs.timeout:.0f}s: "
                    + "; ".join(f"{h}: {self.seen.get(h, 'unknown')}" for h in pending))
            report(f"{inputs.app_id}: waiting for revision {inputs.revision} on {', '.join(pending)}")
            cancellation.sleep(POLL_SECONDS, f"{inputs.app_id} to serve revision {inputs.revision}")


class HaproxyReloadProvider(KexposeProvider):
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old, new = ReloadInputs.parse(olds), ReloadInputs.parse(news)
        watched = ("app_id", "revision", "hosts", "port")
        changes = old.props(*watched) != new.props(*watched)
        if changes and old.revision != new.revision:
            announce(f"{new.app_id}: the new HAProxy config is a reload in place on {len(new.hosts or [])} agent(s), "
                     "no restart: open connections finish on the old workers, new ones get the new config")
        return DiffResult(changes=changes or old.props("connection", "timeout") != new.props("connection", "timeout"),
                          replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = ReloadInputs.parse(props)
        return CreateResult(inputs.app_id, {**props, "served": _Watch(inputs).wait()})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult({**news, "served": _Watch(ReloadInputs.parse(news)).wait()})


class HaproxyReload(Resource, module="haproxy", name="Reload"):
    """Waits until every agent of the standalone HAProxy app serves config ``revision``.

    Outputs:
        served: agent host -> the revision it was seen serving.
    """

    served: pulumi.Output[dict]

    def __init__(self, name: str, connection: pulumi.Input[Any], app_id: pulumi.Input[str], revision: pulumi.Input[str],
                 hosts: list[str], port: int, opts: pulumi.ResourceOptions | None = None):
        props = {"connection": secret_connection(connection), "app_id": app_id, "revision": revision, "hosts": hosts,
                 "port": port, "timeout": timeout_seconds(opts), "served": None}
        super().__init__(HaproxyReloadProvider(), name, props, opts)
