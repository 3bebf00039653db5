"""The simulated Marathon v2 API over real HTTP, checked against the research spec
(``dcos-apis.md`` §1 and §6.2-6.6) and the seeds' app definitions."""

from __future__ import annotations

import copy
import functools
import json
import random
import time
from typing import Any, Callable, Iterator

import pytest
import requests

from kexpose_sim.config import SimConfig, Timing
from kexpose_sim.faults import FaultConfig
from kexpose_sim.server import Simulator
from tests.sim.conftest import RunningSim
from tests.support.waits import EVENTUALLY

TIMEOUT = 5

#: The standalone HAProxy app from the seeds ("Exposing the Kubernetes API: HAProxy").
HAPROXY_APP: dict[str, Any] = {
    "id": "/kubernetes-haproxy",
    "acceptedResourceRoles": ["slave_public"],
    "cmd": "/usr/local/sbin/haproxy -f /haproxy/haproxy.conf",
    "constraints": [["hostname", "UNIQUE"]],
    "container": {
        "type": "MESOS",
        "volumes": [{"containerPath": "/haproxy", "hostPath": "/path/to/my/haproxy/config/folder", "mode": "RO"}],
        "docker": {"image": "haproxy:1.7", "forcePullImage": False, "parameters": []},
    },
    "cpus": 0.1,
    "instances": 1,
    "mem": 128,
    "networks": [{"mode": "host"}],
    "portDefinitions": [{"protocol": "tcp", "port": 6443}],
    "requirePorts": True,
}

#: The Marathon-LB dummy app from the seeds ("Marathon-LB and Edge-LB").
KUBECTL_PROXY_APP: dict[str, Any] = {
    "id": "/kubectl-proxy",
    "instances": 1,
    "cpus": 0.001,
    "mem": 16,
    "cmd": "tail -F /dev/null",
    "container": {"type": "MESOS"},
    "portDefinitions": [{"protocol": "tcp", "port": 0}],
    "labels": {
        "HAPROXY_GROUP": "external",
        "HAPROXY_0_MODE": "http",
        "HAPROXY_0_PORT": "6443",
        "HAPROXY_0_SSL_CERT": "/etc/ssl/cert.pem",
        "HAPROXY_0_BACKEND_SERVER_OPTIONS": "  timeout connect 10s\n  timeout client 86400s\n  timeout server 86400s\n"
                                            "  timeout tunnel 86400s\n  server kube-apiserver "
                                            "apiserver.kubernetes.l4lb.thisdcos.directory:6443 ssl verify none\n",
    },
}

#: The kubeapi-proxy dummy app installed with DC/OS Kubernetes (same shape, another backend).
KUBEAPI_PROXY_APP: dict[str, Any] = {
    **copy.deepcopy(KUBECTL_PROXY_APP),
    "id": "/kubeapi-proxy",
    "labels": {**KUBECTL_PROXY_APP["labels"], "HAPROXY_0_BACKEND_SERVER_OPTIONS":
               "  timeout connect 10s\n  timeout client 86400s\n  timeout server 86400s\n  timeout tunnel 86400s\n"
               "  server kube-apiserver apiserver.devkubernetes01.l4lb.thisdcos.directory:6443 ssl verify none\n"},
}

#: Keys of an app read back that the client never sent.
RUNTIME_KEYS = {"version", "versionInfo", "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy",
                "deployments", "tasks", "lastTaskFailure"}

MULTI_AGENT_SEED = """
agents:
  - {name: public-1, public: true}
  - {name: private-1, attributes: {rack: r1, zone: a}}
  - {name: private-2, attributes: {rack: r2, zone: a}}
  - {name: private-3, attributes: {rack: r3, zone: b}}
kubernetes: [kubernetes]
"""


