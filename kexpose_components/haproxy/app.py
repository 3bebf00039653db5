"""The Marathon app that runs the standalone HAProxy on public agents.

What the seeds' hand-written app gets wrong, fixed here:
- it is pinned to exactly the agents that received the config files (``hostname`` IS/LIKE plus
  UNIQUE), so it can never land on an agent without them and crash-loop;
- the upgrade strategy stops the old task before starting the new one
  (``minimumHealthCapacity: 0, maximumOverCapacity: 0``): with a fixed host port on each agent,
  Marathon's default (start new first) can never place the new task — a deadlock;
- a label carries the hash of the config and every file it references, so any change rolls
  the task and HAProxy reads the new files;
- a current HAProxy image instead of 1.7/1.8.
"""

from __future__ import annotations

import re
from typing import Any

DEFAULT_IMAGE = "haproxy:2.8"
#: Where the config and certificates live on each public agent, unless the stack says otherwise.
DEFAULT_HOST_DIR = "/opt/kexpose/haproxy"
CONFIG_HASH_LABEL = "KEXPOSE_CONFIG_SHA256"


def hosts_constraint(hosts: list[str]) -> list[list[str]]:
    """Constraints that allow exactly these agents, one task each."""
    if len(hosts) == 1:
        return [["hostname", "IS", hosts[0]], ["hostname", "UNIQUE"]]
    return [["hostname", "LIKE", "|".join(re.escape(h) for h in sorted(hosts))], ["hostname", "UNIQUE"]]


def standalone_app(app_id: str, hosts: list[str], host_dir: str, port: int, config_hash: str,
                   container_dir: str = "/haproxy", image: str = DEFAULT_IMAGE,
                   cpus: float = 0.1, mem: float = 128, more_configs: tuple[str, ...] = ()) -> dict[str, Any]:
    """The Marathon definition of an HAProxy reading ``<host_dir>/haproxy.cfg`` (then each of
    ``more_configs`` in that directory) on each of ``hosts``."""
    files = ("haproxy.cfg", *more_configs)
    return {
        "id": app_id,
        "instances": len(hosts),
        "cpus": cpus,
        "mem": mem,
        "cmd": "/usr/local/sbin/haproxy " + " ".join(f"-f {container_dir}/{f}" for f in files),
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
        "labels": {CONFIG_HASH_LABEL: config_hash, "KEXPOSE_MANAGED": "true"},
    }
