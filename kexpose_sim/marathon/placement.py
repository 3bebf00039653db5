"""Where a Marathon task can go: the offer matching Mesos offers allow, with Marathon's reasons.

Each agent stands for one offer of its free resources. An offer is declined for the reasons
Marathon's matcher names (``NoOfferMatchReason``): the agent's role, the app's constraints, then
cpus, mem, disk, gpus and host ports. ``FUNNEL`` is Marathon's order for summaries: an unused
offer counts once, for its first reason in that order. Pure functions over the cluster and the
tasks already placed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from kexpose_sim.cluster import Agent, Cluster

Definition = dict[str, Any]

#: Marathon's reason funnel (``NoOfferMatchReason.reasonFunnel``).
FUNNEL = ("UnfulfilledRole", "UnfulfilledConstraint", "NoCorrespondingReservationFound", "AgentMaintenance",
          "InsufficientCpus", "InsufficientMemory", "InsufficientDisk", "InsufficientGpus", "InsufficientPorts",
          "DeclinedScarceResources")
_SCALARS = (("cpus", "cpus", "InsufficientCpus"), ("mem", "mem", "InsufficientMemory"),
            ("disk", "disk", "InsufficientDisk"), ("gpus", "gpus", "InsufficientGpus"))


@dataclass(frozen=True)
class OfferMatch:
    """One agent's offer evaluated for an app: the host ports it gets, or why it was declined."""

    agent: Agent
    ports: list[int] | None = None
    reasons: tuple[str, ...] = ()
    #: what the offer held: free cpus/mem/disk/gpus on the agent
    free: dict[str, float] = field(default_factory=dict)

    @property
    def used(self) -> bool:
        return not self.reasons


def evaluate(app: Definition, agent: Agent, cluster: Cluster, peers: list[dict[str, Any]],
             running: list[tuple[str, Definition]]) -> OfferMatch:
    """Whether ``agent``'s offer fits ``app``. Without acceptedResourceRoles only unreserved
    (``*``) resources are used, so the app never lands on a public agent (DC/OS:
    ACCEPTED_RESOURCE_ROLES_DEFAULT_BEHAVIOR=unreserved); an offer of another role is declined
    for that alone, as none of its resources could be used."""
    used = [d for agent_id, d in running if agent_id == agent.id]
    free = {key: getattr(agent, attr) - sum(d.get(key, 0) for d in used) for key, attr, _ in _SCALARS}
    roles = app.get("acceptedResourceRoles") or ["*"]
    if agent.role not in roles:
        return OfferMatch(agent, reasons=("UnfulfilledRole",), free=free)
    reasons = []
    if not all(_constraint_allows(c, agent, peers, cluster) for c in app.get("constraints", [])):
        reasons.append("UnfulfilledConstraint")
    reasons += [reason for key, _, reason in _SCALARS if app.get(key, 0) > free[key] + 1e-9]
    ports = _host_ports(app, agent, cluster)
    if ports is None:
        reasons.append("InsufficientPorts")
    if agent.gpus and not app.get("gpus") and app["labels"].get("GPU_SCHEDULING_BEHAVIOR") != "unrestricted":
        reasons.append("DeclinedScarceResources")  # GPU agents are kept for GPU apps
    return OfferMatch(agent, None if reasons else ports, tuple(reasons), free)


def place(app: Definition, cluster: Cluster, peers: list[dict[str, Any]],
          running: Iterable[tuple[str, Definition]]) -> list[OfferMatch]:
    """The agents' offers in order, up to the first that fits (the last entry, when one does).
    ``peers`` are the app's own tasks, ``running`` (agent id, definition) for every placed task."""
    running = list(running)
    matches = []
    for agent in cluster.agents:
        matches.append(evaluate(app, agent, cluster, peers, running))
        if matches[-1].used:
            break
    return matches


def _host_ports(app: dict[str, Any], agent: Agent, cluster: Cluster) -> list[int] | None:
    """The host ports a task of ``app`` gets on ``agent`` (None if they are not all free):
    host networking reserves one per port definition (the definitions' own ports with
    requirePorts), bridge mappings their hostPort (0 = dynamic)."""
    if "portDefinitions" in app:
        wanted = [pd["port"] if app["requirePorts"] else 0 for pd in app["portDefinitions"]]
    else:
        wanted = [pm["hostPort"] for pm in app.get("container", {}).get("portMappings", []) if "hostPort" in pm]
    fixed = [p for p in wanted if p]
    used = cluster.ports_in_use(agent.id)
    if any(p in used or not agent.offers_port(p) for p in fixed):
        return None
    dynamic = cluster.free_ports(agent, len(wanted) - len(fixed))
    if dynamic is None:
        return None
    it = iter(dynamic)
    return [p if p else next(it) for p in wanted]


def _constraint_allows(c: list[str], agent: Agent, peers: list[dict[str, Any]], cluster: Cluster) -> bool:
    """Whether ``agent`` satisfies one constraint, given the app's other tasks ``peers``."""
    field, op = c[0], c[1]
    value = c[2] if len(c) > 2 else None

    def attr(a: Agent) -> str | None:
        return a.hostname if field in ("hostname", "@hostname") else a.attributes.get(field)

    mine = attr(agent)
    placed = [attr(cluster.agent(t["slaveId"])) for t in peers]
    if op == "UNLIKE":
        return mine is None or re.fullmatch(value, mine) is None
    if mine is None:
        return False
    if op == "UNIQUE":
        return mine not in placed
    if op == "CLUSTER":
        return mine == value if value else (not placed or mine == placed[0])
    if op == "IS":
        return mine == value
    if op == "LIKE":
        return re.fullmatch(value, mine) is not None
    if op == "MAX_PER":
        return placed.count(mine) < int(value)
    return True  # GROUP_BY: spreading is best effort
