"""SimState: the whole simulated cluster behind one lock, persisted after every change (store.py)."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

from kexpose_sim.adminrouter.auth import AuthBackend
from kexpose_sim.cluster import Cluster, build_cluster, load_seed
from kexpose_sim.config import SimConfig, random_agent_network
from kexpose_sim.edgelb.models import EdgeLBBackend
from kexpose_sim.events import EventBus
from kexpose_sim.faults import FaultConfig, FaultInjector
from kexpose_sim.marathon.backend import MarathonBackend
from kexpose_sim.packages import MARATHON_LB_APP
from kexpose_sim.secrets.models import SecretsBackend
from kexpose_sim.stats import ApiStats
from kexpose_sim.store import TICK_SAVE_SECONDS, GroupCommit, StateStore

SNAPSHOT_VERSION = 1


class SimState:
    """Owns every model. HTTP handlers and the background runner hold ``lock`` while they read
    or change state, and call ``save()`` after a change, once they have released it."""

    def __init__(self, config: SimConfig, faults: FaultConfig | None = None):
        Path(config.state_dir).mkdir(parents=True, exist_ok=True)
        self.config = config
        self.lock = threading.RLock()
        self.store = StateStore(config.state_dir)
        self._commit = GroupCommit(self.store, self.lock, self.snapshot)
        self._unsaved, self._saved_at = False, 0.0
        self.events = EventBus()
        self.faults = FaultInjector(faults)
        self.stats = ApiStats()
        snapshot = self.store.load()
        #: the DC/OS cluster id (``/metadata``'s CLUSTER_ID): chosen at first start, then kept
        self.cluster_id = (snapshot or {}).get("cluster_id") or str(uuid.uuid4())
        if snapshot is not None:
            config.agent_network = snapshot["agent_network"]
            self.cluster = Cluster.from_dict(snapshot["cluster"])
        else:
            config.agent_network = config.agent_network or random_agent_network()
            seed = load_seed(config.seed_file)
            self.cluster = build_cluster(seed, config.agent_network)
        self.auth = AuthBackend(config)
        self.marathon = MarathonBackend(self)
        self.secrets = SecretsBackend(config.state_dir)
        self.edgelb = EdgeLBBackend(self)
        if snapshot is not None:
            self.secrets.load_dict(snapshot.get("secrets", {}))
            self.auth.load_dict(snapshot["auth"])
            self.marathon.load_dict(snapshot["marathon"])
            self.edgelb.load_dict(snapshot["edgelb"])
        elif seed.get("marathon_lb"):
            # A cluster that comes with Marathon-LB installed (group "external"), as the seeds assume;
            # `marathon_lb: {env: {...}}` adds env to its app (e.g. SIM_TIMEOUT_CLIENT for tests).
            extra = seed["marathon_lb"] if isinstance(seed["marathon_lb"], dict) else {}
            self.marathon.put_internal_app({**MARATHON_LB_APP, "env": dict(extra.get("env", {}))})
        self.save()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "version": SNAPSHOT_VERSION,
                "agent_network": self.config.agent_network,
                "cluster_id": self.cluster_id,
                "cluster": self.cluster.to_dict(),
                "auth": self.auth.to_dict(),
                "marathon": self.marathon.to_dict(),
                "edgelb": self.edgelb.to_dict(),
                "secrets": self.secrets.to_dict(),
            }

    def tick(self, now: float) -> None:
        """Advance deployments and pools; persist what moved, at most every TICK_SAVE_SECONDS
        (store.py): with many deployments at once the runner changes something on nearly every tick."""
        with self.lock:
            changed = self.marathon.tick(now)
            self._unsaved = self.edgelb.tick(now) or changed or self._unsaved
            due = self._unsaved and now - self._saved_at >= TICK_SAVE_SECONDS
        if due:
            self.save()

    def save(self) -> None:
        """Return once every change made so far is on disk. Call it after releasing ``lock``:
        concurrent writers share one snapshot, written outside the lock (store.GroupCommit)."""
        if self.lock._is_owned():  # waiting for another writer's snapshot while holding it would deadlock
            raise RuntimeError("SimState.save() called with the state lock held")
        with self.lock:
            self._unsaved, self._saved_at = False, time.time()
        self._commit.commit()
