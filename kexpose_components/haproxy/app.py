"""The Marathon app that runs the standalone HAProxy on public agents.

What the seeds' hand-written app gets wrong, fixed here:
- it is pinned to exactly the agents that received the config files (``hostname`` IS/LIKE plus
  UNIQUE), so it can never land on an agent without them and crash-loop;
- the upgrade strategy stops the old task before starting the new one
  (``minimumHealthCapacity: 0, maximumOverCapacity: 0``): with a fixed host port on each agent,
  Marathon's default (start new first) can never place the new task — a deadlock;
- HAProxy runs under kexpose's reloader (``reload``) in master-worker mode, so a new config or
  certificate is loaded in place, without a restart: nothing about the config is in the app, and
  only a change to the app itself (image, port, agents, the reloader, which a label carries the
  digest of) restarts its tasks;
- a current HAProxy image instead of 1.7/1.8.
"""

from __future__ import annotations

import re
from typing import Any

from kexpose_components.haproxy.reload import reloader_command, reloader_digest

DEFAULT_IMAGE = "haproxy:2.8"
#: Where the config and certificates live on each public agent, unless the stack says otherwise.
DEFAULT_HOST_DIR = "/opt/kexpose/haproxy"
RELOADER_LABEL = "KEXPOSE_RELOADER_SHA256"


def hosts_constraint(hosts: list[str]) -> list[list[str]]:
    """Constraints that allow exactly these agents, one task each."""
    if len(hosts) == 1:
        return [["hostname", "IS", hosts[0]], ["hostname", "UNIQUE"]]
    return [["hostname", "LIKE", "|".join(re.escape(h) for h in sorted(hosts))], ["hostname", "UNIQUE"]]


def standalone_app(app_id: str, hosts: list[str], host_dir: str, port: int, container_dir: str = "/haproxy",
                   image: str = DEFAULT_IMAGE, cpus: float = 0.1, mem: float = 128) -> dict[str, Any]:
    """The Marathon definition of an HAProxy reading every ``*.cfg`` file of ``host_dir``
    (``haproxy.cfg``, ``stats.cfg``) on each of ``hosts``, reloaded in place by the reloader."""
    return {
        "id": app_id,
        "instances": len(hosts),
        "cpus": cpus,
        "mem": mem,
        "cmd": reloader_command(container_dir),
        "acceptedResourceRoles": ["slave_public"],
        "constraints": hosts_constraint(hosts),
        "container": {
            "type": "MESOS",
            "docker": {"image": image, "forcePullImage": False},
            "volumes": [{"containerPath": container_dir, "hostPath": host_dir, "mode": "RO"}],
        },
        "networks": [{"mode": "host"}],
        "portDefinitions": [{"port": port, "protocol": "tcp", "name": "apiserver"}],
        "requirePorts": True,
        "upgradeStrategy": {"minimumHealthCapacity": 0, "maximumOverCapacity": 0},
        "labels": {RELOADER_LABEL: reloader_digest(), "KEXPOSE_MANAGED": "true"},
    }
