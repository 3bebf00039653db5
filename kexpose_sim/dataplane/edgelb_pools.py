"""Edge-LB pools, running: a real HAProxy per pool instance, from the pool's ``lbconfig``.

While a pool is ``READY`` (or ``RELOADING``: the old config keeps serving until the reload lands)
each placed instance runs HAProxy in a container on its agent, with the pool's sandbox (where
``$AUTOCERT`` and secrets live) mounted at the same path. A reload is HAProxy's master-worker
reload (SIGUSR2, no dropped listeners); a relaunch restarts the process; a deleted pool's HAProxy
stops. ``$AUTOCERT`` is a self-signed certificate, as Edge-LB's is. The pool's secrets are
written to ``$SECRETS/<file>`` (mode 0600) before HAProxy starts or reloads; a secret's new
version is a reload too (the model moves the pool through ``RELOADING`` first).
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

from kexpose_sim.dataplane.container import ContainerSpec, Volume
from kexpose_sim.dataplane.haproxy_tasks import effective_config
from kexpose_sim.dataplane.pki import issue
from kexpose_sim.dataplane.supervisor import Supervisor

LIVE_STATUSES = ("READY", "RELOADING")


class EdgeLbPools:
    def __init__(self, state, supervisor: Supervisor, hosts_file: Path):
        self.state = state
        self.supervisor = supervisor
        self.hosts_file = hosts_file
        self.running: dict[str, tuple[str, str]] = {}  # instance key -> (config, secret versions) its HAProxy runs
        self.stopping = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self.watch, name="kexpose-sim-edgelb-pools", daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()

    def desired(self) -> dict[str, dict[str, Any]]:
        """instance key -> what should run, from the pools' state."""
        out = {}
        with self.state.lock:
            for name, record in self.state.edgelb.pools.items():
                if record.status not in LIVE_STATUSES or record.rendered is None:
                    continue
                config = self.state.edgelb.lbconfig(name)
                secrets = self.state.edgelb.secret_files(name)
                versions = json.dumps(record.secret_versions, sort_keys=True)
                for instance in record.instances:
                    out[f"edgelb/{name}/{instance.index}"] = {
                        "config": effective_config(config, instance.address), "sandbox": Path(record.sandbox),
                        "secrets": secrets, "versions": versions}
        return out

    def watch(self) -> None:
        while not self.stopping.wait(0.1):
            wanted = self.desired()
            for key in [k for k in self.running if k not in wanted]:
                self.supervisor.stop(key)
                del self.running[key]
            for key, spec in wanted.items():
                current = self.running.get(key)
                if current == (spec["config"], spec["versions"]) and self.supervisor.running(key):
                    continue
                self.apply(key, spec, reload=current is not None and self.supervisor.running(key))

    def apply(self, key: str, spec: dict[str, Any], reload: bool) -> None:
        sandbox: Path = spec["sandbox"]
        instance_dir = sandbox / "instances" / key.rsplit("/", 1)[1]
        instance_dir.mkdir(parents=True, exist_ok=True)
        autocert = sandbox / "autocert.pem"
        if not autocert.exists():
            pair = issue(None, "edgelb-autocert", ["localhost"])
            autocert.write_text(pair.cert_pem + pair.key_pem)
        write_secrets(sandbox / "secrets", spec["secrets"])
        (instance_dir / "haproxy.cfg").write_text(spec["config"])
        if reload:
            self.supervisor.signal(key, signal.SIGUSR2)
        else:
            container = ContainerSpec(sandbox=instance_dir, hosts_file=self.hosts_file,
                                      volumes=[Volume(sandbox, str(sandbox), read_only=False)])
            cmd = f"exec /usr/local/sbin/haproxy -W -f {instance_dir / 'haproxy.cfg'}"
            self.supervisor.start(key, container.command(cmd), instance_dir / "stdout")
        self.running[key] = (spec["config"], spec["versions"])


def write_secrets(directory: Path, files: dict[str, str]) -> None:
    """``$SECRETS``: one file per secret, readable by its owner only, replaced atomically so a
    reloading HAProxy never reads half a certificate."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name, value in files.items():
        tmp = directory / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value)
        os.replace(tmp, directory / name)
