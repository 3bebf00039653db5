"""The third-party ``marathon`` client (marathon-python 0.13.0, unmodified) against the simulator.

Its models take exactly the keys they know (``cls(**json)``), so every read here also proves the
simulator emits no key real Marathon would not. Note: on Python >= 3.10 the client's JSON encoder
fails on nested model objects (it uses the removed ``collections.Iterable``), so apps with
containers or port definitions are created over raw HTTP here and only read through the client.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest
import requests
from marathon import MarathonApp, MarathonClient
from marathon.exceptions import ConflictError, InternalServerError, MarathonHttpError, NotFoundError
from marathon.models import MarathonDeployment, MarathonInfo, MarathonTask

from tests.sim.test_marathon_api import HAPROXY_APP, KUBECTL_PROXY_APP, sim_factory, wait_for  # noqa: F401 (API-only sims)

TIMEOUT = 5



@pytest.fixture
def client(sim) -> MarathonClient:
    return MarathonClient(sim.marathon, timeout=TIMEOUT)


def idle(client: MarathonClient) -> bool:
    return client.list_deployments() == []


def test_create_get_list_update_scale_and_delete(client):
    created = client.create_app("/web", MarathonApp(cmd="sleep 100", instances=1, mem=32, labels={"tier": "front"}))
    assert isinstance(created, MarathonApp) and created.id == "/web" and created.deployments
    wait_for(lambda: idle(client), what="the create")
    app = client.get_app("/web")
    assert (app.cmd, app.mem, app.cpus, app.labels) == ("sleep 100", 32.0, 1.0, {"tier": "front"})
    assert app.tasks_running == 1 and len(app.tasks) == 1 and isinstance(app.tasks[0], MarathonTask)
    assert app.version_info.last_config_change_at is not None
    assert app.upgrade_strategy.minimum_health_capacity == 1.0 and app.networks == [{"mode": "host"}]
    assert [a.id for a in client.list_apps()] == ["/web"]
    assert [a.id for a in client.list_apps(app_id="we", label="tier==front")] == ["/web"]
    assert len(client.list_apps(embed_tasks=True)[0].tasks) == 1

    result = client.update_app("/web", MarathonApp(cmd="sleep 200"))
    assert set(result) == {"deploymentId", "version"}
    wait_for(lambda: idle(client), what="the update")
    assert client.get_app("/web").labels == {"tier": "front"}  # a merge: labels are kept

    client.scale_app("/web", instances=3)
    wait_for(lambda: client.get_app("/web").tasks_running == 3 and idle(client), what="the scale")
    client.scale_app("/web", delta=-1)
    wait_for(lambda: client.get_app("/web").tasks_running == 2 and idle(client), what="the scale down")

    versions = client.list_versions("/web")
    assert len(versions) >= 3
    assert client.get_version("/web", versions[-1]).cmd == "sleep 100"

    client.restart_app("/web")
    wait_for(lambda: idle(client), what="the restart")
    assert set(client.delete_app("/web")) == {"deploymentId", "version"}
    with pytest.raises(NotFoundError):
        client.get_app("/web")


def test_tasks_deployments_info_and_ping(sim, client):
    client.create_app("/t", MarathonApp(cmd="x", instances=2))
    wait_for(lambda: idle(client), what="the create")
    tasks = client.list_tasks("/t")
    assert len(tasks) == 2 and all(t.state == "TASK_RUNNING" and t.service_ports for t in tasks)
    assert {t.id for t in client.list_tasks()} == {t.id for t in tasks}
    killed = client.kill_task("/t", tasks[0].id)
    assert isinstance(killed, MarathonTask) and killed.id == tasks[0].id
    assert client.kill_given_tasks([tasks[1].id]) is True
    assert isinstance(client.kill_tasks("/t", scale=True), dict)
    wait_for(lambda: client.get_app("/t").instances == 0 and idle(client), what="scale to zero")

    sim.set_faults(hang_deployments=True)
    client.create_app("/stuck", MarathonApp(cmd="x"))
    deployments = client.list_deployments()
    assert len(deployments) == 1 and isinstance(deployments[0], MarathonDeployment)
    assert deployments[0].affected_apps == ["/stuck"] and deployments[0].total_steps == 2
    rollback = client.delete_deployment(deployments[0].id)
    assert set(rollback) == {"deploymentId", "version"}
    client.create_app("/stuck2", MarathonApp(cmd="x"))
    stuck2 = next(d for d in client.list_deployments() if d.affected_apps == ["/stuck2"])
    assert client.delete_deployment(stuck2.id, force=True) == {}
    assert stuck2.id not in {d.id for d in client.list_deployments()}

    info = client.get_info()
    assert isinstance(info, MarathonInfo) and info.marathon_config.mesos_role == "slave_public"
    assert info.marathon_config.local_port_min == 10000 and info.http_config.http_port == 8080
    assert client.ping() == b'"pong"'  # it asks for JSON


def test_the_client_parses_rich_apps_created_over_http(sim, client):
    for app in (HAPROXY_APP, KUBECTL_PROXY_APP,
                {"id": "/checked", "cmd": "x", "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/"}],
                 "fetch": [{"uri": "http://x/y"}], "env": {"A": "b"}},
                {"id": "/bridge", "cmd": "x", "networks": [{"mode": "container/bridge"}],
                 "container": {"docker": {"image": "nginx"}, "portMappings": [{"containerPort": 80}]}},
                {"id": "/failing", "cmd": "x", "labels": {"SIM_FAIL": "true"}, "backoffSeconds": 0}):
        assert requests.post(f"{sim.marathon}/v2/apps", json=app, timeout=TIMEOUT).status_code == 201
    wait_for(lambda: client.get_app("/failing").last_task_failure, what="a task failure")
    wait_for(lambda: client.get_app("/checked").tasks_healthy == 1, what="a healthy task")
    haproxy = client.get_app("/kubernetes-haproxy")
    assert haproxy.container.type == "MESOS" and haproxy.container.docker.image == "haproxy:1.7"
    assert haproxy.container.volumes[0].mode == "RO" and haproxy.require_ports is True
    assert haproxy.port_definitions[0].port == 6443 and haproxy.constraints[0].json_repr() == ["hostname", "UNIQUE"]
    assert client.get_app("/kubectl-proxy").labels["HAPROXY_GROUP"] == "external"
    checked = client.get_app("/checked")
    assert checked.health_checks[0].protocol == "MESOS_HTTP" and checked.tasks[0].health_check_results[0].alive
    bridge = client.get_app("/bridge")
    assert bridge.container.port_mappings[0].container_port == 80 and bridge.port_definitions == []
    failure = client.get_app("/failing").last_task_failure
    assert failure.state == "TASK_FAILED" and failure.app_id == "/failing"
    listed = client.list_apps(embed_tasks=True, embed_last_task_failure=True)
    assert {a.id for a in listed} == {"/kubernetes-haproxy", "/kubectl-proxy", "/checked", "/bridge", "/failing"}
    assert client.list_apps(embed_failures=True)


def test_errors_map_to_the_client_exceptions(sim, client):
    with pytest.raises(NotFoundError) as missing:
        client.get_app("/ghost")
    assert missing.value.status_code == 404 and missing.value.error_message == "App '/ghost' does not exist"
    with pytest.raises(NotFoundError):
        client.delete_app("/ghost")

    sim.set_faults(hang_deployments=True)
    client.create_app("/dup", MarathonApp(cmd="x"))  # its deployment never finishes
    with pytest.raises(ConflictError) as conflict:
        client.create_app("/dup", MarathonApp(cmd="y"))
    assert conflict.value.error_message == "An app with id [/dup] already exists."
    with pytest.raises(ConflictError) as locked:  # the client sends force=False
        client.update_app("/dup", MarathonApp(cmd="z"))
    assert locked.value.error_message.startswith("App is locked by one or more deployments.")

    with pytest.raises(MarathonHttpError) as invalid:
        client.create_app("/bad", MarathonApp(cmd="x", cpus=-1, instances=-2))
    assert invalid.value.status_code == 422 and invalid.value.error_message == "Invalid JSON"
    assert {d["path"] for d in invalid.value.error_details} == {"/cpus", "/instances"}
    with pytest.raises(MarathonHttpError) as semantic:
        client.create_app("/bad", MarathonApp(cmd="x", args=["y"]))
    assert semantic.value.error_message == "Object is not valid"

    sim.set_faults(error_burst=1, error_status=500)
    with pytest.raises(InternalServerError) as injected:
        client.list_apps()
    assert injected.value.status_code == 500
    assert client.list_apps()  # the burst is over
