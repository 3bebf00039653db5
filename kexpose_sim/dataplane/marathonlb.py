"""Marathon-LB, emulated: an app running image ``mesosphere/marathon-lb:*`` becomes a real HAProxy on
its public agent, configured the way marathon-lb configures it.

Reproduced from marathon-lb (its config templates and defaults, with their weak spots):
- apps join when their ``HAPROXY_GROUP`` label names the instance's group (``--group``, default
  ``external``) and have a running task; per port index ``n`` the labels ``HAPROXY_n_PORT``,
  ``_MODE``, ``_SSL_CERT``, ``_BIND_ADDR``, ``_BIND_OPTIONS``, ``_BALANCE`` and the templates
  ``HAPROXY_n_FRONTEND_HEAD``, ``_BACKEND_HEAD``, ``_BACKEND_SERVER_OPTIONS`` apply (Python
  ``str.format`` placeholders, as marathon-lb fills them);
- ``global``, ``defaults`` and ``listen stats`` are marathon-lb's ``HAPROXY_HEAD`` (see
  ``marathonlb_templates``): ``timeout connect 3s``, client and server 30 s, strict bind and
  server TLS, Prometheus metrics on ``:9090/metrics``; a ``timeout client`` placed in a backend
  (as the seeds' BACKEND_SERVER_OPTIONS label does) is ignored by HAProxy;
- before each reload the servers' state is saved to ``/var/state/haproxy/global`` through the
  master socket, as marathon-lb's ``reload_haproxy.sh`` does, and the new workers load it;
- its default certificate ``/etc/ssl/cert.pem`` is self-signed for ``CN=*``, made by openssl
  exactly as marathon-lb's ``run`` makes it;
- it takes ports 80, 443, 9090, 9091 (the app's ``portDefinitions``) and 10000–10150 on its agent;
- a config HAProxy rejects is not loaded (the last good one keeps serving).

Simulator-only knobs scale time for tests: env ``SIM_TIMEOUT_CLIENT``, ``SIM_TIMEOUT_SERVER``,
``SIM_TIMEOUT_CONNECT`` on the marathon-lb app replace the defaults' values (e.g. ``2s``).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

from kexpose_sim.cluster import Agent
from kexpose_sim.dataplane.container import ContainerSpec, Volume
from kexpose_sim.dataplane.haproxy_tasks import effective_config, haproxy_errors
from kexpose_sim.dataplane.kubernetes import agent_root, sandbox_path
from kexpose_sim.dataplane.marathonlb_templates import (
    BACKEND_HEAD, BACKEND_HTTP_OPTIONS, BACKEND_SERVER_OPTIONS, FRONTEND_HEAD, HEAD, HTTP_FRONTEND_APPID_HEAD,
    HTTP_FRONTEND_HEAD, HTTPS_FRONTEND_HEAD, SOCKET_DIR, STATE_DIR, TIMEOUTS)
from kexpose_sim.dataplane.supervisor import Supervisor, tail, wait_alive
from kexpose_sim.mesos import MARATHON_FRAMEWORK_ID

SERVICE_PORT_RANGE = range(10000, 10151)


def is_marathon_lb(app: dict[str, Any]) -> bool:
    image = app.get("container", {}).get("docker", {}).get("image", "")
    return image.split(":")[0].split("/")[-1] == "marathon-lb"


def group_of(app: dict[str, Any]) -> str:
    args = app.get("args") or []
    for i, arg in enumerate(args[:-1]):
        if arg == "--group":
            return args[i + 1]
    return "external"


def render(state, lb_app: dict[str, Any]) -> str:
    """haproxy.cfg for one marathon-lb instance, from Marathon's current apps and tasks, in
    marathon-lb's order: head, the HTTP, app-id and HTTPS frontends, each app's frontend, then
    every backend."""
    env = lb_app.get("env", {})
    config = HEAD.format(**{f"timeout_{k}": env.get(f"SIM_TIMEOUT_{k.upper()}", v) for k, v in TIMEOUTS.items()})
    config += HTTP_FRONTEND_HEAD + HTTP_FRONTEND_APPID_HEAD + HTTPS_FRONTEND_HEAD.format(sslCerts="crt /etc/ssl/cert.pem")
    group = group_of(lb_app)
    marathon = state.marathon
    frontends, backends = "", ""
    for app_id in sorted(marathon.apps):
        app = marathon.apps[app_id]["definition"]
        labels = app.get("labels", {})
        if group not in [g.strip() for g in labels.get("HAPROXY_GROUP", "").split(",")]:
            continue
        tasks = [t for t in marathon.app_tasks(app_id) if t["state"] == "TASK_RUNNING"]
        if not tasks:
            continue  # marathon-lb only writes apps that have a running task
        for n, pd in enumerate(app.get("portDefinitions", [])):
            frontend, backend = _app_port(app, n, pd["port"], tasks, labels)
            frontends, backends = frontends + frontend, backends + backend
    return config + frontends + backends


def _app_port(app: dict[str, Any], n: int, service_port: int, tasks: list[dict], labels: dict[str, str]) -> tuple[str, str]:
    def label(key: str, default: str) -> str:
        return labels.get(f"HAPROXY_{n}_{key}", default)

    port = int(label("PORT", str(service_port)))
    backend = f"{app['id'][1:].replace('/', '_')}_{port}"
    mode = label("MODE", "tcp")
    cert = label("SSL_CERT", "")
    values = {"backend": backend, "bindAddr": label("BIND_ADDR", "*"), "servicePort": port,
              "sslCert": f" ssl crt {cert}" if cert else "", "bindOptions": (" " + label("BIND_OPTIONS", "")).rstrip(),
              "mode": mode, "balance": label("BALANCE", "roundrobin")}
    frontend = label("FRONTEND_HEAD", FRONTEND_HEAD).format(**values) + f"  use_backend {backend}\n"
    text = label("BACKEND_HEAD", BACKEND_HEAD).format(**values)
    if mode == "http":
        text += BACKEND_HTTP_OPTIONS
    server = label("BACKEND_SERVER_OPTIONS", BACKEND_SERVER_OPTIONS)
    for task in tasks:
        host_port = task["ports"][n] if n < len(task["ports"]) else 0
        text += server.format(serverName=f"{task['host'].replace('.', '_')}_{host_port}", host_ipv4=task["host"],
                              port=host_port, cookieOptions="", healthCheckOptions="", otherOptions="")
    return frontend, text


def default_certificate(path: Path) -> None:
    """marathon-lb's ``run`` without ``--ssl-certs``: a self-signed RSA-2048 certificate for
    ``/CN=*/``, made with the same three openssl commands (an X.509 v1 certificate, 10 years)."""
    with tempfile.TemporaryDirectory(prefix="kexpose-mlb-cert-") as tmp:
        key, csr, cert = (Path(tmp) / n for n in ("server-key.pem", "server-csr.pem", "server-cert.pem"))
        for cmd in (["openssl", "genrsa", "-out", key, "2048"],
                    ["openssl", "req", "-new", "-key", key, "-out", csr, "-subj", "/CN=*/"],
                    ["openssl", "x509", "-req", "-in", csr, "-out", cert, "-signkey", key, "-days", "3650"]):
            subprocess.run(cmd, check=True, capture_output=True, timeout=60)
        path.write_text(cert.read_text() + key.read_text())
        path.chmod(0o600)


def save_server_state(socket_path: Path, state_file: Path) -> None:
    """What marathon-lb's ``reload_haproxy.sh`` does before each reload: ``show servers state``
    on the master socket into the state file the new workers load. The socket is reached through
    a short symlink (the sandbox path is longer than a Unix socket address may be); like the
    script's shell redirect, a failed query leaves an empty file."""
    data = b""
    with tempfile.TemporaryDirectory(prefix="kx-") as short:
        link = Path(short) / "s"
        link.symlink_to(socket_path)
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(5)
                sock.connect(str(link))
                sock.sendall(b"show servers state\n")
                data = b"".join(iter(lambda: sock.recv(65536), b""))
        except OSError:
            data = b""
    state_file.write_bytes(data)


