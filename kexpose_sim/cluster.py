"""The simulated cluster: agents, Mesos frameworks and their tasks, and host-port bookkeeping.

This is the Mesos layer under Marathon and Edge-LB. A DC/OS Kubernetes service is a framework
whose tasks carry the names, port names and VIP real clusters have, so that Edge-LB selectors
and the seeds' naming rules work against it unchanged.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kexpose_sim import naming

DEFAULT_SEED: dict[str, Any] = {
    "agents": [
        {"name": "public-1", "public": True},
        {"name": "private-1", "public": False},
    ],
    "kubernetes": ["kubernetes", "dev/kubernetes01", "dev/kubernetes02"],
    "marathon_lb": False,  # true (or {env: {...}}): install Marathon-LB (group external) on a public agent
}

#: Mesos agents offer these ports by default (DC/OS: 1025-2180, 2182-3887, 3889-5049, 5052-8079,
#: 8082-8180, 8182-32000 on private agents; public agents offer 1-21, 23-5050, 5052-32000).
PUBLIC_PORTS = [(1, 21), (23, 5050), (5052, 32000)]
PRIVATE_PORTS = [(1025, 2180), (2182, 3887), (3889, 5049), (5052, 8079), (8082, 8180), (8182, 32000)]


class SeedError(ValueError):
    """The cluster seed file is malformed; the message names the key."""


@dataclass
class Agent:
    id: str
    name: str
    address: str  # a loopback address of its own, e.g. 127.81.23.1 (also its hostname)
    public: bool
    cpus: float = 4.0
    mem: float = 14000.0
    disk: float = 100_000.0
    gpus: int = 0
    port_ranges: list[tuple[int, int]] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def hostname(self) -> str:
        return self.address

    @property
    def role(self) -> str:
        return "slave_public" if self.public else "*"

    def offers_port(self, port: int) -> bool:
        return any(lo <= port <= hi for lo, hi in self.port_ranges)


@dataclass
class MesosTask:
    """A task of a non-Marathon framework (e.g. a DC/OS Kubernetes control-plane task)."""

    id: str
    name: str
    framework: str
    agent_id: str
    ports: dict[str, int] = field(default_factory=dict)  # port name -> host port
    state: str = "TASK_RUNNING"


@dataclass
class Framework:
    id: str
    name: str
    kind: str  # "kubernetes"
    tasks: list[MesosTask] = field(default_factory=list)

    @property
    def vip(self) -> str:
        return f"{naming.vip_name(self.name)}:6443"


@dataclass
class Cluster:
    agents: list[Agent]
    frameworks: list[Framework]
    #: host-port reservations: agent id -> {port: owner (task id)}
    reservations: dict[str, dict[int, str]] = field(default_factory=dict)
    #: VIP host name -> loopback address the l4lb emulation answers on
    vip_addresses: dict[str, str] = field(default_factory=dict)

    # -- queries ------------------------------------------------------------------------------
    def agent(self, agent_id: str) -> Agent:
        return next(a for a in self.agents if a.id == agent_id)

    def agent_by_host(self, host: str) -> Agent | None:
        return next((a for a in self.agents if a.hostname == host), None)

    def framework(self, name: str) -> Framework | None:
        return next((f for f in self.frameworks if f.name == name), None)

    def kubernetes_services(self) -> list[Framework]:
        return [f for f in self.frameworks if f.kind == "kubernetes"]

    def ports_in_use(self, agent_id: str) -> set[int]:
        return set(self.reservations.get(agent_id, {}))

    # -- host ports -----------------------------------------------------------------------------
    def reserve(self, agent_id: str, ports: list[int], owner: str) -> None:
        table = self.reservations.setdefault(agent_id, {})
        taken = [p for p in ports if p in table and table[p] != owner]
        if taken:
            raise ValueError(f"ports {taken} on agent {agent_id} are taken")
        for p in ports:
            table[p] = owner

    def release(self, owner: str) -> None:
        for table in self.reservations.values():
            for port in [p for p, o in table.items() if o == owner]:
                del table[port]

    def free_ports(self, agent: Agent, count: int, start: int = 31000) -> list[int] | None:
        """The lowest ``count`` free offered ports at or above ``start`` (Mesos-style dynamic ports)."""
        used = self.ports_in_use(agent.id)
        found: list[int] = []
        for lo, hi in agent.port_ranges:
            for port in range(max(lo, start), hi + 1):
                if port not in used:
                    found.append(port)
                    if len(found) == count:
                        return found
        return None if count else []

    # -- persistence ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "agents": [asdict(a) for a in self.agents],
            "frameworks": [asdict(f) for f in self.frameworks],
            "reservations": {a: {str(p): o for p, o in t.items()} for a, t in self.reservations.items()},
            "vip_addresses": self.vip_addresses,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cluster:
        agents = [Agent(**{**a, "port_ranges": [tuple(r) for r in a["port_ranges"]]}) for a in data["agents"]]
        frameworks = [
            Framework(**{**f, "tasks": [MesosTask(**t) for t in f["tasks"]]}) for f in data["frameworks"]
        ]
        reservations = {a: {int(p): o for p, o in t.items()} for a, t in data["reservations"].items()}
        return cls(agents, frameworks, reservations, data.get("vip_addresses", {}))


def load_seed(path: Path | None) -> dict[str, Any]:
    """The seed as a dict: from a YAML/JSON file, or the default cluster."""
    if path is None:
        return DEFAULT_SEED
    try:
        text = Path(path).read_text()
        data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise SeedError(f"cannot read seed file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise SeedError(f"seed file {path}: expected a mapping with keys 'agents' and 'kubernetes'")
    return data


def build_cluster(seed: dict[str, Any], network: str) -> Cluster:
    """A fresh cluster from a seed: agents at ``<network>.1..N``, Kubernetes services with their
    control-plane tasks on the first private agent, and a VIP address per service."""
    agents_seed = seed.get("agents", DEFAULT_SEED["agents"])
    if not isinstance(agents_seed, list) or not agents_seed:
        raise SeedError("seed key 'agents' must be a non-empty list, e.g. [{name: public-1, public: true}]")
    agents = []
    cluster_id = str(uuid.uuid4())
    for i, spec in enumerate(agents_seed, start=1):
        if not isinstance(spec, dict) or "name" not in spec:
            raise SeedError(f"seed key 'agents[{i - 1}]' needs a 'name', e.g. {{name: public-1, public: true}}")
        public = bool(spec.get("public", False))
        agents.append(
            Agent(
                id=f"{cluster_id}-S{i - 1}",
                name=str(spec["name"]),
                address=f"{network}.{i}",
                public=public,
                cpus=float(spec.get("cpus", 4.0)),
                mem=float(spec.get("mem", 14000.0)),
                disk=float(spec.get("disk", 100_000.0)),
                gpus=int(spec.get("gpus", 0)),
                port_ranges=[tuple(r) for r in spec.get("ports", PUBLIC_PORTS if public else PRIVATE_PORTS)],
                attributes={str(k): str(v) for k, v in (spec.get("attributes") or {}).items()},
            )
        )
    private = [a for a in agents if not a.public]
    services = seed.get("kubernetes", DEFAULT_SEED["kubernetes"])
    if not isinstance(services, list):
        raise SeedError("seed key 'kubernetes' must be a list of service names, e.g. [kubernetes, dev/kubernetes01]")
    if services and not private:
        raise SeedError("seed: Kubernetes services need at least one private agent (public: false)")
    cluster = Cluster(agents, [])
    for n, name in enumerate(services):
        name = naming.normalize_service_name(str(name))
        agent = private[n % len(private)]
        fw = Framework(id=f"{uuid.uuid4()}-0001", name=name, kind="kubernetes")
        for task_name, ports in (("kube-control-plane-0-instance", {}), ("kube-apiserver-0-instance", None)):
            task_ports = ports if ports is not None else {"apiserver": cluster.free_ports(agent, 1, start=6443)[0]}
            task = MesosTask(
                id=f"{naming.task_prefix(name)}__{task_name}__{uuid.uuid4()}",
                name=task_name,
                framework=name,
                agent_id=agent.id,
                ports=task_ports,
            )
            cluster.reserve(agent.id, list(task_ports.values()), task.id)
            fw.tasks.append(task)
        cluster.frameworks.append(fw)
        cluster.vip_addresses[naming.vip_name(name)] = f"{network}.{200 + n}"
    return cluster
