"""Edge-LB's pools and their lifecycle (moto's ``models``: the state behind the API).

Lifecycle (simulated, see ``Timing``): a created pool installs its scheduler as the Marathon app
``/<namespace>/<name>`` and is ``DEPLOYING`` until ``pool_ready`` has passed and its ``count``
instances have found public agents whose bind ports are free; a change under ``haproxy`` only is a
``RELOADING`` (``pool_reload``), any other change a ``RELAUNCHING`` (``pool_ready``); a delete
removes the pool at once and its Marathon app after ``pool_app_removal``.

Secrets (``secrets: [{secret, file}]``) are resolved when the pool's tasks launch: a secret missing
from the store fails the launch (the task ends in ``TASK_ERROR``, shown by the pool scheduler's
``/v1/pod/status``, ``error`` here) and the scheduler retries until it exists. A new value of a
secret a running pool uses is taken up on the reload path (``RELOADING``), never a relaunch; a
change of the ``secrets`` list itself is pool-level and relaunches, as Edge-LB documents.

A data plane runs HAProxy per instance from ``lbconfig(name)`` while ``status`` is ``READY``.
Decoding and encoding live in ``schema``, the checks in ``validation``, haproxy.cfg in
``lbconfig``, the servers a backend selects in ``servers``.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from kexpose_sim.edgelb.exceptions import EdgeLBError, invalid
from kexpose_sim.edgelb.lbconfig import HaproxyConfig
from kexpose_sim.edgelb.schema import PoolCodec
from kexpose_sim.edgelb.servers import ServerResolver
from kexpose_sim.edgelb.validation import bind_ports, check_enums, check_pool, namespace_change_error

Pool = dict[str, Any]


@dataclass
class PoolInstance:
    """One placed pool task; its bind ``ports`` are reserved on the agent in ``state.cluster``."""

    index: int
    task_id: str
    agent_id: str
    address: str
    ports: list[int]


@dataclass
class PoolRecord:
    """A pool and where its deployment stands (persisted as JSON, shown by ``/_sim/state``)."""

    #: the V2 pool as ``GET /v2/pools/<name>`` returns it
    pool: Pool
    #: the directory ``$AUTOCERT``, ``$SECRETS/…`` and ``$ENVFILE/…`` point into
    sandbox: str
    #: bumped by every write that changed the pool
    generation: int = 1
    #: ``DEPLOYING`` | ``RELAUNCHING`` | ``RELOADING`` | ``READY``
    status: str = "DEPLOYING"
    #: when the pending change lands (epoch seconds), or None
    due: float | None = None
    #: the pool the instances run (None until the first deploy landed) and its generation
    rendered: Pool | None = None
    rendered_generation: int = 0
    instances: list[PoolInstance] = field(default_factory=list)
    #: the version of each secret (path -> version) the running instances were given
    secret_versions: dict[str, int] = field(default_factory=dict)
    #: why the pool's tasks cannot launch (a missing secret), or None
    error: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PoolRecord:
        return cls(**{**data, "instances": [PoolInstance(**i) for i in data["instances"]]})


@dataclass
class Removal:
    """A deleted pool's scheduler app, removed from Marathon when ``due``."""

    app_id: str
    due: float


def service_name(pool: Pool) -> str:
    """``dcos-edgelb/pools/<name>``: the pool framework's DC/OS service name."""
    return "/".join(p for p in (pool["namespace"].strip("/"), pool["name"]) if p)


def scheduler_app(pool: Pool) -> dict[str, Any]:
    """The Marathon app Cosmos installs for a pool: its DC/OS SDK scheduler. The pool-level
    settings travel in its env, so a change that relaunches the pool also updates the app, as
    Cosmos ``package update`` does. Resources are kept small so the simulated agents never run
    out because of schedulers."""
    service = service_name(pool)
    settings = {k: v for k, v in pool.items() if k != "haproxy"}
    return {
        "id": f"/{service}",
        "instances": 1,
        "cpus": 0.1,
        "mem": 256,
        "cmd": "export LD_LIBRARY_PATH=$MESOS_SANDBOX/libmesos-bundle/lib && ./scheduler/bin/edgelb-pool ./svc.yml",
        "env": {"FRAMEWORK_NAME": service, "POOL_SETTINGS": json.dumps(settings, sort_keys=True)},
        "labels": {
            "DCOS_PACKAGE_NAME": pool["packageName"],
            "DCOS_PACKAGE_VERSION": pool["packageVersion"],
            "DCOS_PACKAGE_FRAMEWORK_NAME": service,
            "DCOS_SERVICE_NAME": service,
            "DCOS_COMMONS_API_VERSION": "v1",
        },
        "portDefinitions": [{"port": 0, "protocol": "tcp", "name": "api"}],
        "upgradeStrategy": {"minimumHealthCapacity": 0, "maximumOverCapacity": 0},
    }


