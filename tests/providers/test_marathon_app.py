"""MarathonApp through the real engine against the simulator over HTTP."""

from __future__ import annotations

import copy
import json
import re

import pytest
import requests
from pulumi import automation as auto

from kexpose_components.resources.marathon_app import MarathonApp

DUMMY = {
    "id": "/kubectl-proxy", "instances": 1, "cpus": 0.001, "mem": 16, "cmd": "tail -F /dev/null",
    "container": {"type": "MESOS"}, "portDefinitions": [{"protocol": "tcp", "port": 0}],
    "labels": {"HAPROXY_GROUP": "external", "HAPROXY_0_MODE": "http", "HAPROXY_0_PORT": "6443"},
}
WORKER = {"id": "/dev/worker", "cmd": "sleep 1000", "cpus": 0.1, "mem": 32, "instances": 2}


def apps_program(conn: dict, apps: list[dict]):
    def program():
        for app in apps:
            MarathonApp(app["id"].strip("/").replace("/", "-"), connection=conn, app=app)
    return program


def marathon_apps(sim) -> dict[str, dict]:
    return {a["id"]: a for a in requests.get(f"{sim.marathon}/v2/apps", timeout=5).json()["apps"]}


def test_lifecycle(sim, stack_factory):
    conn = {"url": sim.url}
    stack = stack_factory(apps_program(conn, [DUMMY, WORKER]))
    up = stack.up()
    assert up.summary.resource_changes == {"create": 3}
    apps = marathon_apps(sim)
    assert apps["/kubectl-proxy"]["tasksRunning"] == 1 and apps["/dev/worker"]["tasksRunning"] == 2
    assert requests.get(f"{sim.marathon}/v2/deployments", timeout=5).json() == []  # up returned after they finished

    requests.delete(f"{sim.url}/_sim/stats", timeout=5)
    stack.preview(expect_no_changes=True)
    assert sim.stats()["writes"] == 0

    changed = copy.deepcopy(DUMMY)
    changed["labels"]["HAPROXY_0_PORT"] = "7443"
    stack.set_program(apps_program(conn, [changed, WORKER]))
    preview = stack.preview(diff=True)
    assert preview.change_summary == {"update": 1, "same": 2}
    assert re.search(r'HAPROXY_0_PORT\s*:\s*"6443"\s*=>\s*"7443"', preview.stdout), preview.stdout
    up = stack.up()
    assert up.summary.resource_changes == {"update": 1, "same": 2}
    assert marathon_apps(sim)["/kubectl-proxy"]["labels"]["HAPROXY_0_PORT"] == "7443"

    renamed = dict(WORKER, id="/dev/worker2")
    stack.set_program(apps_program(conn, [changed, dict(renamed)]))
    # the resource name is derived from the id, so keep the name to see a replacement
    def replace_program():
        MarathonApp("kubectl-proxy", connection=conn, app=changed)
        MarathonApp("dev-worker", connection=conn, app=renamed)
    stack.set_program(replace_program)
    preview = stack.preview()
    assert preview.change_summary == {"replace": 1, "same": 2}
    stack.up()
    assert set(marathon_apps(sim)) == {"/kubectl-proxy", "/dev/worker2"}

    stack.destroy()
    assert marathon_apps(sim) == {}


def test_drift_is_refreshed_and_reverted(sim, stack_factory):
    conn = {"url": sim.url}
    stack = stack_factory(apps_program(conn, [DUMMY]))
    stack.up()
    live = marathon_apps(sim)["/kubectl-proxy"]
    edited = {k: v for k, v in live.items() if k in DUMMY or k == "labels"}
    edited["labels"] = {**DUMMY["labels"], "EDITED": "by-hand"}
    requests.put(f"{sim.marathon}/v2/apps/kubectl-proxy", json=edited, timeout=5).raise_for_status()

    refresh = stack.refresh()
    assert refresh.summary.resource_changes.get("update") == 1
    preview = stack.preview(diff=True)
    assert preview.change_summary.get("update") == 1
    assert "EDITED" in preview.stdout
    stack.up()
    assert "EDITED" not in marathon_apps(sim)["/kubectl-proxy"]["labels"]
    assert stack.refresh().summary.resource_changes == {"same": 2}


