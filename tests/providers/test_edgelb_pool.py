"""EdgeLBPool through the real engine against the simulator's Edge-LB over HTTP."""

from __future__ import annotations

import copy
import re

import pulumi
import pytest
import requests
from pulumi import automation as auto

from kexpose_components.resources.edgelb_pool import EdgeLBPool
from tests.seeds import SEED_POOL

def pool_program(conn, pool, **kwargs):
    def run():
        EdgeLBPool("pool", connection=conn, pool=pool, **kwargs)
    return run


def live_pool(sim, name="kubectl-proxy"):
    r = requests.get(f"{sim.edgelb}/v2/pools/{name}", timeout=5)
    return r.json() if r.status_code == 200 else None


def test_lifecycle(sim, stack_factory):
    conn = {"url": sim.url}
    stack = stack_factory(pool_program(conn, SEED_POOL))
    up = stack.up()
    assert up.summary.resource_changes == {"create": 2}
    assert requests.get(f"{sim.edgelb}/v2/pools/kubectl-proxy/lbconfig", timeout=5).status_code == 200  # ready
    assert "dcos-edgelb/pools/kubectl-proxy" in requests.get(f"{sim.marathon}/v2/apps", timeout=5).text

    requests.delete(f"{sim.url}/_sim/stats", timeout=5)
    stack.preview(expect_no_changes=True)
    assert sim.stats()["writes"] == 0

    reloaded = copy.deepcopy(SEED_POOL)
    reloaded["haproxy"]["frontends"][0]["bindPort"] = 7443
    stack.set_program(pool_program(conn, reloaded))
    preview = stack.preview(diff=True)
    assert preview.change_summary == {"update": 1, "same": 1}
    assert "changing haproxy reloads HAProxy in place" in preview.stdout + preview.stderr
    assert re.search(r"bindPort\s*:\s*6443\s*=>\s*7443", preview.stdout), preview.stdout
    stack.up()
    assert live_pool(sim)["haproxy"]["frontends"][0]["bindPort"] == 7443
    assert ":7443" in requests.get(f"{sim.edgelb}/v2/pools/kubectl-proxy/lbconfig", timeout=5).text

    relaunched = dict(reloaded, count=2)
    stack.set_program(pool_program(conn, relaunched))
    relaunch = stack.preview()
    assert "changing count relaunches the pool's load-balancer tasks" in relaunch.stdout + relaunch.stderr

    stack.destroy()
    assert live_pool(sim) is None


def test_drift_and_500_that_went_through(sim, stack_factory):
    conn = {"url": sim.url}
    stack = stack_factory(pool_program(conn, SEED_POOL))
    sim.set_faults(edgelb_500_applied=1)
    stack.up()  # POST answered 500 but created the pool: re-read, no orphan, no error
    assert live_pool(sim) is not None
    assert stack.refresh().summary.resource_changes == {"same": 2}

    edited = live_pool(sim)
    edited["haproxy"]["backends"][0]["balance"] = "leastconn"
    requests.put(f"{sim.edgelb}/v2/pools/kubectl-proxy", json=edited, timeout=5).raise_for_status()
    assert stack.refresh().summary.resource_changes.get("update") == 1
    assert "leastconn" in stack.preview(diff=True).stdout
    sim.set_faults(edgelb_500_applied=1)
    stack.up()  # the PUT that reverts the drift also answers 500 after applying
    assert live_pool(sim)["haproxy"]["backends"][0]["balance"] == "roundrobin"
    assert stack.refresh().summary.resource_changes == {"same": 2}


def test_bad_pool_fails_check_naming_the_field(sim, stack_factory):
    bad = copy.deepcopy(SEED_POOL)
    bad["name"] = "Kubectl_Proxy"
    bad["haproxy"]["frontends"][0]["certificates"] = ["/etc/cert.pem"]
    stack = stack_factory(pool_program({"url": sim.url}, bad))
    with pytest.raises(auto.errors.CommandError) as err:
        stack.preview()
    text = str(err.value)
    assert "pool.name" in text and "pool.haproxy.frontends[0].certificates" in text and "Traceback" not in text
    assert requests.get(f"{sim.edgelb}/v2/pools", timeout=5).json() == []


def test_a_missing_secret_fails_the_create_with_the_pool_status_reason(sim, stack_factory):
    """Edge-LB's pool tasks cannot start without their secrets: the pool scheduler says so, the
    create fails with that reason and the new pool is removed again."""
    pool = copy.deepcopy(SEED_POOL)
    pool.update(autoCertificate=False, secrets=[{"secret": "kexpose/missing", "file": "tls"}])
    pool["haproxy"]["frontends"][0]["certificates"] = ["$SECRETS/tls"]
    stack = stack_factory(pool_program({"url": sim.url}, pool,
                                       opts=pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create="3s"))))
    with pytest.raises(auto.errors.CommandError) as err:
        stack.up()
    text = str(err.value)
    assert ("was not ready after 3s: its task(s) cannot start: edgelb-pool-0-server ERROR: TASK_ERROR: Secret(s) "
            "kexpose/missing not found") in text and "Traceback" not in text, text[-1500:]
    assert live_pool(sim) is None
