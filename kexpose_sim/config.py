"""Simulator configuration: timings, auth, and where state lives."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Timing:
    """How long simulated things take. Defaults are small so tests run fast; real clusters take
    seconds to minutes (``--deploy-seconds`` and ``--pool-ready-seconds`` make it realistic)."""

    task_launch: float = 0.05  # TASK_STAGING -> TASK_RUNNING
    task_kill: float = 0.02  # kill requested -> TASK_KILLED
    health_grace: float = 0.05  # TASK_RUNNING -> first healthy check result
    pool_ready: float = 0.3  # Edge-LB pool created -> tasks up, lbconfig rendered
    pool_reload: float = 0.1  # haproxy-only change -> reloaded
    pool_app_removal: float = 0.2  # pool deleted -> its Marathon app gone
    tick: float = 0.02  # background runner period


def random_agent_network() -> str:
    """A /24 inside 127/8 for this simulator's agents, so parallel simulators never share
    an address (and so never fight over a port)."""
    return f"127.{random.randint(64, 250)}.{random.randint(1, 250)}"


@dataclass
class SimConfig:
    state_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    auth: str = "dcos"  # "dcos": Admin Router checks tokens; "none": open cluster
    edgelb_service: str = "edgelb"  # /service/<edgelb_service>/...
    timing: Timing = field(default_factory=Timing)
    seed_file: Path | None = None
    #: local users (uid -> password). DC/OS dev clusters traditionally ship bootstrapuser.
    users: dict[str, str] = field(default_factory=lambda: {"bootstrapuser": "deleteme"})
    #: service accounts (uid -> RS256 public key PEM)
    service_accounts: dict[str, str] = field(default_factory=dict)
    #: authenticated uids that Admin Router must refuse with 403
    forbidden_uids: set[str] = field(default_factory=set)
    #: first three octets of the agents' loopback addresses; chosen at first start, then kept
    agent_network: str | None = None
    #: DC/OS 2.1 ships Marathon 1.10 and Mesos 1.10; Edge-LB 1.5 supports it
    dcos_version: str = "2.1.3"
    mesos_version: str = "1.10.1"
    cluster_name: str = "kexpose-sim"
    #: Admin Router over HTTPS with the simulator's own CA, the certificate valid for ``host`` and these names
    tls: bool = False
    tls_names: tuple[str, ...] = ("master.mesos", "localhost")
    marathon_version: str = "1.10.6"
    edgelb_version: str = "1.5.1"
    #: Marathon features; "secrets" is on in DC/OS Enterprise
    marathon_features: tuple[str, ...] = ("vips", "task_killing", "external_volumes", "gpu_resources", "secrets")

    @property
    def master_ip(self) -> str:
        """The master's address as cluster services report it (a wildcard bind reports loopback)."""
        return "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host

    @property
    def dcos_variant(self) -> str:
        """``enterprise`` with Admin Router's IAM (Edge-LB, secrets and service accounts are
        Enterprise features); an open cluster (``auth: none``) is ``open``."""
        return "enterprise" if self.auth == "dcos" else "open"
