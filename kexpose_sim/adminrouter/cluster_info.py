"""What the DC/OS components around the services tell a client about the cluster (no HTTP here).

These are the calls DC/OS tooling makes first — ``dcos cluster setup``, connectivity probes,
dashboards — answered with the real shapes and the simulated cluster's own data:

- Admin Router's ``/metadata`` (public IP, the cluster id kept with the state);
- ``/dcos-metadata/dcos-version.json`` (version, variant, image commit, bootstrap id);
- the IAM's login providers (``/acs/api/v1/auth/providers``);
- Mesos-DNS' ``/mesos_dns/v1/hosts/<name>``;
- dcos-diagnostics' ``/system/health/v1/nodes``.
"""

from __future__ import annotations

import hashlib
from typing import Any

LOGIN_URL = "/acs/api/v1/auth/login"
#: Names Mesos-DNS resolves to the (single) master.
MASTER_NAMES = ("master.mesos", "leader.mesos")


def metadata(state) -> dict[str, str]:
    return {"PUBLIC_IPV4": state.config.master_ip, "CLUSTER_ID": state.cluster_id}


def _stable_hex(*parts: str) -> str:
    """A 40-hex id that stays the same for the same version (a build's commit and bootstrap id)."""
    return hashlib.sha1(":".join(("kexpose-sim", *parts)).encode()).hexdigest()


def dcos_version(state) -> dict[str, str]:
    config = state.config
    return {
        "version": config.dcos_version,
        "dcos-variant": config.dcos_variant,
        "dcos-image-commit": _stable_hex("dcos-image", config.dcos_version),
        "bootstrap-id": _stable_hex("bootstrap", config.dcos_version, config.dcos_variant),
    }


def auth_providers(state) -> dict[str, Any]:
    """The login methods: uid and password, and service accounts' RS256 login token (Enterprise);
    an open cluster (no IAM) offers none."""
    if state.config.auth == "none":
        return {}
    return {
        "dcos-users": {"authentication-type": "dcos-uid-password", "description": "Default DC/OS login provider",
                       "client-method": "dcos-usercredential-post-receive-authtoken",
                       "config": {"start_flow_url": LOGIN_URL}},
        "dcos-services": {"authentication-type": "dcos-uid-servicekey", "description": "Default DC/OS login provider",
                          "client-method": "dcos-servicecredential-post-receive-authtoken",
                          "config": {"start_flow_url": LOGIN_URL}},
    }


def dns_hosts(state, name: str) -> list[dict[str, str]]:
    """Mesos-DNS' A records for ``name``: the master for ``master.mesos``/``leader.mesos``, an
    agent for its hostname; an unknown name answers one empty record, as Mesos-DNS does."""
    bare = name.rstrip(".")
    if bare in MASTER_NAMES:
        return [{"host": f"{bare}.", "ip": state.config.master_ip}]
    agent = state.cluster.agent_by_host(bare)
    if agent is not None:
        return [{"host": f"{bare}.", "ip": agent.address}]
    return [{"host": "", "ip": ""}]


def health_nodes(state) -> dict[str, list[dict[str, Any]]]:
    """Every node healthy (``health`` 0), with its role as dcos-diagnostics names it."""
    nodes = [{"host_ip": state.config.master_ip, "health": 0, "role": "master"}]
    nodes += [{"host_ip": a.address, "health": 0, "role": "agent_public" if a.public else "agent"}
              for a in state.cluster.agents]
    return {"nodes": nodes}