class MarathonLbInstance:
    """One running marathon-lb task: watches Marathon, re-renders, reloads HAProxy."""

    def __init__(self, owner, task: dict[str, Any], app: dict[str, Any], agent: Agent):
        self.owner, self.task, self.app, self.agent = owner, task, app, agent
        root = agent_root(owner.state.config.state_dir, agent.name)
        self.sandbox = root / sandbox_path(agent.id, MARATHON_FRAMEWORK_ID, task["id"]).lstrip("/")
        self.sandbox.mkdir(parents=True, exist_ok=True)
        self.config_file = self.sandbox / "haproxy.cfg"
        self.run_dir, self.state_dir = self.sandbox / "run", self.sandbox / "state"
        self.rendered = ""
        self.stopping = threading.Event()

    def spec(self) -> ContainerSpec:
        ssl_dir = self.sandbox / "ssl"
        if not (ssl_dir / "cert.pem").exists():
            ssl_dir.mkdir(exist_ok=True)
            default_certificate(ssl_dir / "cert.pem")
        self.run_dir.mkdir(exist_ok=True)
        self.state_dir.mkdir(exist_ok=True)
        # DC/OS puts its CA bundle into every task sandbox; here it holds the Kubernetes CAs
        # (as when "Kubernetes is configured to use the DC/OS CA").
        dcos_ssl = self.sandbox / ".ssl"
        dcos_ssl.mkdir(exist_ok=True)
        (dcos_ssl / "ca-bundle.crt").write_text(self.owner.ca_bundle())
        return ContainerSpec(sandbox=self.sandbox, hosts_file=self.owner.hosts_file, volumes=[
            Volume(ssl_dir, "/etc/ssl"), Volume(self.sandbox, "/marathon-lb", read_only=False),
            Volume(dcos_ssl, "/mnt/mesos/sandbox/.ssl"), Volume(self.run_dir, SOCKET_DIR, read_only=False),
            Volume(self.state_dir, STATE_DIR, read_only=False)])

    def render(self) -> str:
        with self.owner.state.lock:
            return effective_config(render(self.owner.state, self.app), self.agent.address)

    def check(self, spec: ContainerSpec, candidate: Path) -> str | None:
        out = subprocess.run(spec.command(f"exec /usr/local/sbin/haproxy -c -f /marathon-lb/{candidate.name}"),
                             capture_output=True, text=True, timeout=15)
        return None if out.returncode == 0 else haproxy_errors(out.stdout + out.stderr)

    def start(self) -> str | None:
        spec = self.spec()
        config = self.render()
        self.config_file.write_text(config)
        problem = self.check(spec, self.config_file)
        if problem:
            return f"marathon-lb: haproxy rejected the generated config: {problem}"
        cmd = "exec /usr/local/sbin/haproxy -W -f /marathon-lb/haproxy.cfg"
        managed = self.owner.supervisor.start(self.task["id"], spec.command(cmd), self.sandbox / "stdout", self.owner.on_exit)
        code = wait_alive(managed, 0.2)
        if code is not None:
            return f"marathon-lb: haproxy exited with status {code}: {tail(self.sandbox / 'stdout')}"
        self.rendered = config
        threading.Thread(target=self.watch, name=f"marathon-lb-{self.task['id']}", daemon=True).start()
        return None

    def watch(self) -> None:
        spec = self.spec()
        while not self.stopping.wait(0.1):
            config = self.render()
            if config == self.rendered:
                continue
            candidate = self.sandbox / "haproxy.cfg.new"
            candidate.write_text(config)
            if self.check(spec, candidate):
                continue  # marathon-lb keeps serving the last good config
            candidate.replace(self.config_file)
            save_server_state(self.run_dir / "socket", self.state_dir / "global")
            self.owner.supervisor.signal(self.task["id"], signal.SIGUSR2)  # master-worker reload
            self.rendered = config


