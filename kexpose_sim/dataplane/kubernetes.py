"""The simulated DC/OS Kubernetes services' control planes.

Per service (persisted under ``<state>/kubernetes/<service>``): a CA, an apiserver certificate
for the VIP name and addresses, and a bearer token. The CA is also written as ``ca-crt.pem``
into the sandbox of the service's ``kube-control-plane-0-instance`` task on its agent's
filesystem — where ``dcos task exec <task> cat ca-crt.pem`` finds it — and the apiserver
listens on the ``kube-apiserver`` task's address (what Edge-LB selects) and on the service's
VIP address (what ``apiserver.<service>.l4lb.thisdcos.directory`` resolves to).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from kexpose_sim import naming
from kexpose_sim.cluster import Framework
from kexpose_sim.dataplane.apiserver import ApiServerIdentity, KubeApiServer
from kexpose_sim.dataplane.kube_objects import KubeCluster
from kexpose_sim.dataplane.pki import KeyPair, issue, new_ca


def agent_root(state_dir: Path, agent_name: str) -> Path:
    """An agent's filesystem root, as the simulator exposes it."""
    return Path(state_dir) / "agents" / agent_name / "root"


def sandbox_path(agent_id: str, framework_id: str, executor_id: str) -> str:
    """A Mesos task sandbox path on its agent (absolute, agent-side)."""
    return f"/var/lib/mesos/slave/slaves/{agent_id}/frameworks/{framework_id}/executors/{executor_id}/runs/latest"


class KubernetesControlPlanes:
    def __init__(self, state):
        self.state = state
        self.identities: dict[str, ApiServerIdentity] = {}
        self.servers: list[KubeApiServer] = []
        for fw in state.cluster.kubernetes_services():
            self.identities[fw.name] = self._identity(fw)
            self._place_ca(fw)

    def _dir(self, service: str) -> Path:
        d = Path(self.state.config.state_dir) / "kubernetes" / service.replace("/", ".")
        d.mkdir(parents=True, exist_ok=True)
        return d

    def _identity(self, fw: Framework) -> ApiServerIdentity:
        d = self._dir(fw.name)
        if (d / "token").exists():
            return ApiServerIdentity(fw.name, KeyPair.read(d / "ca.pem", d / "ca-key.pem"),
                                     KeyPair.read(d / "server.pem", d / "server-key.pem"), (d / "token").read_text())
        ca = new_ca(f"kubernetes-ca {fw.name}")
        names = [naming.vip_name(fw.name), "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                 f"apiserver.{naming.task_prefix(fw.name)}.mesos", *self._addresses(fw)]
        server = issue(ca, "kube-apiserver", names)
        token = secrets.token_urlsafe(32)
        ca.write(d / "ca.pem", d / "ca-key.pem")
        server.write(d / "server.pem", d / "server-key.pem")
        (d / "token").write_text(token)
        (d / "token").chmod(0o600)
        return ApiServerIdentity(fw.name, ca, server, token)

    def _addresses(self, fw: Framework) -> list[str]:
        task = self._task(fw, "kube-apiserver-0-instance")
        return [self.state.cluster.agent(task.agent_id).address, self.state.cluster.vip_addresses[naming.vip_name(fw.name)]]

    @staticmethod
    def _task(fw: Framework, name: str):
        return next(t for t in fw.tasks if t.name == name)

    def _place_ca(self, fw: Framework) -> None:
        task = self._task(fw, "kube-control-plane-0-instance")
        agent = self.state.cluster.agent(task.agent_id)
        sandbox = agent_root(self.state.config.state_dir, agent.name) / sandbox_path(agent.id, fw.id, task.id).lstrip("/")
        sandbox.mkdir(parents=True, exist_ok=True)
        (sandbox / "ca-crt.pem").write_text(self.identities[fw.name].ca.cert_pem)

    def start(self) -> None:
        cluster = self.state.cluster
        for fw in cluster.kubernetes_services():
            task = self._task(fw, "kube-apiserver-0-instance")
            node_address = cluster.agent(task.agent_id).address
            addresses = [(node_address, task.ports["apiserver"]), (cluster.vip_addresses[naming.vip_name(fw.name)], 6443)]
            contents = KubeCluster(fw.name, node_address)
            self.servers.append(KubeApiServer(self.identities[fw.name], addresses, contents).start())

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers.clear()

    def describe(self) -> list[dict[str, Any]]:
        cluster = self.state.cluster
        out = []
        for fw in cluster.kubernetes_services():
            identity = self.identities[fw.name]
            task = self._task(fw, "kube-apiserver-0-instance")
            out.append({
                "name": fw.name, "vip": fw.vip, "vip_address": cluster.vip_addresses[naming.vip_name(fw.name)],
                "task_address": f"{cluster.agent(task.agent_id).address}:{task.ports['apiserver']}",
                "ca": identity.ca.cert_pem, "token": identity.token,
            })
        return out
