"""Fault matrix: create / update / delete of each resource kind under each injected fault.

Whatever the faulty run did (fail cleanly, or finish), a rerun of `up` with the faults gone
converges, `refresh` finds nothing changed, and the simulator holds exactly the stack's apps and
pools (nothing orphaned). The quick subset runs every fault on every kind; the full matrix
(``KEXPOSE_FULL_RELIABILITY=1``) runs every operation too.
"""

from __future__ import annotations

import copy
import threading
import time

import pulumi
import pytest
import requests
from pulumi import automation as auto

from kexpose_components.resources.edgelb_pool import EdgeLBPool
from kexpose_components.resources.marathon_app import MarathonApp
from kexpose_sim.config import Timing
from tests.seeds import SEED_POOL

from .conftest import FULL, LEDGER, NOTES, PASSWORD, USER, free_port
from tests.support.waits import EVENTUALLY

APP = {"id": "/dev/worker", "cmd": "sleep 1000", "cpus": 0.1, "mem": 32, "labels": {"v": "1"}}
POOL = {**SEED_POOL, "haproxy": {**SEED_POOL["haproxy"], "stats": {"bindPort": 6090, "bindAddress": "127.0.0.1"}}}
TIMEOUTS = pulumi.CustomTimeouts(create="2s", update="2s", delete="2s")
KINDS = ("app", "pool")
OPS = ("create", "update", "delete")
FAULTS = ("lock409", "burst5xx", "drop", "hang", "restart", "edgelb500")
QUICK = {  # (kind, op, fault) run always; the rest with KEXPOSE_FULL_RELIABILITY=1
    ("app", "update", "lock409"), ("app", "delete", "lock409"), ("pool", "update", "lock409"),
    ("app", "create", "burst5xx"), ("pool", "update", "burst5xx"),
    ("app", "update", "drop"), ("pool", "delete", "drop"),
    ("app", "create", "hang"), ("app", "delete", "hang"), ("pool", "create", "hang"),
    ("app", "create", "restart"), ("pool", "update", "restart"),
    ("pool", "create", "edgelb500"), ("pool", "delete", "edgelb500"),
}


def definition(kind: str, version: int) -> dict:
    if kind == "app":
        return dict(APP, labels={"v": str(version)})
    pool = copy.deepcopy(POOL)
    pool["haproxy"]["frontends"][0]["bindPort"] = 6443 + version - 1  # a reload
    return pool


def program(kind: str, conn: dict, version: int | None, short_timeouts: bool = False):
    def run():
        if version is None:
            return  # the resource is deleted
        opts = pulumi.ResourceOptions(custom_timeouts=TIMEOUTS if short_timeouts else None)
        if kind == "app":
            MarathonApp("worker", connection=conn, app=definition(kind, version), adopt=True, opts=opts)
        else:
            EdgeLBPool("pool", connection=conn, pool=definition(kind, version), adopt=True, opts=opts)
    return run


class Cluster:
    """The simulator's APIs with a DC/OS token (auth is on: the password must stay secret)."""

    def __init__(self, url: str):
        self.url = url
        self.session = requests.Session()

    def login(self) -> None:
        r = requests.post(f"{self.url}/acs/api/v1/auth/login", json={"uid": USER, "password": PASSWORD}, timeout=5)
        r.raise_for_status()
        self.session.headers["Authorization"] = f"token={r.json()['token']}"

    def call(self, method: str, path: str, **kw) -> requests.Response:
        for _ in range(2):
            r = self.session.request(method, f"{self.url}{path}", timeout=10, **kw)
            if r.status_code != 401:
                return r
            self.login()
        return r

    def faults(self, **faults) -> None:
        if faults:
            requests.put(f"{self.url}/_sim/faults", json=faults, timeout=5).raise_for_status()
        else:
            requests.delete(f"{self.url}/_sim/faults", timeout=5).raise_for_status()

    def writes(self) -> int:
        return requests.get(f"{self.url}/_sim/stats", timeout=5).json()["writes"]

    def app_ids(self) -> set[str]:
        return {a["id"] for a in self.call("GET", "/service/marathon/v2/apps").json()["apps"]}

    def pool_names(self) -> set[str]:
        return {p["name"] for p in self.call("GET", "/service/edgelb/v2/pools").json()}

    def by_hand(self, kind: str, version: int) -> None:
        """A change made outside the stack, still deploying when the stack's run starts."""
        if kind == "app":
            r = self.call("PUT", "/service/marathon/v2/apps/dev/worker", json=definition(kind, version))
        elif self.pool_names():
            r = self.call("PUT", "/service/edgelb/v2/pools/kubectl-proxy", json=definition(kind, version))
        else:
            r = self.call("POST", "/service/edgelb/v2/pools", json=definition(kind, version))
        assert r.status_code < 300, r.text


def stack_objects(stack) -> tuple[set[str], set[str]]:
    apps, pools = set(), set()
    for r in stack.export_stack().deployment.get("resources", []):
        inputs = r.get("inputs") or {}
        if isinstance(inputs.get("app"), dict):
            apps.add("/" + inputs["app"]["id"].strip("/"))
        if isinstance(inputs.get("pool"), dict):
            pools.add(inputs["pool"]["name"])
    return apps, pools