class EdgeLBBackend:
    """All pools and their lifecycle. Callers hold ``state.lock`` and ``save()`` after changes."""

    def __init__(self, state) -> None:
        self.state = state
        self.codec = PoolCodec(state.config.edgelb_version)
        self.servers = ServerResolver(state)
        self.pools: dict[str, PoolRecord] = {}
        self.removals: list[Removal] = []

    # -- persistence ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"pools": {name: asdict(record) for name, record in self.pools.items()},
                "removals": [asdict(r) for r in self.removals]}

    def load_dict(self, data: dict[str, Any]) -> None:
        self.pools = {name: PoolRecord.from_dict(record) for name, record in data["pools"].items()}
        self.removals = [Removal(**r) for r in data.get("removals", [])]

    # -- reads ----------------------------------------------------------------------------------
    def list_pools(self) -> list[Pool]:
        return [record.pool for record in self.pools.values()]

    def get_pool(self, name: str) -> Pool:
        return self._record(name, name).pool

    def _record(self, name: str, reported_name: str) -> PoolRecord:
        record = self.pools.get(name)
        if record is None:
            raise EdgeLBError(404, f"pool {reported_name} not found")
        return record

    def lbconfig(self, name: str) -> str | None:
        """The rendered haproxy.cfg, or None before the pool's first deploy landed."""
        record = self.pools.get(name)
        if record is None or record.rendered is None:
            return None
        return HaproxyConfig(record.rendered, record.sandbox, self.servers.servers).render()

    def metadata(self, name: str) -> dict[str, Any]:
        """Where the pool's frontends and stats listen: one endpoint per placed instance."""
        record = self._record(name, name)
        haproxy = (record.rendered or record.pool)["haproxy"]

        def endpoints(port: int) -> list[dict[str, Any]]:
            return [{"port": port, "private": [i.address], "public": [i.address]} for i in record.instances]

        return {
            "aws": {"elbs": []},
            "frontends": [{"endpoints": endpoints(fe["bindPort"]), "name": fe["name"]} for fe in haproxy["frontends"]],
            "name": name,
            "stats": endpoints(haproxy["stats"]["bindPort"]),
        }

    # -- writes ---------------------------------------------------------------------------------
    def create(self, body: Any, now: float) -> Pool:
        """POST /v2/pools. Returns the echo (the decoded pool as Edge-LB encodes it)."""
        pool = self._decode(body)
        name = pool.get("name", "")
        if name in self.pools:
            raise EdgeLBError(409, f"pool {name} already exists")
        check_pool(pool)
        stored = self.codec.read_back(pool)
        app = scheduler_app(stored)
        self.removals = [r for r in self.removals if r.app_id != app["id"]]  # reinstalled before removal
        self.state.marathon.put_internal_app(app)
        self.pools[name] = PoolRecord(pool=stored, due=now + self.state.config.timing.pool_ready,
                                      sandbox=os.path.join(str(self.state.config.state_dir), "edgelb", "pools", name))
        return self.codec.encode(pool)

    def update(self, path_name: str, body: Any, now: float) -> Pool:
        """PUT /v2/pools/<path_name>. Edge-LB looks the pool up by the body's name."""
        pool = self._decode(body)
        record = self._record(pool.get("name", ""), path_name)
        check_pool(pool)
        if error := namespace_change_error(record.pool, pool):
            raise invalid(error)
        stored = self.codec.read_back(pool)
        if stored != record.pool:
            self._change(record, stored, now)
        return self.codec.encode(pool)

    def delete(self, name: str, now: float) -> None:
        """DELETE /v2/pools/<name>: gone from the API at once; the scheduler app later."""
        record = self._record(name, name)
        del self.pools[name]
        self._release(record)
        app_id = scheduler_app(record.pool)["id"]
        self.removals.append(Removal(app_id, now + self.state.config.timing.pool_app_removal))

    def _decode(self, body: Any) -> Pool:
        pool = self.codec.decode(body)
        check_enums(pool)
        return pool

    def _change(self, record: PoolRecord, stored: Pool, now: float) -> None:
        """Schedule a reload (only ``haproxy`` changed) or a relaunch (anything else changed)."""
        timing = self.state.config.timing
        old = record.pool
        record.pool = stored
        record.generation += 1
        pool_level_changed = {k: v for k, v in old.items() if k != "haproxy"} != \
            {k: v for k, v in stored.items() if k != "haproxy"}
        if pool_level_changed:
            self.state.marathon.put_internal_app(scheduler_app(stored))
            record.status = "DEPLOYING" if record.rendered is None else "RELAUNCHING"
            record.due = now + timing.pool_ready
        elif record.status in ("READY", "RELOADING"):
            record.status = "RELOADING"
            record.due = now + timing.pool_reload
        elif record.due is None:  # deployed but waiting for agents: re-render promptly
            record.due = now + timing.pool_reload

    # -- the runner -----------------------------------------------------------------------------
    def tick(self, now: float) -> bool:
        changed = self._remove_due_apps(now)
        for record in self.pools.values():
            changed = self._advance(record, now) or changed
        return changed

    def _remove_due_apps(self, now: float) -> bool:
        due = [r for r in self.removals if r.due <= now]
        for removal in due:
            self.state.marathon.remove_internal_app(removal.app_id)
        self.removals = [r for r in self.removals if r.due > now]
        return bool(due)

    def _advance(self, record: PoolRecord, now: float) -> bool:
        changed = False
        if record.due is not None and now >= record.due:
            record.due = None
            record.rendered = record.pool
            record.rendered_generation = record.generation
            record.secret_versions = self._secret_versions(record.rendered)
            if record.status in ("DEPLOYING", "RELAUNCHING"):
                self._release(record)
            changed = True
        if record.due is None and record.status in ("DEPLOYING", "RELAUNCHING"):
            changed = self._launchable(record) or changed
            if record.error:
                return changed
        if record.due is None and record.status != "READY":
            changed = self._place(record) or changed
            if len(record.instances) >= record.rendered["count"]:
                record.status = "READY"
                changed = True
        if record.status == "READY" and self._secret_versions(record.rendered) != record.secret_versions:
            record.status, record.due = "RELOADING", now + self.state.config.timing.pool_reload
            changed = True
        return changed

    # -- secrets (what the pool's tasks get from the secret store) --------------------------------
    def _secret_versions(self, pool: Pool) -> dict[str, int]:
        """path -> version of each secret the pool names that exists now."""
        versions = {item["secret"]: self.state.secrets.version(item["secret"]) for item in pool["secrets"]}
        return {path: v for path, v in versions.items() if v is not None}

    def _launchable(self, record: PoolRecord) -> bool:
        """Record why the tasks cannot launch (a missing secret), or clear it; True when that changed."""
        record.secret_versions = self._secret_versions(record.rendered)
        missing = [item["secret"] for item in record.rendered["secrets"] if item["secret"] not in record.secret_versions]
        error = (f"TASK_ERROR: Secret(s) {', '.join(missing)} not found in the secret store: the pool's "
                 "tasks cannot start") if missing else None
        changed, record.error = error != record.error, error
        return changed

    def secret_files(self, name: str) -> dict[str, str]:
        """file -> value of the secrets a pool's instances run with (``$SECRETS/<file>``)."""
        record = self.pools[name]
        values = {item["file"]: self.state.secrets.value(item["secret"]) for item in (record.rendered or {}).get("secrets", [])}
        return {file: value for file, value in values.items() if value is not None}

    def pod_status(self, name: str) -> dict[str, Any]:
        """The pool scheduler's ``/v1/pod/status``: one pod instance per wanted task."""
        record = self._record(name, name)
        count = (record.rendered or record.pool)["count"]
        placed = {i.index: i for i in record.instances}

        def task(index: int) -> dict[str, Any]:
            if index in placed:
                return {"name": f"edgelb-pool-{index}-server", "id": placed[index].task_id, "status": "RUNNING"}
            if record.error:
                return {"name": f"edgelb-pool-{index}-server", "status": "ERROR", "message": record.error}
            return {"name": f"edgelb-pool-{index}-server", "status": "STAGING"}

        instances = [{"name": f"edgelb-pool-{i}", "tasks": [task(i)]} for i in range(count)]
        return {"service": service_name(record.pool), "pods": [{"name": "edgelb-pool", "instances": instances}]}

    def pool_of_service(self, service: str) -> str | None:
        """The pool whose scheduler is DC/OS service ``service`` (``dcos-edgelb/pools/<name>``)."""
        return next((name for name, r in self.pools.items() if service_name(r.pool) == service.strip("/")), None)

    # -- placement (what the pool scheduler gets from Mesos offers) -------------------------------
    def _place(self, record: PoolRecord) -> bool:
        """Place missing instances, one per agent, on agents of the pool's role whose bind ports
        are offered and free. Returns whether any instance was placed."""
        pool = record.rendered
        cluster = self.state.cluster
        ports = sorted({p for p in bind_ports(pool) if p})  # 0: a dynamic port, nothing to reserve
        public = pool["role"] == "slave_public"
        used_agents = {i.agent_id for i in record.instances}
        placed = False
        for index in range(len(record.instances), pool["count"]):
            agent = next((a for a in cluster.agents
                          if a.public == public and a.id not in used_agents
                          and all(a.offers_port(p) and p not in cluster.ports_in_use(a.id) for p in ports)), None)
            if agent is None:
                break
            task_id = f"edgelb-pool-{index}-server__{uuid.uuid4()}"
            cluster.reserve(agent.id, ports, task_id)
            record.instances.append(PoolInstance(index, task_id, agent.id, agent.address, ports))
            used_agents.add(agent.id)
            placed = True
        return placed

    def _release(self, record: PoolRecord) -> None:
        for instance in record.instances:
            self.state.cluster.release(instance.task_id)
        record.instances = []
