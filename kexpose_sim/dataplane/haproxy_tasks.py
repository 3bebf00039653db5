"""Marathon tasks of HAProxy apps (the seeds' standalone method) run as real ``haproxy``.

An app whose container image is ``haproxy:*`` gets, for each task, a container (see
``container``) on its agent with the app's ``hostPath`` volumes mapped from that agent's
filesystem, and its ``cmd`` runs there — HAProxy itself, or a shell script from a volume such as
kexpose's reloader, which runs HAProxy in master-worker mode and reloads it on SIGUSR2. When the
command is HAProxy itself, it first runs with ``-c``: a configuration HAProxy rejects fails the
task with HAProxy's own message as ``lastTaskFailure`` (Marathon then relaunches it with backoff,
as a crash-looping container would be); any other command that exits fails the task with the
tail of its output.

Two liberties, both in the copy HAProxy reads (the files on the agent stay as the user wrote
them; read-only volumes are mirrors kept in step, see ``volume_view``): every simulated agent
shares this machine's network stack, so a wildcard ``bind :PORT`` (all of the agent's
interfaces) is narrowed to the agent's own address; and a global ``maxconn`` beyond this
machine's file-descriptor limit is lowered to fit (see ``effective_config``).
"""

from __future__ import annotations

import re
import resource
import shlex
import subprocess
from pathlib import Path
from typing import Any

from kexpose_sim.cluster import Agent
from kexpose_sim.dataplane.container import ContainerSpec, Volume, command_line
from kexpose_sim.dataplane.kubernetes import agent_root, sandbox_path
from kexpose_sim.dataplane.supervisor import Supervisor, tail, wait_alive, wait_listening
from kexpose_sim.dataplane.volume_view import ViewSyncer, VolumeView
from kexpose_sim.mesos import MARATHON_FRAMEWORK_ID

WILDCARD_BIND = re.compile(r"^(\s*bind\s+)(?:\*|0\.0\.0\.0|::)?:(\d+)", re.MULTILINE)
GLOBAL_MAXCONN = re.compile(r"^(\s*maxconn\s+)(\d+)", re.MULTILINE)
CHECK_TIMEOUT = 15.0
#: How long a started HAProxy may take to bind its ports before its task counts as running anyway.
LISTEN_TIMEOUT = 3.0


def is_haproxy_app(app: dict[str, Any]) -> bool:
    image = app.get("container", {}).get("docker", {}).get("image", "")
    return image.split(":")[0].split("/")[-1] == "haproxy" and bool(app.get("cmd"))


def narrow_binds(config: str, address: str) -> str:
    """``bind :6443`` -> ``bind <address>:6443`` (binds that name an address stay as they are)."""
    return WILDCARD_BIND.sub(lambda m: f"{m.group(1)}{address}:{m.group(2)}", config)


def max_global_maxconn() -> int:
    """The largest global ``maxconn`` this machine's file-descriptor limit allows (HAProxy needs
    about two descriptors per connection; these sandboxes cap even root at 20000)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return 50000 if hard == resource.RLIM_INFINITY else max(1000, min(50000, (hard - 1000) // 2))


def effective_config(config: str, address: str) -> str:
    """The config an agent's HAProxy runs: wildcard binds narrowed to the agent's address, and a
    global ``maxconn`` the machine cannot honour lowered to what it can (HAProxy would refuse to
    start otherwise). Everything else is the config as written."""
    cap = max_global_maxconn()

    def fit(m: re.Match) -> str:
        return f"{m.group(1)}{min(int(m.group(2)), cap)}"

    head, sep, rest = config.partition("\ndefaults")
    return narrow_binds(GLOBAL_MAXCONN.sub(fit, head) + sep + rest, address)


def haproxy_errors(output: str) -> str:
    """HAProxy's own complaint: its [ALERT] lines (else the last lines), on one line."""
    lines = [line.strip() for line in output.strip().splitlines()]
    alerts = [line for line in lines if "[ALERT]" in line]
    return " | ".join((alerts or lines)[-6:])


def runs_haproxy(cmd: str) -> bool:
    """Whether ``cmd`` is HAProxy itself (``[exec] …/haproxy …``), not a script that runs it."""
    args = shlex.split(cmd)
    if args[:1] == ["exec"]:
        args = args[1:]
    return bool(args) and args[0].rsplit("/", 1)[-1] == "haproxy"