def test_app_deleted_by_hand_leaves_state_on_refresh(sim, stack_factory):
    stack = stack_factory(apps_program({"url": sim.url}, [WORKER]))
    stack.up()
    requests.delete(f"{sim.marathon}/v2/apps/dev/worker", timeout=5).raise_for_status()
    assert stack.refresh().summary.resource_changes.get("delete") == 1
    assert stack.up().summary.resource_changes.get("create") == 1
    assert "/dev/worker" in marathon_apps(sim)


def test_bad_definition_fails_check_naming_the_field(sim, stack_factory):
    bad = dict(DUMMY, id="/Bad_Name", portDefinitions=[{"port": 70000}])
    stack = stack_factory(apps_program({"url": sim.url}, [bad]))
    with pytest.raises(auto.errors.CommandError) as err:
        stack.preview()
    text = str(err.value)
    assert "app.id" in text and "app.portDefinitions[0].port" in text
    assert "Traceback" not in text
    assert marathon_apps(sim) == {}


def test_connection_is_secret_in_state(sim_factory, stack_factory):
    dcos = sim_factory(auth="dcos", users={"ops": "s3cret-pass"})
    stack = stack_factory(apps_program({"url": dcos.url, "uid": "ops", "password": "s3cret-pass"}, [WORKER]))
    up = stack.up()
    exported = stack.plain_export()
    assert "connection" in exported and "s3cret-pass" not in exported
    assert "s3cret-pass" not in stack.raw_state() and "s3cret-pass" not in up.stdout
    inputs = next(r for r in json.loads(exported)["deployment"]["resources"] if r["type"].endswith("marathon:App"))["inputs"]
    assert inputs["connection"]["4dabf18193072939515e22adb298388d"] == "1b47061264138c4ac30d75fd1eb44270"  # secret sig
    assert "/dev/worker" in {a["id"] for a in requests.get(
        f"{dcos.marathon}/v2/apps", timeout=5,
        headers={"Authorization": "token=" + requests.post(f"{dcos.url}/acs/api/v1/auth/login",
                                                          json={"uid": "ops", "password": "s3cret-pass"}, timeout=5).json()["token"]}).json()["apps"]}


def test_an_app_no_agent_can_take_fails_fast_with_the_reason_and_is_removed(sim, stack_factory):
    """Marathon declines every offer (the port is held on the only public agent): kexpose reads
    /v2/queue's offer summary and fails within seconds naming the agent and Marathon's reason,
    instead of waiting the whole deployment timeout; the half-made app is removed again."""
    import time

    public = next(a["hostname"] for a in requests.get(f"{sim.url}/_sim/cluster", timeout=5).json()["agents"] if a["public"])
    holder = {"id": "/holder", "cmd": "sleep 1000", "cpus": 0.01, "mem": 16, "acceptedResourceRoles": ["slave_public"],
              "portDefinitions": [{"port": 6443}], "requirePorts": True}
    assert requests.post(f"{sim.marathon}/v2/apps", json=holder, timeout=5).status_code == 201
    wanted = dict(holder, id="/kexpose/blocked")
    stack = stack_factory(apps_program({"url": sim.url}, [wanted]))
    started = time.monotonic()
    with pytest.raises(auto.errors.CommandError) as err:
        stack.up()
    assert time.monotonic() - started < 60  # not the 600 s deployment timeout
    text = str(err.value)
    assert "Marathon cannot place /kexpose/blocked" in text and f"{public}: InsufficientPorts" in text, text
    assert "removed again" in text and "/kexpose/blocked" not in marathon_apps(sim)
