"""Marathon tasks of HAProxy apps (the seeds' standalone method) run as real ``haproxy``.

An app whose container image is ``haproxy:*`` gets, for each task, a container (see
``container``) on its agent with the app's ``hostPath`` volumes mapped from that agent's
filesystem, and its ``cmd`` runs there. Before the start, the same command runs with ``-c``: a
configuration HAProxy rejects fails the task with HAProxy's own message as ``lastTaskFailure``
(Marathon then relaunches it with backoff, as a crash-looping container would be).

Two liberties, both in the copy HAProxy reads (the file on the agent stays as the user wrote it):
every simulated agent shares this machine's network stack, so a wildcard ``bind :PORT`` (all of
the agent's interfaces) is narrowed to the agent's own address; and a global ``maxconn`` beyond
this machine's file-descriptor limit is lowered to fit (see ``effective_config``).
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


def config_path(cmd: str) -> str | None:
    """The container path of ``-f <file>`` in an haproxy command line."""
    args = shlex.split(cmd)
    for i, arg in enumerate(args[:-1]):
        if arg == "-f":
            return args[i + 1]
    return None


class HaproxyTasks:
    def __init__(self, state, supervisor: Supervisor, hosts_file: Path):
        self.state = state
        self.supervisor = supervisor
        self.hosts_file = hosts_file

    def install(self) -> None:
        self.state.marathon.runtimes.append((is_haproxy_app, self.run))
        self.state.marathon.task_listeners.append(self.on_task_state)

    def sandbox(self, task: dict[str, Any], agent: Agent) -> Path:
        return agent_root(self.state.config.state_dir, agent.name) / sandbox_path(
            agent.id, MARATHON_FRAMEWORK_ID, task["id"]).lstrip("/")

    def spec(self, task: dict[str, Any], app: dict[str, Any], agent: Agent) -> ContainerSpec:
        root = agent_root(self.state.config.state_dir, agent.name)
        sandbox = self.sandbox(task, agent)
        sandbox.mkdir(parents=True, exist_ok=True)
        volumes = [Volume(root / v["hostPath"].lstrip("/"), v["containerPath"], v.get("mode", "RW") == "RO")
                   for v in app.get("container", {}).get("volumes", []) if "hostPath" in v]
        for v in volumes:
            v.host_path.mkdir(parents=True, exist_ok=True)  # Mesos creates missing host paths too
        spec = ContainerSpec(sandbox=sandbox, hosts_file=self.hosts_file, volumes=volumes)
        config = config_path(app["cmd"])
        host_config = self._host_file(config, volumes) if config else None
        if host_config is not None and host_config.is_file():
            narrowed = sandbox / "haproxy-effective.cfg"
            narrowed.write_text(effective_config(host_config.read_text(), agent.address))
            spec.overlays[config] = narrowed
        return spec

    @staticmethod
    def _host_file(container_file: str, volumes: list[Volume]) -> Path | None:
        for v in sorted(volumes, key=lambda v: len(v.container_path), reverse=True):
            prefix = v.container_path.rstrip("/") + "/"
            if container_file.startswith(prefix):
                return v.host_path / container_file[len(prefix):]
        return None

    def run(self, task: dict[str, Any], app: dict[str, Any], agent: Agent) -> str | None:
        """Start the task's HAProxy; a failure message if it cannot run."""
        spec = self.spec(task, app, agent)
        check = subprocess.run(spec.command(command_line(app["cmd"] + " -c")), capture_output=True, text=True,
                               timeout=CHECK_TIMEOUT)
        if check.returncode != 0:
            return "haproxy configuration check failed: " + haproxy_errors(check.stdout + check.stderr)
        log = spec.sandbox / "stdout"
        managed = self.supervisor.start(task["id"], spec.command(command_line(app["cmd"])), log, self.on_exit)
        code = wait_alive(managed, 0.15)
        if code is None:  # running: report TASK_RUNNING once it serves, so clients can connect at once
            code = wait_listening(managed, agent.address, task["ports"], LISTEN_TIMEOUT)
        if code is not None:
            return f"haproxy exited with status {code}: {tail(log)}"
        return None

    def on_exit(self, task_id: str, code: int, output: str) -> None:
        with self.state.lock:
            self.state.marathon.fail_task(task_id, f"haproxy exited with status {code}: {output}")
            self.state.save()

    def on_task_state(self, state: str, task: dict[str, Any], app: dict[str, Any] | None) -> None:
        if state in ("TASK_KILLING", "TASK_KILLED", "TASK_FAILED"):
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