class MarathonLb:
    def __init__(self, state, supervisor: Supervisor, hosts_file: Path, ca_bundle: Callable[[], str]):
        self.state = state
        self.supervisor = supervisor
        self.hosts_file = hosts_file
        self.ca_bundle = ca_bundle
        self.instances: dict[str, MarathonLbInstance] = {}

    def install(self) -> None:
        self.state.marathon.runtimes.append((is_marathon_lb, self.run))
        self.state.marathon.task_listeners.append(self.on_task_state)

    def run(self, task: dict[str, Any], app: dict[str, Any], agent: Agent) -> str | None:
        try:
            self.state.cluster.reserve(agent.id, list(SERVICE_PORT_RANGE), task["id"])
        except ValueError as exc:
            return f"marathon-lb: {exc}"
        instance = MarathonLbInstance(self, task, app, agent)
        problem = instance.start()
        if problem is None:
            self.instances[task["id"]] = instance
        return problem

    def on_exit(self, task_id: str, code: int, output: str) -> None:
        instance = self.instances.pop(task_id, None)
        if instance is not None:
            instance.stopping.set()
        with self.state.lock:
            self.state.marathon.fail_task(task_id, f"marathon-lb haproxy exited with status {code}: {output}")
        self.state.save()

    def on_task_state(self, state: str, task: dict[str, Any], app: dict[str, Any] | None) -> None:
        if state in ("TASK_KILLING", "TASK_KILLED", "TASK_FAILED") and task["id"] in self.instances:
            self.instances.pop(task["id"]).stopping.set()
            self.supervisor.stop(task["id"])

    def resume(self) -> None:
        marathon = self.state.marathon
        for task in list(marathon.tasks.values()):
            rec = marathon.apps.get(task["appId"])
            if task["state"] == "TASK_RUNNING" and rec is not None and is_marathon_lb(rec["definition"]):
                problem = self.run(task, rec["definition"], self.state.cluster.agent(task["slaveId"]))
                if problem:
                    marathon.fail_task(task["id"], problem)