# -- helpers ----------------------------------------------------------------------------------------
def wait_for(predicate: Callable[[], Any], timeout: float = EVENTUALLY, what: str = "condition") -> Any:
    """Poll ``predicate`` every 20 ms until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def deployment_ids(m: str) -> set[str]:
    return {d["id"] for d in requests.get(f"{m}/v2/deployments", timeout=TIMEOUT).json()}


def wait_deployed(m: str, deployment_id: str, timeout: float = 5.0) -> None:
    wait_for(lambda: deployment_id not in deployment_ids(m), timeout, f"deployment {deployment_id}")


def stays_deploying(m: str, deployment_id: str, seconds: float = 0.4) -> bool:
    """True if the deployment is still running after ``seconds`` (many runner ticks)."""
    time.sleep(seconds)
    return deployment_id in deployment_ids(m)


def create(m: str, app: dict[str, Any], wait: bool = True) -> requests.Response:
    r = requests.post(f"{m}/v2/apps", json=app, timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    if wait:
        wait_deployed(m, r.headers["Marathon-Deployment-Id"])
    return r


def put(m: str, app_id: str, body: Any, wait: bool = True, **params: str) -> requests.Response:
    r = requests.put(f"{m}/v2/apps{app_id}", json=body, params=params, timeout=TIMEOUT)
    assert r.status_code in (200, 201), r.text
    if wait:
        wait_deployed(m, r.json()["deploymentId"])
    return r


def get_app(m: str, app_id: str) -> dict[str, Any]:
    r = requests.get(f"{m}/v2/apps{app_id}", timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()["app"]


def definition(app: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in app.items() if k not in RUNTIME_KEYS}


def details(r: requests.Response) -> dict[str, list[str]]:
    return {d["path"]: d["errors"] for d in r.json()["details"]}


def agents(sim) -> dict[str, dict[str, Any]]:
    """Agents by hostname (their own loopback address)."""
    return {a["hostname"]: a for a in requests.get(f"{sim.url}/_sim/cluster", timeout=TIMEOUT).json()["agents"]}


def task_agents(sim, app_id: str) -> list[dict[str, Any]]:
    by_host = agents(sim)
    return [by_host[t["host"]] for t in get_app(sim.marathon, app_id)["tasks"]]


@pytest.fixture
def sim_factory(sim_factory) -> Callable[..., RunningSim]:
    """API-only simulators (conftest's factory with the data plane off): these tests are about
    Marathon's API, and the seeds' HAProxy app must deploy without an haproxy.cfg on the agent
    (the data plane would really run it)."""
    return functools.partial(sim_factory, dataplane=False)


@pytest.fixture
def m(sim) -> str:
    return sim.marathon


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Iterator[RunningSim]:
    """One simulator for the tests that only read, fail validation, or create apps with ids of
    their own (a simulator per test would cost a start and a stop each)."""
    sim = Simulator(SimConfig(state_dir=tmp_path_factory.mktemp("marathon-shared"), auth="none"),
                    dataplane=False).start()
    yield RunningSim(sim, sim.base_url)
    sim.stop()


@pytest.fixture
def multi_agent_sim(sim_factory, tmp_path):
    seed = tmp_path / "seed.yaml"
    seed.write_text(MULTI_AGENT_SEED)
    return sim_factory(auth="none", seed_file=seed)


# -- apps: create, read, list -------------------------------------------------------------------------
def test_post_answers_201_with_location_deployment_header_and_the_pre_assignment_app(m):
    r = requests.post(f"{m}/v2/apps", json={"id": "web", "cmd": "sleep 100"}, timeout=TIMEOUT)
    assert r.status_code == 201
    body = r.json()
    deployment_id = r.headers["Marathon-Deployment-Id"]
    assert r.headers["Location"].endswith("/web")
    assert body["id"] == "/web"
    assert body["deployments"] == [{"id": deployment_id}]
    assert (body["tasksStaged"], body["tasksRunning"], body["tasksHealthy"], body["tasksUnhealthy"]) == (0, 0, 0, 0)
    assert "versionInfo" not in body and "tasks" not in body
    assert body["portDefinitions"] == [{"port": 0, "name": "default", "protocol": "tcp"}]  # before assignment
    # The change is stored before the answer: GET shows it with the deployment at once.
    app = get_app(m, "/web")
    assert app["version"] == body["version"]
    assert app["deployments"] in ([{"id": deployment_id}], [])
    assert 10000 <= app["portDefinitions"][0]["port"] <= 20000
    wait_deployed(m, deployment_id)
    app = get_app(m, "/web")
    assert app["deployments"] == [] and app["tasksRunning"] == 1
    assert app["versionInfo"] == {"lastScalingAt": app["version"], "lastConfigChangeAt": app["version"]}


def test_get_app_always_embeds_tasks_and_list_embeds_them_only_on_request(m):
    create(m, {"id": "/a", "cmd": "x", "instances": 2})
    app = get_app(m, "/a")
    assert len(app["tasks"]) == 2 and app["tasksRunning"] == 2
    task = app["tasks"][0]
    assert set(task) == {"id", "appId", "host", "slaveId", "state", "stagedAt", "startedAt", "version", "ports",
                         "servicePorts", "ipAddresses", "role"}
    assert task["id"].startswith("a.instance-") and task["id"].endswith("._app.1")
    assert task["servicePorts"] == [app["portDefinitions"][0]["port"]]
    assert task["ports"][0] >= 31000 and task["state"] == "TASK_RUNNING"
    listed = requests.get(f"{m}/v2/apps", timeout=TIMEOUT).json()["apps"]
    assert "tasks" not in listed[0] and listed[0]["tasksRunning"] == 2 and listed[0]["deployments"] == []
    for embed in ("apps.tasks", "app.tasks", "tasks"):
        listed = requests.get(f"{m}/v2/apps", params={"embed": embed}, timeout=TIMEOUT).json()["apps"]
        assert len(listed[0]["tasks"]) == 2


def test_list_filters_by_id_cmd_and_label_selector(m):
    create(m, {"id": "/prod/web", "cmd": "run web", "labels": {"env": "prod", "tier": "front"}}, wait=False)
    create(m, {"id": "/prod/db", "cmd": "run DB", "labels": {"env": "prod"}}, wait=False)
    create(m, {"id": "/dev/web", "cmd": "run web", "labels": {"env": "dev", "tier": "front"}}, wait=False)

    def ids(**params: str) -> list[str]:
        r = requests.get(f"{m}/v2/apps", params=params, timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        return [a["id"] for a in r.json()["apps"]]

    assert ids() == ["/dev/web", "/prod/db", "/prod/web"]
    assert ids(id="PROD") == ["/prod/db", "/prod/web"]
    assert ids(cmd="db") == ["/prod/db"]
    assert ids(label="env==prod") == ["/prod/db", "/prod/web"]
    assert ids(label="env != prod") == ["/dev/web"]
    assert ids(label="tier") == ["/dev/web", "/prod/web"]
    assert ids(label="env==prod,tier") == ["/prod/web"]
    assert ids(label="env in (dev, qa)") == ["/dev/web"]
    assert ids(label="env notin (dev)") == ["/prod/db", "/prod/web"]
    r = requests.get(f"{m}/v2/apps", params={"label": "env==(("}, timeout=TIMEOUT)
    assert r.status_code == 422 and r.json()["message"].startswith("Can not parse label selector")


def test_group_listing_returns_the_apps_below_a_group(m):
    create(m, {"id": "/g/one", "cmd": "x"}, wait=False)
    create(m, {"id": "/g/sub/two", "cmd": "x"}, wait=False)
    create(m, {"id": "/other", "cmd": "x"}, wait=False)
    r = requests.get(f"{m}/v2/apps/g/*", timeout=TIMEOUT)
    assert [a["id"] for a in r.json()["*"]] == ["/g/one", "/g/sub/two"]
    assert requests.get(f"{m}/v2/apps/nope/*", timeout=TIMEOUT).json() == {"message": "Group '/nope' does not exist"}


# -- apps: PUT, PATCH, versions ----------------------------------------------------------------------
def test_put_creates_with_201_and_updates_with_200(m):
    r = put(m, "/svc", {"cmd": "a", "id": "/ignored"})
    assert r.status_code == 201
    assert r.headers["Marathon-Deployment-Id"] == r.json()["deploymentId"]
    assert get_app(m, "/svc")["id"] == "/svc"  # the body's id is ignored
    r = put(m, "/svc", {"cmd": "b"})
    assert r.status_code == 200 and set(r.json()) == {"deploymentId", "version"}
    assert get_app(m, "/svc")["cmd"] == "b"


def test_partial_update_keeps_omitted_fields_and_full_replacement_resets_them(m):
    put(m, "/p", {"cmd": "a", "labels": {"keep": "me"}, "mem": 64, "instances": 2})
    put(m, "/p", {"cmd": "b"})  # partialUpdate=true is the default
    app = get_app(m, "/p")
    assert (app["cmd"], app["labels"], app["mem"], app["instances"]) == ("b", {"keep": "me"}, 64.0, 2)
    put(m, "/p", {"cmd": "c"}, partialUpdate="false")
    app = get_app(m, "/p")
    assert (app["cmd"], app["labels"], app["mem"], app["instances"]) == ("c", {}, 128.0, 1)


def test_identical_put_is_a_zero_step_plan_that_keeps_the_version(m):
    body = {"cmd": "same", "labels": {"a": "b"}}
    put(m, "/same", body, partialUpdate="false")
    before = get_app(m, "/same")
    r = requests.put(f"{m}/v2/apps/same", json=body, params={"partialUpdate": "false"}, timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json()["deploymentId"] not in deployment_ids(m)  # finished at once
    after = get_app(m, "/same")
    assert (after["version"], after["versionInfo"]) == (before["version"], before["versionInfo"])
    assert [t["id"] for t in after["tasks"]] == [t["id"] for t in before["tasks"]]


def test_scale_changes_version_and_last_scaling_only_and_keeps_tasks(m):
    put(m, "/s", {"cmd": "x"})
    before = get_app(m, "/s")
    put(m, "/s", {"instances": 3})
    after = get_app(m, "/s")
    assert after["version"] != before["version"]
    assert after["versionInfo"]["lastScalingAt"] == after["version"]
    assert after["versionInfo"]["lastConfigChangeAt"] == before["versionInfo"]["lastConfigChangeAt"]
    assert before["tasks"][0]["id"] in [t["id"] for t in after["tasks"]] and after["tasksRunning"] == 3
    put(m, "/s", {"instances": 1})
    assert get_app(m, "/s")["tasksRunning"] == 1


def test_config_change_replaces_tasks_and_records_a_version(m):
    put(m, "/c", {"cmd": "one"})
    first = get_app(m, "/c")
    put(m, "/c", {"cmd": "two"})
    second = get_app(m, "/c")
    assert second["versionInfo"] == {"lastScalingAt": second["version"], "lastConfigChangeAt": second["version"]}
    assert {t["id"] for t in first["tasks"]}.isdisjoint(t["id"] for t in second["tasks"])
    assert second["tasks"][0]["version"] == second["version"]
    versions = requests.get(f"{m}/v2/apps/c/versions", timeout=TIMEOUT).json()["versions"]
    assert set(versions) == {first["version"], second["version"]}
    old = requests.get(f"{m}/v2/apps/c/versions/{first['version']}", timeout=TIMEOUT).json()
    assert old["cmd"] == "one" and old["version"] == first["version"] and "app" not in old
    r = requests.get(f"{m}/v2/apps/c/versions/2001-01-01T00:00:00.000Z", timeout=TIMEOUT)
    assert r.status_code == 404
    assert r.json() == {"message": "App '/c' does not exist in version 2001-01-01T00:00:00.000Z"}


def test_put_with_version_rolls_back_and_partial_update_false_ignores_it(m):
    put(m, "/r", {"cmd": "one"})
    v1 = get_app(m, "/r")["version"]
    put(m, "/r", {"cmd": "two"})
    put(m, "/r", {"version": v1, "cmd": "ignored"})
    assert get_app(m, "/r")["cmd"] == "one"
    r = requests.put(f"{m}/v2/apps/r", json={"version": "1999-01-01T00:00:00.000Z"}, timeout=TIMEOUT)
    assert r.status_code == 404
    put(m, "/r", {"version": v1, "cmd": "three"}, partialUpdate="false")
    assert get_app(m, "/r")["cmd"] == "three"


def test_patch_updates_partially_and_needs_an_existing_app(m):
    put(m, "/pt", {"cmd": "a", "labels": {"x": "y"}})
    r = requests.patch(f"{m}/v2/apps/pt", json={"mem": 32}, timeout=TIMEOUT)
    assert r.status_code == 200 and r.headers["Marathon-Deployment-Id"] == r.json()["deploymentId"]
    app = get_app(m, "/pt")
    assert (app["cmd"], app["labels"], app["mem"]) == ("a", {"x": "y"}, 32.0)
    r = requests.patch(f"{m}/v2/apps/missing", json={"mem": 32}, timeout=TIMEOUT)
    assert r.status_code == 404 and r.json() == {"message": "App '/missing' does not exist"}


def test_put_multiple_apps_in_one_deployment(m):
    r = requests.put(f"{m}/v2/apps", json=[{"id": "/m1", "cmd": "a"}, {"id": "m2", "cmd": "b"}], timeout=TIMEOUT)
    assert r.status_code == 200
    plans = {d["id"]: d for d in requests.get(f"{m}/v2/deployments", timeout=TIMEOUT).json()}
    if r.json()["deploymentId"] in plans:
        assert sorted(plans[r.json()["deploymentId"]]["affectedApps"]) == ["/m1", "/m2"]
    wait_deployed(m, r.json()["deploymentId"])
    assert get_app(m, "/m2")["tasksRunning"] == 1
    r = requests.put(f"{m}/v2/apps", json=[{"cmd": "no id"}], timeout=TIMEOUT)
    assert r.status_code == 422 and r.json() == {"message": "requirement failed: App Update must have app id set"}


# -- apps: delete, restart, tasks ---------------------------------------------------------------------
def test_delete_defaults_to_force_and_the_app_is_gone_at_once(sim_factory):
    sim = sim_factory(auth="none", timing=Timing(task_kill=0.5))  # the StopApplication plan stays visible
    m = sim.marathon
    create(m, {"id": "/d", "cmd": "x", "instances": 2})
    sim.set_faults(hang_deployments=True)
    stuck = put(m, "/d", {"cmd": "y"}, wait=False).json()["deploymentId"]
    r = requests.delete(f"{m}/v2/apps/d", params={"force": "false"}, timeout=TIMEOUT)
    assert r.status_code == 409
    r = requests.delete(f"{m}/v2/apps/d", timeout=TIMEOUT)  # default force=true cancels the stuck plan
    assert r.status_code == 200 and r.headers["Marathon-Deployment-Id"] == r.json()["deploymentId"]
    assert stuck not in deployment_ids(m)
    assert requests.get(f"{m}/v2/apps/d", timeout=TIMEOUT).status_code == 404
    stop = r.json()["deploymentId"]
    plan = next(d for d in requests.get(f"{m}/v2/deployments", timeout=TIMEOUT).json() if d["id"] == stop)
    assert plan["steps"] == [{"actions": [{"action": "StopApplication", "app": "/d"}]}]
    wait_deployed(m, stop)
    assert not [t for t in requests.get(f"{m}/v2/tasks", timeout=TIMEOUT).json()["tasks"] if t["appId"] == "/d"]
    r = requests.delete(f"{m}/v2/apps/d", timeout=TIMEOUT)
    assert r.status_code == 404 and r.json() == {"message": "App '/d' does not exist"}


def test_restart_replaces_every_task_with_a_new_version(m):
    create(m, {"id": "/rs", "cmd": "x", "instances": 2})
    before = get_app(m, "/rs")
    r = requests.post(f"{m}/v2/apps/rs/restart", timeout=TIMEOUT)
    assert r.status_code == 200 and set(r.json()) == {"deploymentId", "version"}
    wait_deployed(m, r.json()["deploymentId"])
    after = get_app(m, "/rs")
    assert after["version"] == r.json()["version"] != before["version"]
    assert {t["id"] for t in before["tasks"]}.isdisjoint(t["id"] for t in after["tasks"])
    assert requests.post(f"{m}/v2/apps/nope/restart", timeout=TIMEOUT).status_code == 404


def test_kill_tasks_relaunches_them_and_scale_lowers_instances(m):
    create(m, {"id": "/k", "cmd": "x", "instances": 3})
    tasks = requests.get(f"{m}/v2/apps/k/tasks", timeout=TIMEOUT).json()["tasks"]
    assert len(tasks) == 3
    r = requests.delete(f"{m}/v2/apps/k/tasks/{tasks[0]['id']}", timeout=TIMEOUT)
    assert r.status_code == 200 and r.json()["task"]["id"] == tasks[0]["id"]
    wait_for(lambda: tasks[0]["id"] not in {t["id"] for t in get_app(m, "/k")["tasks"]}
             and get_app(m, "/k")["tasksRunning"] == 3, what="a replacement task")
    r = requests.delete(f"{m}/v2/apps/k/tasks/{tasks[1]['id']}", params={"scale": "true"}, timeout=TIMEOUT)
    assert r.status_code == 200 and set(r.json()) == {"deploymentId", "version"}
    wait_deployed(m, r.json()["deploymentId"])
    app = get_app(m, "/k")
    assert app["instances"] == 2 and app["tasksRunning"] == 2
    r = requests.delete(f"{m}/v2/apps/k/tasks", params={"scale": "true"}, timeout=TIMEOUT)
    wait_deployed(m, r.json()["deploymentId"])
    assert get_app(m, "/k")["instances"] == 0
    r = requests.delete(f"{m}/v2/apps/k/tasks/k.instance-nope._app.1", timeout=TIMEOUT)
    assert r.status_code == 404 and r.json() == {"message": "Task 'k.instance-nope._app.1' does not exist"}


def test_v2_tasks_lists_every_task_and_filters_by_status(sim, m):
    create(m, {"id": "/t1", "cmd": "x"})
    sim.set_faults(hang_deployments=True)
    create(m, {"id": "/t2", "cmd": "x"}, wait=False)
    wait_for(lambda: len(requests.get(f"{m}/v2/tasks", timeout=TIMEOUT).json()["tasks"]) == 2, what="two tasks")
    running = requests.get(f"{m}/v2/tasks", params={"status": "running"}, timeout=TIMEOUT).json()["tasks"]
    staging = requests.get(f"{m}/v2/tasks", params={"status": "staging"}, timeout=TIMEOUT).json()["tasks"]
    assert [t["appId"] for t in running] == ["/t1"] and [t["appId"] for t in staging] == ["/t2"]
    r = requests.post(f"{m}/v2/tasks/delete", json={"ids": [running[0]["id"]]}, timeout=TIMEOUT)
    assert r.status_code == 200 and [t["id"] for t in r.json()["tasks"]] == [running[0]["id"]]


# -- deployments -----------------------------------------------------------------------------------
def test_deployment_list_shape_while_running(sim, m):
    sim.set_faults(hang_deployments=True)
    r = create(m, {"id": "/dep", "cmd": "x"}, wait=False)
    deployment_id = r.headers["Marathon-Deployment-Id"]

    def scaling() -> dict | None:
        plans = requests.get(f"{m}/v2/deployments", timeout=TIMEOUT).json()
        return next((p for p in plans if p["id"] == deployment_id and p["currentStep"] == 2), None)

    plan = wait_for(scaling, what="the ScaleApplication step")
    assert set(plan) == {"id", "version", "affectedApps", "affectedPods", "steps", "currentActions", "currentStep",
                         "totalSteps"}
    assert plan["affectedApps"] == ["/dep"] and plan["affectedPods"] == [] and plan["totalSteps"] == 2
    assert plan["steps"] == [{"actions": [{"action": "StartApplication", "app": "/dep"}]},
                             {"actions": [{"action": "ScaleApplication", "app": "/dep"}]}]
    assert plan["currentActions"] == [{"action": "ScaleApplication", "app": "/dep", "readinessCheckResults": []}]
    assert plan["version"] == get_app(m, "/dep")["version"]
    assert get_app(m, "/dep")["deployments"] == [{"id": deployment_id}]
    assert stays_deploying(m, deployment_id)
    sim.set_faults(hang_deployments=False)
    put(m, "/dep", {"cmd": "y"}, force="true")  # replacing the stuck plan lets it go
    assert get_app(m, "/dep")["deployments"] == []
    assert requests.get(f"{m}/v2/deployments", timeout=TIMEOUT).json() == []


def test_cancel_deployment_rolls_back_or_stops(sim, m):
    create(m, {"id": "/cx", "cmd": "one"})
    running = get_app(m, "/cx")
    sim.set_faults(hang_deployments=True)
    stuck = put(m, "/cx", {"cmd": "two"}, wait=False).json()["deploymentId"]
    r = requests.delete(f"{m}/v2/deployments/{stuck}", timeout=TIMEOUT)  # force=false: roll back
    assert r.status_code == 200 and set(r.json()) == {"deploymentId", "version"}
    assert r.headers["Marathon-Deployment-Id"] == r.json()["deploymentId"] != stuck
    app = get_app(m, "/cx")
    assert (app["cmd"], app["version"]) == ("one", running["version"])
    wait_deployed(m, r.json()["deploymentId"])
    assert [t["id"] for t in get_app(m, "/cx")["tasks"]] == [t["id"] for t in running["tasks"]]

    stuck = put(m, "/cx", {"cmd": "three"}, wait=False).json()["deploymentId"]
    r = requests.delete(f"{m}/v2/deployments/{stuck}", params={"force": "true"}, timeout=TIMEOUT)
    assert r.status_code == 202 and r.content == b""
    assert stuck not in deployment_ids(m) and get_app(m, "/cx")["cmd"] == "three"
    r = requests.delete(f"{m}/v2/deployments/{stuck}", timeout=TIMEOUT)
    assert r.status_code == 404 and r.json() == {"message": f"DeploymentPlan {stuck} does not exist"}


def test_cancelling_a_create_rolls_the_app_away(sim, m):
    sim.set_faults(hang_deployments=True)
    stuck = create(m, {"id": "/new", "cmd": "x"}, wait=False).headers["Marathon-Deployment-Id"]
    r = requests.delete(f"{m}/v2/deployments/{stuck}", timeout=TIMEOUT)
    assert r.status_code == 200
    assert requests.get(f"{m}/v2/apps/new", timeout=TIMEOUT).status_code == 404


def test_409_while_the_seed_haproxy_update_cannot_finish_and_force_overrides(m):
    create(m, HAPROXY_APP)
    assert get_app(m, "/kubernetes-haproxy")["tasksRunning"] == 1
    # The default upgrade strategy needs the old task up while the new one starts, but both
    # want host port 6443 on the only public agent: the update never finishes.
    stuck = put(m, "/kubernetes-haproxy", {"cpus": 0.2}, wait=False).json()["deploymentId"]
    assert stays_deploying(m, stuck)
    for method, url in (("PUT", "/v2/apps/kubernetes-haproxy"), ("PATCH", "/v2/apps/kubernetes-haproxy"),
                        ("POST", "/v2/apps/kubernetes-haproxy/restart")):
        r = requests.request(method, f"{m}{url}", json={"cpus": 0.3}, timeout=TIMEOUT)
        assert r.status_code == 409, (method, r.text)
        assert r.json() == {
            "message": "App is locked by one or more deployments. Override with the option '?force=true'. "
                       f"View details at '/v2/deployments/{stuck}'.",
            "deployments": [{"id": stuck}]}
    r = requests.put(f"{m}/v2/apps/kubernetes-haproxy", params={"force": "true"}, timeout=TIMEOUT,
                     json={"cpus": 0.3, "upgradeStrategy": {"minimumHealthCapacity": 0, "maximumOverCapacity": 0}})
    assert r.status_code == 200
    assert stuck not in deployment_ids(m)
    wait_deployed(m, r.json()["deploymentId"])
    assert get_app(m, "/kubernetes-haproxy")["tasks"][0]["ports"] == [6443]


# -- /v2/info, /ping, /v2/events ----------------------------------------------------------------------
def test_info_has_exactly_marathon_1_10_keys(shared):
    m = shared.marathon
    info = requests.get(f"{m}/v2/info", timeout=TIMEOUT).json()
    assert set(info) == {"name", "version", "buildref", "elected", "leader", "frameworkId", "marathon_config",
                         "zookeeper_config", "http_config"}
    assert set(info["marathon_config"]) == {
        "access_control_allow_origin", "checkpoint", "decline_offer_duration", "default_network_name",
        "env_vars_prefix", "executor", "failover_timeout", "features", "framework_name", "ha", "hostname",
        "launch_token", "launch_token_refresh_interval", "leader_proxy_connection_timeout_ms",
        "leader_proxy_read_timeout_ms", "local_port_max", "local_port_min", "master", "max_instances_per_offer",
        "mesos_bridge_name", "mesos_heartbeat_failure_threshold", "mesos_heartbeat_interval", "mesos_leader_ui_url",
        "mesos_role", "mesos_user", "min_revive_offers_interval", "offer_matching_timeout",
        "on_elected_prepare_timeout", "reconciliation_initial_delay", "reconciliation_interval",
        "revive_offers_for_new_apps", "revive_offers_repetitions", "scale_apps_initial_delay", "scale_apps_interval",
        "store_cache", "task_launch_confirm_timeout", "task_launch_timeout", "task_lost_expunge_initial_delay",
        "task_lost_expunge_interval", "task_reservation_timeout", "webui_url"}
    assert set(info["zookeeper_config"]) == {"zk", "zk_compression", "zk_compression_threshold",
                                             "zk_connection_timeout", "zk_max_node_size", "zk_max_versions",
                                             "zk_session_timeout", "zk_timeout"}
    assert info["http_config"] == {"http_port": 8080, "https_port": 8443}
    config = info["marathon_config"]
    assert (config["mesos_role"], config["local_port_min"], config["local_port_max"]) == ("slave_public", 10000, 20000)


def test_ping_answers_text_json_or_no_content(shared):
    m = shared.marathon
    for base in (m, shared.url):  # through Admin Router and on Marathon's own port
        r = requests.get(f"{base}/ping", timeout=TIMEOUT)
        assert (r.status_code, r.text, r.headers["Content-Type"].split(";")[0]) == (200, "pong", "text/plain")
    r = requests.get(f"{m}/ping", headers={"Accept": "application/json"}, timeout=TIMEOUT)
    assert (r.status_code, r.json(), r.headers["Content-Type"]) == (200, "pong", "application/json")
    assert requests.get(f"{m}/ping", headers={"Accept": "image/png"}, timeout=TIMEOUT).status_code == 204


@pytest.mark.parametrize("accept", [None, "application/json", "text/event-stream, application/json"])
def test_events_need_the_exact_accept_header(shared, accept):
    m = shared.marathon
    headers = {"Accept": accept} if accept else {"Accept": ""}
    r = requests.get(f"{m}/v2/events", headers=headers, timeout=TIMEOUT)
    assert r.status_code == 405 and r.headers["Content-Type"].startswith("text/html")


def read_events(m: str, until: Callable[[list[dict]], bool], action: Callable[[], None] = lambda: None,
                timeout: float = 5.0, **params: Any) -> list[dict]:
    """Open /v2/events, run ``action`` (the subscription exists once the headers are in), and
    collect events until ``until`` holds."""
    events: list[dict] = []
    with requests.get(f"{m}/v2/events", headers={"Accept": "text/event-stream"}, params=params, stream=True,
                      timeout=(TIMEOUT, 3)) as r:
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "text/event-stream;charset=UTF-8"
        action()
        deadline = time.monotonic() + timeout
        lines = r.iter_lines()
        kinds: list[str] = []
        for line in lines:
            if line.startswith(b"event: "):
                kinds.append(line[7:].decode())
            elif line.startswith(b"data: "):
                event = json.loads(line[6:])
                assert event["eventType"] == kinds[-1] and "timestamp" in event
                events.append(event)
                if until(events):
                    return events
            if time.monotonic() > deadline:
                pytest.fail(f"events so far: {[e['eventType'] for e in events]}")
    return events


def test_events_stream_a_create_from_attach_to_deployment_success(m):
    def post() -> None:
        create(m, {"id": "/ev", "cmd": "x"}, wait=False)

    events = read_events(m, lambda evs: evs[-1]["eventType"] == "deployment_success", post)
    kinds = [e["eventType"] for e in events]
    assert kinds[0] == "event_stream_attached"
    for kind in ("api_post_event", "group_change_success", "deployment_info", "status_update_event",
                 "instance_changed_event", "deployment_step_success", "deployment_success"):
        assert kind in kinds
    assert kinds.index("api_post_event") < kinds.index("deployment_info") < kinds.index("deployment_success")
    post_event = events[kinds.index("api_post_event")]
    assert post_event["appDefinition"]["id"] == "/ev" and post_event["uri"] == "/v2/apps/ev"
    statuses = [e["taskStatus"] for e in events if e["eventType"] == "status_update_event"]
    assert statuses == ["TASK_STAGING", "TASK_RUNNING"]
    info = events[kinds.index("deployment_info")]
    assert set(info["plan"]) == {"id", "steps", "version"} and "actions" in info["currentStep"]


def test_events_filter_by_type(m):
    def post() -> None:
        create(m, {"id": "/ev2", "cmd": "x"}, wait=False)

    events = read_events(m, lambda evs: len(evs) >= 2, post, event_type=["status_update_event"])
    assert {e["eventType"] for e in events} == {"status_update_event"}


# -- error shapes ---------------------------------------------------------------------------------
@pytest.mark.parametrize("data,message", [
    (b"", "Please specify data in JSON format"),
    (b"   ", "Please specify data in JSON format"),
    (b"{\"id\": ", "Invalid JSON"),
    (b"not json", "Invalid JSON"),
    (b"{\"id\": \"/x\", \"cpus\": NaN, \"cmd\": \"x\"}", "Invalid JSON"),
])
def test_400_for_missing_or_unparsable_bodies(shared, data, message):
    m = shared.marathon
    for method, url in (("POST", "/v2/apps"), ("PUT", "/v2/apps/x"), ("PUT", "/v2/apps")):
        r = requests.request(method, f"{m}{url}", data=data, headers={"Content-Type": "application/json"},
                             timeout=TIMEOUT)
        assert r.status_code == 400 and r.json()["message"] == message
        assert isinstance(r.json()["details"], str)


def test_422_invalid_json_uses_play_error_keys_and_index_paths(shared):
    m = shared.marathon
    body = {
        "cmd": "x", "instances": -1, "cpus": "a lot", "mem": 1.5, "gpus": 0.5, "requirePorts": "yes",
        "labels": {"ok": "fine", "bad": 1},
        "portDefinitions": [{"port": 0}, {"port": 70000, "protocol": "sctp", "name": "Not_Valid"}],
        "constraints": [["hostname", 1]],
        "networks": [{"mode": "bridge"}],
        "container": {"type": "ROCKET", "docker": {"forcePullImage": "no"},
                      "volumes": [{"containerPath": "/data"}]},
        "healthChecks": [{"protocol": "HTTP", "portIndex": -1}],
        "upgradeStrategy": {"minimumHealthCapacity": 2},
    }
    r = requests.post(f"{m}/v2/apps", json=body, timeout=TIMEOUT)
    assert r.status_code == 422 and r.json()["message"] == "Invalid JSON"
    assert details(r) == {
        "/id": ["error.path.missing"],
        "/instances": ["error.min"],
        "/cpus": ["error.expected.jsnumber"],
        "/gpus": ["error.expected.int"],
        "/requirePorts": ["error.expected.jsboolean"],
        "/labels/bad": ["error.expected.jsstring"],
        "/portDefinitions(1)/port": ["error.max"],
        "/portDefinitions(1)/protocol": ["error.unknown.enum.literal"],
        "/portDefinitions(1)/name": ["error.pattern"],
        "/constraints(0)(1)": ["error.expected.jsstring"],
        "/networks(0)/mode": ["error.unknown.enum.literal"],
        "/container/type": ["error.unknown.enum.literal"],
        "/container/docker/image": ["error.path.missing"],
        "/container/docker/forcePullImage": ["error.expected.jsboolean"],
        "/container/volumes(0)/hostPath": ["error.path.missing"],
        "/container/volumes(0)/mode": ["error.path.missing"],
        "/healthChecks(0)/portIndex": ["error.min"],
        "/upgradeStrategy/minimumHealthCapacity": ["error.max"],
    }
    r = requests.post(f"{m}/v2/apps", json=[{"id": "/x"}], timeout=TIMEOUT)
    assert r.status_code == 422 and details(r) == {"/": ["error.expected.jsobject"]}
    r = requests.post(f"{m}/v2/apps", json={"id": 123, "cmd": "x"}, timeout=TIMEOUT)
    assert details(r) == {"/id": ["error.expected.jsstring"]}


@pytest.mark.parametrize("body,path,error", [
    ({"id": "/n"}, "/", "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."),
    ({"id": "/n", "cmd": "x", "args": ["y"]}, "/",
     "AppDefinition must either contain a 'cmd' or a 'args', but not both"),
    ({"id": "/n", "cmd": "x", "portDefinitions": [{"port": 0, "name": "a"}, {"port": 0, "name": "a"}]},
     "/portDefinitions", "Port names must be unique."),
    ({"id": "/n", "cmd": "x", "portDefinitions": [{"port": 8080}, {"port": 8080}]},
     "/portDefinitions", "Ports must be unique."),
    ({"id": "/n", "cmd": "x", "acceptedResourceRoles": ["ops"]},
     "/acceptedResourceRoles", "acceptedResourceRoles can only contain * and slave_public"),
    ({"id": "/n", "cmd": "x", "constraints": [["hostname", "UNIQUE", "x"]]},
     "/constraints(0)", "UNIQUE does not accept a value"),
    ({"id": "/n", "cmd": "x", "constraints": [["hostname", "NEAR"]]}, "/constraints(0)",
     "operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS"),
    ({"id": "/n", "cmd": "x", "constraints": [["rack", "MAX_PER", "two"]]},
     "/constraints(0)", "MAX_PER requires an integer value"),
    ({"id": "/n", "cmd": "x", "constraints": [["hostname"]]},
     "/constraints(0)", "Each constraint must have either 2 or 3 fields"),
    ({"id": "/n", "cmd": "x", "env": {"PW": {"secret": "pw"}}}, "/env/PW/secret", "references an undefined secret"),
    ({"id": "/n", "cmd": "x", "healthChecks": [{"protocol": "TCP", "portIndex": 2}]}, "/healthChecks(0)",
     "Health check port indices must address an element of the ports array or container port mappings."),
    ({"id": "/n", "cmd": "x", "networks": [{"mode": "container/bridge"}], "portDefinitions": [{"port": 0}]},
     "/", "portDefinitions are only allowed with host-networking"),
    ({"id": "/n", "cmd": "x", "networks": [{"mode": "host", "name": "dcos"}]},
     "/networks(0)", "Host networks may not have names or labels"),
    ({"id": "/n", "cmd": "x", "networks": [{"mode": "host"}, {"mode": "container"}]}, "/networks",
     "May specify a single host network, single bridge network, or else 1-to-n container networks"),
    ({"id": "/n", "container": {"type": "DOCKER"}}, "/container/docker", "not defined"),
    ({"id": "/n", "cmd": "x", "container": {"type": "MESOS", "docker": {"image": "i", "parameters": [
        {"key": "a", "value": "b"}]}}}, "/container/docker/parameters", "must be empty"),
    ({"id": "/n", "cmd": "x", "role": "ops"}, "/role", 'got "ops", expected one of: [slave_public]'),
])
def test_422_object_is_not_valid(shared, body, path, error):
    m = shared.marathon
    r = requests.post(f"{m}/v2/apps", json=body, timeout=TIMEOUT)
    assert r.status_code == 422 and r.json()["message"] == "Object is not valid", r.text
    assert error in details(r).get(path, []), r.text


def test_service_port_range_exhaustion_is_a_422(shared):
    body = {"id": "/many-ports", "cmd": "x", "portDefinitions": [{"port": 0}] * 10001}
    r = requests.post(f"{shared.marathon}/v2/apps", json=body, timeout=TIMEOUT)
    assert r.status_code == 422 and r.json() == {"message": "All ports in the range 10000-20000 are already in use"}
    assert requests.get(f"{shared.marathon}/v2/apps/many-ports", timeout=TIMEOUT).status_code == 404


def test_secrets_need_the_feature(sim_factory):
    body = {"id": "/s", "cmd": "x", "env": {"PW": {"secret": "pw"}}, "secrets": {"pw": {"source": "a/b"}}}
    enterprise = sim_factory(auth="none")
    assert requests.post(f"{enterprise.marathon}/v2/apps", json=body, timeout=TIMEOUT).status_code == 201
    oss = sim_factory(auth="none", marathon_features=("vips", "task_killing", "external_volumes", "gpu_resources"))
    r = requests.post(f"{oss.marathon}/v2/apps", json=body, timeout=TIMEOUT)
    assert r.status_code == 422
    assert details(r)["/secrets"] == ["Feature secrets is not enabled. Enable with --enable_features secrets)"]


def test_404_and_409_messages(m):
    for method, url in (("GET", "/v2/apps/ghost"), ("DELETE", "/v2/apps/ghost"), ("PATCH", "/v2/apps/ghost"),
                        ("POST", "/v2/apps/ghost/restart"), ("GET", "/v2/apps/ghost/versions"),
                        ("GET", "/v2/apps/ghost/tasks"), ("DELETE", "/v2/apps/ghost/tasks")):
        r = requests.request(method, f"{m}{url}", json={"cmd": "x"}, timeout=TIMEOUT)
        assert r.status_code == 404 and r.json() == {"message": "App '/ghost' does not exist"}, (method, url)
    create(m, {"id": "/dup", "cmd": "x"}, wait=False)
    r = requests.post(f"{m}/v2/apps", json={"id": "dup", "cmd": "y"}, timeout=TIMEOUT)
    assert r.status_code == 409 and r.json() == {"message": "An app with id [/dup] already exists."}
    assert requests.get(f"{m}/v2/nothing", timeout=TIMEOUT).json() == {"message": "URI not found"}
    assert requests.delete(f"{m}/v2/deployments", timeout=TIMEOUT).status_code == 405


# -- ids -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw,canonical", [
    ("relative", "/relative"),
    ("/a/b/../c", "/a/c"),
    ("/trailing/", "/trailing"),
    ("//double//slash", "/double/slash"),
    ("/dots.are.ok/x-1", "/dots.are.ok/x-1"),
])
def test_ids_are_stored_absolute_and_normalised(shared, raw, canonical):
    m = shared.marathon
    r = requests.post(f"{m}/v2/apps", json={"id": raw, "cmd": "x"}, timeout=TIMEOUT)
    assert r.status_code == 201 and r.json()["id"] == canonical
    assert get_app(m, canonical + "/")["id"] == canonical  # a trailing slash in the URL works too


RESERVED = "must not end with any of the following reserved keywords: restart, tasks, versions, ., .."


@pytest.mark.parametrize("raw,message,error", [
    ("/Upper", "Invalid JSON", "error.pattern"),
    ("/under_score", "Invalid JSON", "error.pattern"),
    ("/-dash", "Invalid JSON", "error.pattern"),
    ("/a b", "Invalid JSON", "error.pattern"),
    ("/newline\n", "Invalid JSON", "error.pattern"),
    ("", "Invalid JSON", "error.minLength"),
    ("/", "Object is not valid", "Path must contain at least one path element"),
    ("/a/restart", "Object is not valid", RESERVED),
    ("/a/tasks", "Object is not valid", RESERVED),
    ("versions", "Object is not valid", RESERVED),
])
def test_invalid_ids(shared, raw, message, error):
    m = shared.marathon
    r = requests.post(f"{m}/v2/apps", json={"id": raw, "cmd": "x"}, timeout=TIMEOUT)
    assert r.status_code == 422 and r.json()["message"] == message
    assert details(r)["/id"] == [error]


# -- read-back defaults ------------------------------------------------------------------------------
def test_minimal_app_reads_back_with_marathon_defaults(m):
    create(m, {"id": "/min", "cmd": "sleep 1"})
    app = get_app(m, "/min")
    port = app["portDefinitions"][0]["port"]
    assert definition(app) == {
        "id": "/min", "cmd": "sleep 1", "instances": 1, "cpus": 1.0, "mem": 128.0, "disk": 0.0, "gpus": 0,
        "executor": "", "backoffSeconds": 1, "backoffFactor": 1.15, "maxLaunchDelaySeconds": 300,
        "requirePorts": False, "labels": {}, "networks": [{"mode": "host"}],
        "portDefinitions": [{"port": port, "name": "default", "protocol": "tcp"}],
        "upgradeStrategy": {"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0},
        "unreachableStrategy": {"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0},
        "killSelection": "YOUNGEST_FIRST", "role": "slave_public",
    }
    assert 10000 <= port <= 20000
    raw = requests.get(f"{m}/v2/apps/min", timeout=TIMEOUT).text
    assert '"cpus": 1.0' in raw and '"mem": 128.0' in raw  # doubles, as Jackson writes them


def test_seed_haproxy_app_reads_back_as_marathon_stores_it(sim, m):
    create(m, HAPROXY_APP)
    app = get_app(m, "/kubernetes-haproxy")
    assert definition(app) == {
        "id": "/kubernetes-haproxy", "acceptedResourceRoles": ["slave_public"],
        "cmd": "/usr/local/sbin/haproxy -f /haproxy/haproxy.conf", "constraints": [["hostname", "UNIQUE"]],
        "container": {
            "type": "MESOS",
            "volumes": [{"containerPath": "/haproxy", "hostPath": "/path/to/my/haproxy/config/folder", "mode": "RO"}],
            "docker": {"image": "haproxy:1.7", "forcePullImage": False, "parameters": [], "privileged": False},
        },
        "cpus": 0.1, "instances": 1, "mem": 128.0, "disk": 0.0, "gpus": 0, "executor": "",
        "backoffSeconds": 1, "backoffFactor": 1.15, "maxLaunchDelaySeconds": 300, "labels": {},
        "networks": [{"mode": "host"}], "portDefinitions": [{"port": 6443, "protocol": "tcp"}], "requirePorts": True,
        "upgradeStrategy": {"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0},
        "unreachableStrategy": {"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0},
        "killSelection": "YOUNGEST_FIRST", "role": "slave_public",
    }
    task = app["tasks"][0]
    assert task["ports"] == [6443] and task["servicePorts"] == [6443] and task["role"] == "slave_public"
    assert agents(sim)[task["host"]]["role"] == "slave_public"


@pytest.mark.parametrize("seed", [KUBECTL_PROXY_APP, KUBEAPI_PROXY_APP], ids=["kubectl-proxy", "kubeapi-proxy"])
def test_seed_marathon_lb_dummy_apps_read_back(m, seed):
    create(m, seed)
    app = get_app(m, seed["id"])
    port = app["portDefinitions"][0]["port"]
    assert definition(app) == {
        "id": seed["id"], "instances": 1, "cpus": 0.001, "mem": 16.0, "disk": 0.0, "gpus": 0,
        "cmd": "tail -F /dev/null", "container": {"type": "MESOS", "volumes": []},
        "portDefinitions": [{"port": port, "protocol": "tcp"}], "labels": seed["labels"], "executor": "",
        "backoffSeconds": 1, "backoffFactor": 1.15, "maxLaunchDelaySeconds": 300, "requirePorts": False,
        "networks": [{"mode": "host"}],
        "upgradeStrategy": {"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0},
        "unreachableStrategy": {"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0},
        "killSelection": "YOUNGEST_FIRST", "role": "slave_public",
    }
    assert 10000 <= port <= 20000 and app["tasks"][0]["servicePorts"] == [port]


def test_service_ports_are_unique_and_reused_when_an_update_resends_zero(m):
    create(m, KUBECTL_PROXY_APP)
    create(m, KUBEAPI_PROXY_APP)
    first = get_app(m, "/kubectl-proxy")["portDefinitions"][0]["port"]
    second = get_app(m, "/kubeapi-proxy")["portDefinitions"][0]["port"]
    assert first != second and all(10000 <= p <= 20000 for p in (first, second))
    put(m, "/kubectl-proxy", {**KUBECTL_PROXY_APP, "cmd": "sleep 1"}, partialUpdate="false")
    assert get_app(m, "/kubectl-proxy")["portDefinitions"][0]["port"] == first
    put(m, "/kubectl-proxy", {"portDefinitions": [{"port": 0}, {"port": 0, "name": "extra"}]})
    ports = [pd["port"] for pd in get_app(m, "/kubectl-proxy")["portDefinitions"]]
    assert ports[0] == first and ports[1] not in (first, second)


def test_docker_health_check_fetch_and_network_defaults(m):
    create(m, {
        "id": "/full", "cmd": "x", "uris": ["http://x/y.tgz"],
        "container": {"docker": {"image": "nginx"}},
        "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/"},
                         {"protocol": "COMMAND", "command": {"value": "true"}}],
        "unknownField": 1, "env": {}, "instances": None,
    })
    app = get_app(m, "/full")
    assert app["container"] == {"type": "DOCKER", "volumes": [],
                                "docker": {"image": "nginx", "forcePullImage": False, "parameters": [],
                                           "privileged": False}}
    assert app["healthChecks"] == [
        {"protocol": "MESOS_HTTP", "path": "/", "portIndex": 0, "gracePeriodSeconds": 300, "intervalSeconds": 60,
         "timeoutSeconds": 20, "maxConsecutiveFailures": 3, "delaySeconds": 15, "ipProtocol": "IPv4"},
        {"protocol": "COMMAND", "command": {"value": "true"}, "gracePeriodSeconds": 300, "intervalSeconds": 60,
         "timeoutSeconds": 20, "maxConsecutiveFailures": 3, "delaySeconds": 15, "ipProtocol": "IPv4"},
    ]
    assert app["fetch"] == [{"uri": "http://x/y.tgz", "extract": True, "executable": False, "cache": False}]
    assert "uris" not in app and "unknownField" not in app and "env" not in app and app["instances"] == 1
    assert app["tasksHealthy"] == 1 and app["tasks"][0]["healthCheckResults"][0]["alive"] is True


def test_container_networks_get_port_mappings_and_service_ports(m):
    create(m, {"id": "/bridge", "cmd": "x", "networks": [{"mode": "container/bridge"}],
               "container": {"type": "MESOS", "portMappings": [{"containerPort": 80}]}})
    app = get_app(m, "/bridge")
    mapping = app["container"]["portMappings"][0]
    assert "portDefinitions" not in app and app["networks"] == [{"mode": "container/bridge"}]
    assert mapping["containerPort"] == 80 and mapping["hostPort"] == 0 and mapping["protocol"] == "tcp"
    assert 10000 <= mapping["servicePort"] <= 20000 and mapping["labels"] == {}
    assert app["tasks"][0]["servicePorts"] == [mapping["servicePort"]] and app["tasks"][0]["ports"][0] >= 31000
    create(m, {"id": "/overlay", "cmd": "x", "networks": [{"mode": "container"}], "container": {"type": "MESOS"}})
    app = get_app(m, "/overlay")
    assert app["networks"] == [{"mode": "container", "name": "dcos"}]
    assert app["container"]["portMappings"][0]["name"] == "default" and app["tasks"][0]["ports"] == []


# -- scheduling ---------------------------------------------------------------------------------------
def test_accepted_resource_roles_choose_private_or_public_agents(sim, m):
    create(m, {"id": "/private", "cmd": "x"})
    create(m, {"id": "/public", "cmd": "x", "acceptedResourceRoles": ["slave_public"]})
    assert [a["public"] for a in task_agents(sim, "/private")] == [False]
    assert [a["public"] for a in task_agents(sim, "/public")] == [True]


def test_constraints_place_tasks_like_mesos_offers(multi_agent_sim):
    sim, m = multi_agent_sim, multi_agent_sim.marathon

    def names(app_id: str) -> list[str]:
        return sorted(a["name"] for a in task_agents(sim, app_id))

    create(m, {"id": "/unique", "cmd": "x", "cpus": 0.1, "instances": 3, "constraints": [["hostname", "UNIQUE"]]})
    assert names("/unique") == ["private-1", "private-2", "private-3"]
    create(m, {"id": "/is", "cmd": "x", "cpus": 0.1, "instances": 2, "constraints": [["rack", "IS", "r2"]]})
    assert names("/is") == ["private-2", "private-2"]
    create(m, {"id": "/like", "cmd": "x", "cpus": 0.1, "instances": 2, "constraints": [["rack", "LIKE", "r[23]"],
                                                                                       ["hostname", "UNIQUE"]]})
    assert names("/like") == ["private-2", "private-3"]
    create(m, {"id": "/unlike", "cmd": "x", "cpus": 0.1, "instances": 2, "constraints": [["rack", "UNLIKE", "r1"],
                                                                                         ["hostname", "UNIQUE"]]})
    assert names("/unlike") == ["private-2", "private-3"]
    create(m, {"id": "/cluster", "cmd": "x", "cpus": 0.1, "instances": 2, "constraints": [["zone", "CLUSTER", "b"]]})
    assert names("/cluster") == ["private-3", "private-3"]
    create(m, {"id": "/maxper", "cmd": "x", "cpus": 0.1, "instances": 2, "constraints": [["zone", "MAX_PER", "1"]]})
    assert names("/maxper") == ["private-1", "private-3"]
    # A third instance has no zone left: the scale never finishes.
    stuck = put(m, "/maxper", {"instances": 3}, wait=False).json()["deploymentId"]
    assert stays_deploying(m, stuck) and get_app(m, "/maxper")["tasksRunning"] == 2
    stuck = create(m, {"id": "/unique4", "cmd": "x", "cpus": 0.1, "instances": 4,
                       "constraints": [["hostname", "UNIQUE"]]}, wait=False).headers["Marathon-Deployment-Id"]
    assert stays_deploying(m, stuck) and get_app(m, "/unique4")["tasksRunning"] == 3


def test_host_port_conflicts_never_finish(m):
    create(m, HAPROXY_APP)
    other = {**HAPROXY_APP, "id": "/second-haproxy", "constraints": []}
    stuck = create(m, other, wait=False).headers["Marathon-Deployment-Id"]
    assert stays_deploying(m, stuck)
    assert get_app(m, "/second-haproxy")["tasksStaged"] + get_app(m, "/second-haproxy")["tasksRunning"] == 0
    # The Kubernetes API servers hold 6443 on the private agent: a private app wanting it waits too.
    private = {"id": "/wants-6443", "cmd": "x", "portDefinitions": [{"port": 6443}], "requirePorts": True}
    stuck = create(m, private, wait=False).headers["Marathon-Deployment-Id"]
    assert stays_deploying(m, stuck)
    # Without requirePorts the host port is dynamic and 6443 is only the service port.
    create(m, {**private, "id": "/service-6443", "requirePorts": False})
    assert get_app(m, "/service-6443")["tasks"][0]["ports"][0] >= 31000


def test_a_failing_app_records_the_failure_and_relaunches_with_backoff(m):
    r = create(m, {"id": "/fail", "cmd": "x", "labels": {"SIM_FAIL": "true"}, "backoffSeconds": 0}, wait=False)
    failures: set[str] = set()

    def two_failures() -> bool:
        failure = get_app(m, "/fail").get("lastTaskFailure")
        if failure:
            failures.add(failure["taskId"])
        return len(failures) >= 2

    wait_for(two_failures, what="two failed launches")
    failure = get_app(m, "/fail")["lastTaskFailure"]
    assert set(failure) == {"appId", "host", "message", "state", "taskId", "timestamp", "version", "slaveId"}
    assert failure["state"] == "TASK_FAILED" and failure["appId"] == "/fail"
    assert r.headers["Marathon-Deployment-Id"] in deployment_ids(m)  # never finishes
    listed = requests.get(f"{m}/v2/apps", timeout=TIMEOUT).json()["apps"][0]
    assert "lastTaskFailure" not in listed
    listed = requests.get(f"{m}/v2/apps", params={"embed": "apps.lastTaskFailure"}, timeout=TIMEOUT).json()["apps"]
    embedded = listed[0]["lastTaskFailure"]  # the latest failure: with no backoff, maybe a newer one than above
    assert embedded["appId"] == "/fail" and embedded["state"] == "TASK_FAILED" and embedded["taskId"].startswith("fail.instance-")

    create(m, {"id": "/slow-fail", "cmd": "x", "labels": {"SIM_FAIL": "true"}, "backoffSeconds": 60}, wait=False)
    first = wait_for(lambda: get_app(m, "/slow-fail").get("lastTaskFailure"), what="the first failure")
    time.sleep(0.3)
    app = get_app(m, "/slow-fail")
    assert app["lastTaskFailure"]["taskId"] == first["taskId"] and app["tasks"] == []  # backing off


def test_runtime_hooks_fail_tasks_like_a_crashing_container(sim, m):
    """The data plane's hooks: a runtime's message fails the launch, a runtime that raises fails
    it too (without stopping the runner), and ``fail_task`` reports a process that died later."""
    backend = sim.sim.state.marathon
    seen: list[tuple[str, str]] = []

    def broken(task: dict, app: dict, agent) -> str | None:
        raise OSError("no such image")

    with sim.sim.state.lock:
        backend.runtimes.append((lambda app: app["labels"].get("RUNTIME") == "refuse", lambda t, a, g: "bad config"))
        backend.runtimes.append((lambda app: app["labels"].get("RUNTIME") == "broken", broken))
        backend.task_listeners.append(lambda state, task, app: seen.append((state, task["appId"])))
    for name in ("refuse", "broken"):
        create(m, {"id": f"/{name}", "cmd": "x", "labels": {"RUNTIME": name}, "backoffSeconds": 60}, wait=False)
    create(m, {"id": "/fine", "cmd": "x"})
    assert wait_for(lambda: get_app(m, "/refuse").get("lastTaskFailure"))["message"] == "bad config"
    assert "no such image" in wait_for(lambda: get_app(m, "/broken").get("lastTaskFailure"))["message"]

    task = get_app(m, "/fine")["tasks"][0]
    with sim.sim.state.lock:
        backend.fail_task(task["id"], "haproxy exited with status 1")
        backend.fail_task("no-such-task", "ignored")
    failure = get_app(m, "/fine")["lastTaskFailure"]
    assert (failure["taskId"], failure["message"]) == (task["id"], "haproxy exited with status 1")
    assert ("TASK_FAILED", "/fine") in seen and ("TASK_RUNNING", "/fine") in seen
    # One failure means a backoffSeconds (1 s) wait, then Marathon keeps its instance count.
    wait_for(lambda: get_app(m, "/fine")["tasksRunning"] == 1, what="the relaunch")
    # After a long crash loop the backoff power overflows; it is capped, and the runner goes on.
    task_id = get_app(m, "/fine")["tasks"][0]["id"]
    with sim.sim.state.lock:
        backend.apps["/fine"]["_failures"] = 100_000
        backend.fail_task(task_id, "again")
        assert backend.apps["/fine"]["_nextLaunchAt"] - time.time() == pytest.approx(300, abs=5)
    create(m, {"id": "/after", "cmd": "x"})


def test_default_upgrade_strategy_deadlocks_on_a_fixed_port_and_zero_capacity_does_not(m):
    create(m, HAPROXY_APP)
    old_task = get_app(m, "/kubernetes-haproxy")["tasks"][0]["id"]
    r = requests.post(f"{m}/v2/apps/kubernetes-haproxy/restart", timeout=TIMEOUT)
    assert stays_deploying(m, r.json()["deploymentId"])
    assert [t["id"] for t in get_app(m, "/kubernetes-haproxy")["tasks"]] == [old_task]  # the old one stays up

    relaxed = {**HAPROXY_APP, "id": "/relaxed-haproxy", "constraints": [],
               "portDefinitions": [{"port": 7443}],
               "upgradeStrategy": {"minimumHealthCapacity": 0, "maximumOverCapacity": 0}}
    create(m, relaxed)
    old_task = get_app(m, "/relaxed-haproxy")["tasks"][0]["id"]
    r = requests.post(f"{m}/v2/apps/relaxed-haproxy/restart", timeout=TIMEOUT)
    wait_deployed(m, r.json()["deploymentId"])
    tasks = get_app(m, "/relaxed-haproxy")["tasks"]
    assert len(tasks) == 1 and tasks[0]["id"] != old_task and tasks[0]["ports"] == [7443]


def test_slow_label_stretches_the_launch(m):
    r = create(m, {"id": "/slow", "cmd": "x", "labels": {"SIM_SLOW": "0.5"}}, wait=False)
    time.sleep(0.25)
    assert get_app(m, "/slow")["tasksStaged"] == 1
    wait_deployed(m, r.headers["Marathon-Deployment-Id"])


# -- robustness -----------------------------------------------------------------------------------
RICH_APP: dict[str, Any] = {
    "id": "/fuzz", "cmd": "x", "instances": 0, "cpus": 0.1, "mem": 32, "disk": 0, "labels": {"a": "b"},
    "env": {"A": "b", "S": {"secret": "s"}}, "secrets": {"s": {"source": "p"}},
    "acceptedResourceRoles": ["slave_public"], "constraints": [["hostname", "UNIQUE"]],
    "portDefinitions": [{"port": 0, "protocol": "tcp", "name": "http", "labels": {"x": "y"}}],
    "requirePorts": False, "networks": [{"mode": "host"}],
    "container": {"type": "MESOS", "docker": {"image": "i", "parameters": []},
                  "volumes": [{"containerPath": "/c", "hostPath": "/h", "mode": "RO"}]},
    "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0, "command": {"value": "x"}}],
    "fetch": [{"uri": "http://u"}], "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0},
    "unreachableStrategy": {"inactiveAfterSeconds": 1, "expungeAfterSeconds": 2},
    "killSelection": "OLDEST_FIRST", "backoffSeconds": 1, "backoffFactor": 1.5, "maxLaunchDelaySeconds": 10,
    "dependencies": ["/other"], "args": None, "user": "nobody", "ports": [0], "uris": ["http://v"],
}
WRONG_VALUES: list[Any] = ["s", "", 7, -3, 1.5, 10**20, True, None, [], {}, [None, 1, "a", [], {}],
                           {"k": [None]}, "\u0000\ud7ff", -1e300]


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key/index path inside a JSON value."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, prefix + (i,))
    return found


def _with(value: Any, path: tuple, new: Any) -> Any:
    out = copy.deepcopy(value)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return out


def _assert_answered(r: requests.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.request.method, r.request.url, r.request.body, r.text)
    if r.status_code >= 400:
        assert r.headers["Content-Type"] == "application/json" and "message" in r.json()


def test_wrong_types_anywhere_are_4xx_never_500(m):
    put(m, "/existing", {"cmd": "x", "instances": 0})
    rng = random.Random(7)
    session = requests.Session()
    for path in _paths(RICH_APP):
        for value in rng.sample(WRONG_VALUES, 3):
            body = _with(RICH_APP, path, value)
            _assert_answered(session.post(f"{m}/v2/apps", json=body, params={"force": "true"}, timeout=TIMEOUT))
            session.delete(f"{m}/v2/apps/fuzz", timeout=TIMEOUT)
            _assert_answered(session.patch(f"{m}/v2/apps/existing", json={k: v for k, v in body.items() if k != "id"},
                                           params={"force": "true"}, timeout=TIMEOUT))
    for value in WRONG_VALUES:
        for method, url in (("PUT", "/v2/apps"), ("POST", "/v2/tasks/delete"), ("PUT", "/v2/apps/existing"),
                            ("POST", "/v2/apps")):
            _assert_answered(session.request(method, f"{m}{url}", json=value, params={"force": "true"},
                                             timeout=TIMEOUT))
        _assert_answered(session.put(f"{m}/v2/apps", json=[{"id": "/existing", "cmd": value}], timeout=TIMEOUT))
        _assert_answered(session.post(f"{m}/v2/tasks/delete", json={"ids": value}, timeout=TIMEOUT))


def test_garbage_requests_are_4xx_never_500(shared):
    m = shared.marathon
    rng = random.Random(11)
    session = requests.Session()
    samples = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60))) for _ in range(40)]
    deep = {"id": "/deep", "cmd": "x", "residency": {}}
    inner = deep["residency"]
    for _ in range(150):
        inner["a"] = inner = {}
    samples += [json.dumps(deep).encode(), b"{\"id\": \"/big\", \"cmd\": \"x\", \"mem\": 1" + b"0" * 400 + b"}",
                b"{\"id\": \"/big\", \"cmd\": \"x\", \"mem\": 1" + b"0" * 5000 + b"}"]
    samples += [b"[" * 5000, b"{\"a\":" * 3000, b"1e999", b"\"\\ud800\"",
                b"{\"id\": \"/x\", \"cmd\": \"x\", \"mem\": 1e999}",
                b"null", b"true", b"[]", b"{}", json.dumps({"id": "/x", "cmd": "x"}).encode()[:-3]]
    urls = [("POST", "/v2/apps"), ("PUT", "/v2/apps/g"), ("PATCH", "/v2/apps/g"), ("PUT", "/v2/apps"),
            ("POST", "/v2/tasks/delete"), ("PUT", "/v2/apps/g?partialUpdate=false")]
    for data in samples:
        for method, url in urls:
            _assert_answered(session.request(method, f"{m}{url}", data=data, timeout=TIMEOUT,
                                             headers={"Content-Type": "application/json"}))
    odd_params = [{"embed": "\u00ff"}, {"label": "(("}, {"label": ","}, {"label": "a in (b"}, {"id": "\u0000"},
                  {"force": "maybe"}, {"status": "nope"}]
    for params in odd_params:
        for url in ("/v2/apps", "/v2/tasks", "/v2/apps/nope", "/v2/deployments"):
            _assert_answered(session.get(f"{m}{url}", params=params, timeout=TIMEOUT))
    for url in ("/v2/apps/%2e%2e", "/v2/apps//", "/v2/apps/a/versions/x/y", "/v2/apps/a/tasks/", "/v2/apps/*"):
        for method in ("GET", "PUT", "DELETE", "POST", "PATCH"):
            _assert_answered(session.request(method, f"{m}{url}", data=b"{}", timeout=TIMEOUT))


# -- persistence ----------------------------------------------------------------------------------
def test_state_survives_sigkill(sim_process, tmp_path):
    state_dir = tmp_path / "persist"
    first = sim_process("--auth", "none", "--no-dataplane", state_dir=state_dir)
    m = f"{first.url}/service/marathon"
    create(m, {"id": "/kept", "cmd": "one"})
    put(m, "/kept", {"cmd": "two"})
    create(m, HAPROXY_APP)
    stuck = put(m, "/kubernetes-haproxy", {"cpus": 0.2}, wait=False).json()["deploymentId"]
    before = {
        "apps": requests.get(f"{m}/v2/apps", params={"embed": "apps.tasks"}, timeout=TIMEOUT).json(),
        "versions": requests.get(f"{m}/v2/apps/kept/versions", timeout=TIMEOUT).json(),
        "deployments": requests.get(f"{m}/v2/deployments", timeout=TIMEOUT).json(),
    }
    first.kill()

    second = sim_process("--auth", "none", "--no-dataplane", state_dir=state_dir)
    m = f"{second.url}/service/marathon"
    assert requests.get(f"{m}/v2/apps", params={"embed": "apps.tasks"}, timeout=TIMEOUT).json() == before["apps"]
    assert requests.get(f"{m}/v2/apps/kept/versions", timeout=TIMEOUT).json() == before["versions"]
    assert requests.get(f"{m}/v2/deployments", timeout=TIMEOUT).json() == before["deployments"]
    assert stays_deploying(m, stuck)  # a still-running deployment keeps running
    r = requests.put(f"{m}/v2/apps/kubernetes-haproxy", json={"cpus": 0.3}, timeout=TIMEOUT)
    assert r.status_code == 409
