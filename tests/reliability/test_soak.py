"""Long-lived connection soak: silent and ticking `logs -f` streams through the HAProxy of an
Edge-LB pool and of a Marathon-LB app, both created through the providers, stay open for the whole
configured time (longer than Marathon-LB's scaled 2 s client/server defaults) and end when the
client ends them; afterwards each frontend still serves. Loopback only, bounded in time."""

from __future__ import annotations

import copy
import subprocess
import threading
import time

import pytest
import requests

from kexpose_components.resources.edgelb_pool import EdgeLBPool
from kexpose_components.resources.marathon_app import MarathonApp
from kexpose_sim.config import Timing
from tests.seeds import DUMMY_APP, MARATHON_LB_APP, SEED_POOL, SERVER_OPTIONS
from tests.sim.test_dataplane import kubernetes, public_agent, wait_running

from .conftest import LEDGER, NOTES

SOAK_SECONDS = 6  # > the 2 s SIM_TIMEOUT_CLIENT / SIM_TIMEOUT_SERVER given to marathon-lb


def stream(address: str, port: int, pod: str, token: str, seconds: int) -> dict:
    url = f"https://{address}:{port}/api/v1/namespaces/default/pods/{pod}/log?follow=true"
    started = time.monotonic()
    out = subprocess.run(["curl", "-sSk", "-N", "--max-time", str(seconds), "-H", f"Authorization: Bearer {token}", url],
                         capture_output=True, text=True, timeout=seconds + 10)
    return {"seconds": time.monotonic() - started, "rc": out.returncode, "lines": out.stdout.count("\n"),
            "stderr": out.stderr.strip()}


def wait_serving(address: str, port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        out = subprocess.run(["curl", "-sk", "--max-time", "3", f"https://{address}:{port}/"], capture_output=True, text=True)
        if "system:anonymous" in out.stdout:
            return
        assert time.monotonic() < deadline, f"nothing serves {address}:{port}: {out.stdout} {out.stderr}"
        time.sleep(0.2)


@pytest.mark.reliability
def test_streams_outlive_the_default_timeouts_and_close_cleanly(sim_factory, scanned_stacks, recorder):
    sim = sim_factory(auth="none", timing=Timing(pool_ready=0.2))
    agent = public_agent(sim)["address"]
    lb = dict(MARATHON_LB_APP, env={"SIM_TIMEOUT_CLIENT": "2s", "SIM_TIMEOUT_SERVER": "2s"})
    requests.post(f"{sim.marathon}/v2/apps", json=lb, timeout=5).raise_for_status()  # marathon-lb installed
    wait_running(sim, "/marathon-lb")

    conn = {"url": sim.url}
    app = dict(DUMMY_APP, labels={**DUMMY_APP["labels"], "HAPROXY_0_BACKEND_SERVER_OPTIONS": SERVER_OPTIONS.format(verify="verify none")})
    pool = copy.deepcopy(SEED_POOL)
    pool["haproxy"]["frontends"][0]["bindPort"] = 7443
    pool["haproxy"]["stats"] = {"bindPort": 7090, "bindAddress": "127.0.0.1"}

    def program():
        MarathonApp("mlb-exposure", connection=conn, app=app)
        EdgeLBPool("elb-exposure", connection=conn, pool=pool)

    stack = scanned_stacks(program, name="soak")
    recorder.run(stack.up)
    wait_serving(agent, 6443)
    wait_serving(agent, 7443)
    token = kubernetes(sim)["kubernetes"]["token"]

    results: dict[str, dict] = {}
    threads = [threading.Thread(target=lambda k=(name, port, pod): results.__setitem__(
                   f"{k[0]}/{k[2]}", stream(agent, k[1], k[2], token, SOAK_SECONDS)))
               for name, port in (("marathon-lb", 6443), ("edge-lb", 7443)) for pod in ("silent", "ticker")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(SOAK_SECONDS + 15)
    LEDGER["soak: streams"] += len(results)
    for key, r in sorted(results.items()):
        NOTES.append(f"soak {key}: open {r['seconds']:.1f}s, curl rc {r['rc']}, {r['lines']} line(s)")
    assert len(results) == 4, results
    for key, r in results.items():
        # rc 28 = our --max-time ended it; anything else means the proxy or server closed it first
        assert r["rc"] == 28 and r["seconds"] >= SOAK_SECONDS - 0.2, f"{key} ended early: {r}"
        assert r["seconds"] < SOAK_SECONDS + 3, f"{key} did not close when the client did: {r}"
        if key.endswith("ticker"):
            assert r["lines"] >= SOAK_SECONDS - 2, f"{key} stalled: {r}"
        else:
            assert r["lines"] == 0, f"{key} is not silent: {r}"
    # both frontends still serve after the long streams went away
    wait_serving(agent, 6443, timeout=5)
    wait_serving(agent, 7443, timeout=5)
    LEDGER["soak: streams held"] += len(results)