def _program(cmd: str) -> str:
    """How a failure names the task's command: haproxy, or (as Mesos says) the command."""
    return "haproxy" if runs_haproxy(cmd) else "Command"


class HaproxyTasks:
    def __init__(self, state, supervisor: Supervisor, hosts_file: Path):
        self.state = state
        self.supervisor = supervisor
        self.hosts_file = hosts_file
        self.views = ViewSyncer()

    def install(self) -> None:
        self.state.marathon.runtimes.append((is_haproxy_app, self.run))
        self.state.marathon.task_listeners.append(self.on_task_state)

    def sandbox(self, task: dict[str, Any], agent: Agent) -> Path:
        return agent_root(self.state.config.state_dir, agent.name) / sandbox_path(
            agent.id, MARATHON_FRAMEWORK_ID, task["id"]).lstrip("/")

    def spec(self, task: dict[str, Any], app: dict[str, Any], agent: Agent) -> ContainerSpec:
        """The task's container; its read-only volumes are mirrors (registered with the syncer)."""
        root = agent_root(self.state.config.state_dir, agent.name)
        sandbox = self.sandbox(task, agent)
        sandbox.mkdir(parents=True, exist_ok=True)
        volumes, views = [], []
        for n, v in enumerate(v for v in app.get("container", {}).get("volumes", []) if "hostPath" in v):
            host_path = root / v["hostPath"].lstrip("/")
            host_path.mkdir(parents=True, exist_ok=True)  # Mesos creates missing host paths too
            if v.get("mode", "RW") == "RO":
                view = VolumeView(host_path, sandbox / "volumes" / str(n), lambda text: effective_config(text, agent.address))
                views.append(view)
                host_path = view.mirror
            volumes.append(Volume(host_path, v["containerPath"], v.get("mode", "RW") == "RO"))
        self.views.add(task["id"], views)
        return ContainerSpec(sandbox=sandbox, hosts_file=self.hosts_file, volumes=volumes)

    def run(self, task: dict[str, Any], app: dict[str, Any], agent: Agent) -> str | None:
        """Start the task's command; a failure message if it cannot run."""
        spec = self.spec(task, app, agent)
        if runs_haproxy(app["cmd"]):
            check = subprocess.run(spec.command(command_line(app["cmd"] + " -c")), capture_output=True, text=True,
                                   timeout=CHECK_TIMEOUT)
            if check.returncode != 0:
                self.views.remove(task["id"])
                return "haproxy configuration check failed: " + haproxy_errors(check.stdout + check.stderr)
        log, program = spec.sandbox / "stdout", _program(app["cmd"])
        managed = self.supervisor.start(task["id"], spec.command(command_line(app["cmd"])), log,
                                        lambda key, code, output: self.on_exit(key, f"{program} exited with status {code}: {output}"))
        code = wait_alive(managed, 0.15)
        if code is None:  # running: report TASK_RUNNING once it serves, so clients can connect at once
            code = wait_listening(managed, agent.address, task["ports"], LISTEN_TIMEOUT)
        if code is not None:
            self.views.remove(task["id"])
            return f"{program} exited with status {code}: {haproxy_errors(tail(log))}"
        return None

    def on_exit(self, task_id: str, failure: str) -> None:
        self.views.remove(task_id)
        with self.state.lock:
            self.state.marathon.fail_task(task_id, failure)
        self.state.save()

    def on_task_state(self, state: str, task: dict[str, Any], app: dict[str, Any] | None) -> None:
        if state in ("TASK_KILLING", "TASK_KILLED", "TASK_FAILED"):
            self.views.remove(task["id"])
            self.supervisor.stop(task["id"])

    def resume(self) -> None:
        """After a simulator restart: start HAProxy again for tasks that should be running."""
        marathon = self.state.marathon
        for task in list(marathon.tasks.values()):
            rec = marathon.apps.get(task["appId"])
            if task["state"] != "TASK_RUNNING" or rec is None or not is_haproxy_app(rec["definition"]):
                continue
            failure = self.run(task, rec["definition"], self.state.cluster.agent(task["slaveId"]))
            if failure:
                marathon.fail_task(task["id"], failure)
