"""The servers an Edge-LB backend lists: what dcos-template resolves from Mesos and Marathon state.

A service selects tasks by Mesos framework/task name or id (exact or Go regexp) or by Marathon
app id, and an endpoint picks their ports by name (or all of them); ``ADDRESS`` endpoints name a
host directly (l4lb VIP names resolve to the simulated VIP addresses).
"""

from __future__ import annotations

import re
from typing import Any

from kexpose_sim.edgelb.lbconfig import Server


def _search(pattern: str, value: str) -> bool:
    """Go's ``regexp.MatchString``: unanchored; a pattern that does not compile selects nothing."""
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return False


def _selected(sel: dict[str, str], exact: str, pattern: str, value: str) -> bool:
    """A selector pair (e.g. ``taskName``/``taskNamePattern``): every field that is set must match."""
    return (not sel.get(exact) or sel[exact] == value) and (not sel.get(pattern) or _search(sel[pattern], value))


class ServerResolver:
    """Resolves a backend service to its servers, from the simulator's current state."""

    def __init__(self, state) -> None:
        self.state = state

    def servers(self, service: dict[str, Any]) -> list[Server]:
        """The servers ``service`` selects right now (running tasks only)."""
        endpoint = service["endpoint"]
        if endpoint["type"] == "ADDRESS":
            host = self.state.cluster.vip_addresses.get(endpoint["address"], endpoint["address"])
            return [Server(f"address_{endpoint['address']}_{endpoint['port']}", f"{host}:{endpoint['port']}")]
        prefix = "containerip" if endpoint["type"] == "CONTAINER_IP" else "agentip"
        hosts_ports = self._mesos_ports(service["mesos"], endpoint) if any(service["mesos"].values()) \
            else self._marathon_ports(service["marathon"], endpoint)
        return [Server(f"{prefix}_{host}_{port}", f"{host}:{port}") for host, port in hosts_ports]

    def _mesos_ports(self, sel: dict[str, str], endpoint: dict[str, Any]) -> list[tuple[str, int]]:
        cluster = self.state.cluster
        found = []
        for fw in cluster.frameworks:
            if not (_selected(sel, "frameworkName", "frameworkNamePattern", fw.name)
                    and _selected(sel, "frameworkID", "frameworkIDPattern", fw.id)):
                continue
            for task in fw.tasks:
                if task.state != "TASK_RUNNING" or not (_selected(sel, "taskName", "taskNamePattern", task.name)
                                                        and _selected(sel, "taskID", "taskIDPattern", task.id)):
                    continue
                address = cluster.agent(task.agent_id).address
                found += [(address, port) for name, port in task.ports.items()
                          if endpoint.get("allPorts") or name == endpoint.get("portName")]
        return found

    def _marathon_ports(self, sel: dict[str, str], endpoint: dict[str, Any]) -> list[tuple[str, int]]:
        marathon = self.state.marathon
        wanted = "/" + sel.get("serviceID", "").strip("/")
        found = []
        for app_id, app in marathon.apps.items():
            if (sel.get("serviceID") and app_id != wanted) or \
                    (sel.get("serviceIDPattern") and not _search(sel["serviceIDPattern"], app_id)):
                continue
            definition = app["definition"]
            ports = definition.get("portDefinitions") or definition.get("container", {}).get("portMappings", [])
            names = [p.get("name") for p in ports]
            for task in marathon.app_tasks(app_id):
                if task["state"] != "TASK_RUNNING":
                    continue
                found += [(task["host"], port) for i, port in enumerate(task["ports"])
                          if endpoint.get("allPorts") or (i < len(names) and names[i] == endpoint.get("portName"))]
        return found
