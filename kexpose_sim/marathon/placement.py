"""Where a Marathon task can go: the offer matching Mesos offers allow (roles, constraints,
cpu/mem, host ports). Pure functions over the cluster and the tasks already placed."""

from __future__ import annotations

import re
from typing import Any, Iterable

from kexpose_sim.cluster import Agent, Cluster

Definition = dict[str, Any]


def place(app: Definition, cluster: Cluster, peers: list[dict[str, Any]],
          running: Iterable[tuple[str, Definition]]) -> tuple[Agent, list[int]] | None:
    """The first agent whose offer fits the app: role, constraints, resources, host ports.
    ``peers`` are the app's own tasks, ``running`` (agent id, definition) for every placed task.
    Without acceptedResourceRoles only unreserved (``*``) resources are used, so the app
    never lands on a public agent (DC/OS: ACCEPTED_RESOURCE_ROLES_DEFAULT_BEHAVIOR=unreserved)."""
    roles = app.get("acceptedResourceRoles") or ["*"]
    running = list(running)
    for agent in cluster.agents:
        if agent.role not in roles:
            continue
        if not all(_constraint_allows(c, agent, peers, cluster) for c in app.get("constraints", [])):
            continue
        if not _resources_fit(app, agent, [d for agent_id, d in running if agent_id == agent.id]):
            continue
        ports = _host_ports(app, agent, cluster)
        if ports is not None:
            return agent, ports
    return None


def _resources_fit(app: Definition, agent: Agent, used: list[Definition]) -> bool:
    cpus = sum(a["cpus"] for a in used) + app["cpus"]
    mem = sum(a["mem"] for a in used) + app["mem"]
    return cpus <= agent.cpus + 1e-9 and mem <= agent.mem + 1e-9


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
