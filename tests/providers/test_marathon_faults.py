"""MarathonApp under the simulator's faults: every run ends converged, or with a clear error and a
state that matches the cluster; a rerun converges; nothing is orphaned."""

from __future__ import annotations

import time

import pulumi
import pytest
import requests
from pulumi import automation as auto

from kexpose_components.resources.marathon_app import MarathonApp
from kexpose_sim.config import Timing
from tests.support.waits import EVENTUALLY

APP = {"id": "/dev/worker", "cmd": "sleep 1000", "cpus": 0.1, "mem": 32, "labels": {"v": "1"}}


def program(conn, app, **kwargs):
    def run():
        MarathonApp("worker", connection=conn, app=app, **kwargs)
    return run


def live_app(sim) -> dict | None:
    r = requests.get(f"{sim.marathon}/v2/apps/dev/worker", timeout=5)
    return r.json()["app"] if r.status_code == 200 else None


def resource_count(stack) -> int:
    return len([r for r in stack.export_stack().deployment.get("resources", []) if r["type"].endswith("marathon:App")])


def test_waits_for_a_locking_deployment(sim_factory, stack_factory):
    sim = sim_factory(auth="none", timing=Timing(task_launch=1.5))
    requests.put(f"{sim.marathon}/v2/apps/dev/worker", json=dict(APP, labels={"v": "by-hand"}), timeout=5).raise_for_status()
    assert requests.get(f"{sim.marathon}/v2/deployments", timeout=5).json()  # locked now
    stack = stack_factory(program({"url": sim.url}, APP, adopt=True))
    up = stack.up()
    assert up.summary.result == "succeeded"
    assert live_app(sim)["labels"] == {"v": "1"} and live_app(sim)["tasksRunning"] == 1


def test_burst_of_5xx_and_dropped_connections_are_retried(sim, stack_factory):
    sim.set_faults(error_burst=3, error_status=503)
    stack = stack_factory(program({"url": sim.url}, APP))
    stack.up()
    sim.set_faults(drop_burst=2)
    stack.set_program(program({"url": sim.url}, dict(APP, labels={"v": "2"})))
    stack.up()
    faults = requests.get(f"{sim.url}/_sim/faults", timeout=5).json()["injected"]
    assert faults["drop"] == 2
    assert live_app(sim)["labels"] == {"v": "2"}
    assert stack.refresh().summary.resource_changes == {"same": 2}


def test_create_that_never_finishes_leaves_nothing_behind(sim, stack_factory):
    sim.set_faults(hang_deployments=True)
    opts = pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create="2s"))
    stack = stack_factory(program({"url": sim.url}, APP, opts=opts))
    with pytest.raises(auto.errors.CommandError) as err:
        stack.up()
    text = str(err.value)
    assert "did not finish within 2s" in text and "removed again" in text and "Traceback" not in text
    assert live_app(sim) is None and resource_count(stack) == 0
    requests.delete(f"{sim.url}/_sim/faults", timeout=5)
    stack.up()
    assert live_app(sim)["tasksRunning"] == 1


def test_update_that_never_finishes_is_rolled_back(sim, stack_factory):
    opts = pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(update="2s"))
    stack = stack_factory(program({"url": sim.url}, APP, opts=opts))
    stack.up()
    sim.set_faults(hang_deployments=True)
    stack.set_program(program({"url": sim.url}, dict(APP, labels={"v": "2"}), opts=opts))
    with pytest.raises(auto.errors.CommandError) as err:
        stack.up()
    assert "rolled the app back" in str(err.value)
    deadline = time.monotonic() + EVENTUALLY
    while live_app(sim)["labels"] != {"v": "1"} and time.monotonic() < deadline:
        time.sleep(0.1)
    assert live_app(sim)["labels"] == {"v": "1"}  # the cluster matches the state again
    requests.delete(f"{sim.url}/_sim/faults", timeout=5)
    stack.up()
    assert live_app(sim)["labels"] == {"v": "2"}


def test_adopting_an_app_created_by_hand(sim, stack_factory):
    requests.put(f"{sim.marathon}/v2/apps/dev/worker", json=APP, timeout=5).raise_for_status()
    time.sleep(0.3)
    task_before = live_app(sim)["tasks"][0]["id"]
    stack = stack_factory(program({"url": sim.url}, APP))
    with pytest.raises(auto.errors.CommandError) as err:
        stack.up()
    assert "set adopt=True" in str(err.value)
    stack.set_program(program({"url": sim.url}, APP, adopt=True))
    stack.up()
    assert live_app(sim)["tasks"][0]["id"] == task_before  # taken over, not recreated
    stack.preview(expect_no_changes=True)