def assert_not_orphaned(cluster: Cluster, stack, baseline: set[str]) -> None:
    apps, pools = stack_objects(stack)
    deadline = time.monotonic() + EVENTUALLY
    while True:
        live_apps = cluster.app_ids() - baseline
        pool_apps = {a for a in live_apps if a.startswith("/dcos-edgelb/")}
        ok = (live_apps - pool_apps == apps and cluster.pool_names() == pools
              and pool_apps == {f"/dcos-edgelb/pools/{p}" for p in pools})
        if ok or time.monotonic() > deadline:
            break
        time.sleep(0.2)  # a deleted pool's Marathon app goes a moment later
    assert live_apps - pool_apps == apps, f"apps live {sorted(live_apps)} vs stack {sorted(apps)}"
    assert cluster.pool_names() == pools, f"pools live {sorted(cluster.pool_names())} vs stack {sorted(pools)}"
    assert pool_apps == {f"/dcos-edgelb/pools/{p}" for p in pools}, f"pool apps left: {sorted(pool_apps)}"


def cases():
    for kind in KINDS:
        for op in OPS:
            for fault in FAULTS:
                if fault == "edgelb500" and kind != "pool":
                    continue  # an Edge-LB-only fault
                marks = [pytest.mark.reliability]
                if not FULL and (kind, op, fault) not in QUICK:
                    marks.append(pytest.mark.skip(reason="full matrix only (KEXPOSE_FULL_RELIABILITY=1)"))
                yield pytest.param(kind, op, fault, id=f"{kind}-{op}-{fault}", marks=marks)


@pytest.mark.reliability
@pytest.mark.parametrize("kind,op,fault", list(cases()))
def test_fault_then_rerun_converges(kind, op, fault, sim_factory, sim_process, scanned_stacks, recorder, tmp_path):
    LEDGER["matrix: ran"] += 1
    restart_args: list[str] = []
    if fault == "restart":
        port = free_port()
        state_dir = tmp_path / "restart-state"
        restart_args = ["--port", str(port), "--auth", "dcos", "--user", f"{USER}:{PASSWORD}", "--no-dataplane"]
        slow = ["--deploy-seconds", "2", "--pool-ready-seconds", "2"]
        proc = sim_process(*restart_args, *slow, state_dir=state_dir)
        url = proc.url
    else:
        timing = Timing(task_launch=1.0, pool_ready=1.0) if fault == "lock409" else Timing()
        url = sim_factory(auth="dcos", users={USER: PASSWORD}, dataplane=False, timing=timing).url
    cluster = Cluster(url)
    cluster.login()
    baseline = cluster.app_ids()
    conn = {"url": url, "uid": USER, "password": PASSWORD, "retries": 4, "backoff": 0.1}
    short = fault == "hang"  # a deployment that never finishes: give up after 2 s
    stack = scanned_stacks(program(kind, conn, 1, short), name=f"m-{kind}-{op}-{fault}")

    if op != "create":
        recorder.run(stack.up)
    target = {"create": 1, "update": 2, "delete": None}[op]
    stack.set_program(program(kind, conn, target, short))

    outcome = "finished"
    if fault == "restart":
        result: dict = {}

        def faulty_up():
            try:
                recorder.run(stack.up)
            except auto.errors.CommandError as err:
                result["error"] = err

        before = cluster.writes()
        thread = threading.Thread(target=faulty_up, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while cluster.writes() == before:  # the `up` has sent its write and now waits on the deployment
            assert time.monotonic() < deadline and thread.is_alive(), "the up never wrote"
            time.sleep(0.05)
        time.sleep(0.3)
        proc.kill()
        sim_process(*restart_args, state_dir=state_dir)  # same state and port: the URL stays valid
        thread.join(120)
        assert not thread.is_alive(), "the up hung after the simulator came back"
        outcome = "failed" if "error" in result else "finished"
    else:
        if fault == "lock409":
            # someone else's change still deploying when the run starts: create adopts it (adopt=True),
            # update and delete meet Marathon's deployment lock / a pool that is not ready yet
            cluster.by_hand(kind, 1 if op == "create" else 3)
        elif fault == "burst5xx":
            cluster.faults(error_burst=3, error_status=503, paths=["/service/"])
        elif fault == "drop":
            cluster.faults(drop_burst=2, paths=["/service/"])
        elif fault == "hang":
            cluster.faults(hang_deployments=True)
        elif fault == "edgelb500":
            cluster.faults(edgelb_500_applied=1)
        try:
            recorder.run(stack.up)
        except auto.errors.CommandError as err:
            outcome = "failed"
            text = str(err)
            assert "Traceback" not in text, text[-3000:]
        cluster.faults()

    rerun = recorder.run(stack.up)
    assert rerun.summary.result == "succeeded"
    expected = 1 if target is None else 2
    refresh = recorder.run(stack.refresh)
    assert refresh.summary.resource_changes == {"same": expected}, refresh.summary.resource_changes
    assert_not_orphaned(cluster, stack, baseline)
    if target is not None and kind == "app":
        live = cluster.call("GET", "/service/marathon/v2/apps/dev/worker").json()["app"]
        assert live["labels"] == {"v": str(target)}
    if target is not None and kind == "pool":
        live = cluster.call("GET", "/service/edgelb/v2/pools/kubectl-proxy").json()
        assert live["haproxy"]["frontends"][0]["bindPort"] == definition(kind, target)["haproxy"]["frontends"][0]["bindPort"]
    LEDGER["matrix: converged"] += 1
    LEDGER[f"matrix: first run {outcome}"] += 1
    NOTES.append(f"{kind}-{op}-{fault}: first run {outcome}, rerun converged")
