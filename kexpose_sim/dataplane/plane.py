"""DataPlane: everything that really runs for a simulated cluster, started and stopped together."""

from __future__ import annotations

from pathlib import Path

from kexpose_sim import naming
from kexpose_sim.dataplane.container import supported
from kexpose_sim.dataplane.edgelb_pools import EdgeLbPools
from kexpose_sim.dataplane.haproxy_tasks import HaproxyTasks
from kexpose_sim.dataplane.kubernetes import KubernetesControlPlanes
from kexpose_sim.dataplane.marathonlb import MarathonLb
from kexpose_sim.dataplane.sshd import AgentSshd
from kexpose_sim.dataplane.supervisor import Supervisor


class DataPlaneUnavailable(RuntimeError):
    """This machine cannot run the data plane (the message says why)."""


def write_hosts_file(state, path: Path) -> None:
    """The containers' /etc/hosts: l4lb VIP names -> the simulated apiservers' VIP addresses."""
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    for fw in state.cluster.kubernetes_services():
        vip = naming.vip_name(fw.name)
        lines.append(f"{state.cluster.vip_addresses[vip]}\t{vip}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


class DataPlane:
    def __init__(self, state):
        reason = supported()
        if reason:
            raise DataPlaneUnavailable(f"{reason}; run with --no-dataplane for the APIs alone")
        self.state = state
        self.supervisor = Supervisor()
        self.sshd = AgentSshd(state, self.supervisor)
        self.hosts_file = Path(state.config.state_dir) / "dataplane" / "hosts"
        write_hosts_file(state, self.hosts_file)
        self.kubernetes = KubernetesControlPlanes(state)
        self.haproxy_tasks = HaproxyTasks(state, self.supervisor, self.hosts_file)
        self.marathon_lb = MarathonLb(state, self.supervisor, self.hosts_file,
                                      lambda: "".join(i.ca.cert_pem for i in self.kubernetes.identities.values()))
        self.edgelb_pools = EdgeLbPools(state, self.supervisor, self.hosts_file)

    def start(self) -> None:
        self.kubernetes.start()
        self.sshd.start()
        self.haproxy_tasks.install()
        self.marathon_lb.install()
        with self.state.lock:
            self.haproxy_tasks.resume()
            self.marathon_lb.resume()
        self.state.save()
        self.edgelb_pools.start()

    def stop(self) -> None:
        self.edgelb_pools.stop()
        self.sshd.stop()  # before stop_all: it finds open sessions through the listeners' pids
        self.supervisor.stop_all()
        self.kubernetes.stop()
