"""Marathon's launch queue and group tree over HTTP: ``/v2/queue`` names the reason and the agent
an app cannot be placed for, as kexpose reads it to fail fast; ``/v2/groups`` is the tree app ids
imply."""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest
import requests

from tests.sim.conftest import RunningSim

TIMEOUT = 5
SEED = """\
agents:
  - {name: public-1, public: true}
  - {name: private-1, public: false, attributes: {zone: a}}
kubernetes: [kubernetes]
marathon_lb: true
"""


@pytest.fixture
def lb_sim(sim_factory, tmp_path) -> RunningSim:
    """One public agent running Marathon-LB (ports 80, 443, 9090, 9091) and one private agent."""
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED)
    sim = sim_factory(auth="none", seed_file=seed, dataplane=False)
    wait_for(lambda: get(sim, "/v2/apps/marathon-lb")["app"]["tasksRunning"] == 1, "Marathon-LB")
    return sim


def get(sim: RunningSim, path: str, **params: Any) -> Any:
    r = requests.get(f"{sim.marathon}{path}", params=params, timeout=TIMEOUT)
    r.raise_for_status()
    return r.json()


def post_app(sim: RunningSim, app: dict[str, Any]) -> None:
    requests.post(f"{sim.marathon}/v2/apps", json={"cmd": "sleep 1000", "cpus": 0.1, "mem": 32, **app},
                  timeout=TIMEOUT).raise_for_status()


def wait_for(check: Callable[[], Any], what: str, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


def queued(sim: RunningSim, app_id: str, **params: Any) -> dict[str, Any]:
    """The app's queue item once every agent's offer was evaluated for it."""
    agents = len(requests.get(f"{sim.url}/_sim/cluster", timeout=TIMEOUT).json()["agents"])

    def item() -> dict[str, Any] | None:
        entry = next((q for q in get(sim, "/v2/queue", **params)["queue"] if q["app"]["id"] == app_id), None)
        summary = entry and entry["processedOffersSummary"]["rejectSummaryLastOffers"]
        return entry if summary and summary[0]["processed"] == agents else None

    return wait_for(item, f"{app_id} in the queue")


def declined(item: dict[str, Any]) -> dict[str, int]:
    """reason -> declined count of the last offer per agent (non-zero only)."""
    return {s["reason"]: s["declined"] for s in item["processedOffersSummary"]["rejectSummaryLastOffers"]
            if s["declined"]}


def agents(sim: RunningSim) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in requests.get(f"{sim.url}/_sim/cluster", timeout=TIMEOUT).json()["agents"]}


def test_a_port_marathon_lb_holds_on_the_only_public_agent_is_insufficient_ports(lb_sim):
    post_app(lb_sim, {"id": "/kexpose/web", "acceptedResourceRoles": ["slave_public"],
                      "portDefinitions": [{"port": 443}], "requirePorts": True})
    item = queued(lb_sim, "/kexpose/web", embed="lastUnusedOffers")
    assert (item["count"], item["delay"]["overdue"]) == (1, True)
    assert item["app"]["portDefinitions"][0]["port"] == 443 and item["since"].endswith("Z")
    assert declined(item) == {"UnfulfilledRole": 1, "InsufficientPorts": 1}
    summary = item["processedOffersSummary"]
    assert summary["unusedOffersCount"] >= 2 and summary["processedOffersCount"] >= summary["unusedOffersCount"]
    assert [s["reason"] for s in summary["rejectSummaryLastOffers"]] == [
        "UnfulfilledRole", "UnfulfilledConstraint", "NoCorrespondingReservationFound", "AgentMaintenance",
        "InsufficientCpus", "InsufficientMemory", "InsufficientDisk", "InsufficientGpus", "InsufficientPorts",
        "DeclinedScarceResources"]
    # the funnel: an offer declined at one step does not reach the next
    assert [s["processed"] for s in summary["rejectSummaryLastOffers"]] == [2, 1, 1, 1, 1, 1, 1, 1, 1, 0]
    by_host = {o["offer"]["hostname"]: o for o in item["lastUnusedOffers"]}
    public, private = agents(lb_sim)["public-1"], agents(lb_sim)["private-1"]
    assert by_host[public["address"]]["reason"] == ["InsufficientPorts"]
    assert by_host[public["address"]]["offer"]["agentId"] == public["id"]
    assert by_host[private["address"]]["reason"] == ["UnfulfilledRole"]
    ports = next(r for r in by_host[public["address"]]["offer"]["resources"] if r["name"] == "ports")
    assert {"begin": 444, "end": 5050} in ports["ranges"] and not any(
        r["begin"] <= 443 <= r["end"] for r in ports["ranges"])


def test_a_constraint_to_a_missing_host_is_unfulfilled_constraint(lb_sim):
    post_app(lb_sim, {"id": "/pinned", "constraints": [["hostname", "IS", "10.9.9.9"]]})
    item = queued(lb_sim, "/pinned")
    assert declined(item) == {"UnfulfilledRole": 1, "UnfulfilledConstraint": 1}
    attempt = {s["reason"]: s for s in item["processedOffersSummary"]["rejectSummaryLaunchAttempt"]}
    assert attempt["UnfulfilledConstraint"]["declined"] > 0 and attempt["InsufficientPorts"]["declined"] == 0


def test_a_public_app_on_a_cluster_without_public_agents_is_unfulfilled_role_on_every_agent(sim_factory, tmp_path):
    seed = tmp_path / "seed.yaml"
    seed.write_text("agents:\n  - {name: private-1}\n  - {name: private-2}\nkubernetes: []\n")
    sim = sim_factory(auth="none", seed_file=seed, dataplane=False)
    post_app(sim, {"id": "/wrong-role", "acceptedResourceRoles": ["slave_public"]})
    item = queued(sim, "/wrong-role", embed="lastUnusedOffers")
    assert declined(item) == {"UnfulfilledRole": 2}
    assert sorted(o["offer"]["hostname"] for o in item["lastUnusedOffers"]) == sorted(
        a["address"] for a in agents(sim).values())
    assert all(o["reason"] == ["UnfulfilledRole"] for o in item["lastUnusedOffers"])
    assert "lastUnusedOffers" not in get(sim, "/v2/queue")["queue"][0]


def test_resources_beyond_the_agents_are_insufficient_cpus_and_memory(lb_sim):
    post_app(lb_sim, {"id": "/huge", "cpus": 64, "mem": 128})
    post_app(lb_sim, {"id": "/hungry", "mem": 10 ** 6})
    assert declined(queued(lb_sim, "/huge")) == {"UnfulfilledRole": 1, "InsufficientCpus": 1}
    assert declined(queued(lb_sim, "/hungry")) == {"UnfulfilledRole": 1, "InsufficientMemory": 1}


def test_placed_apps_leave_the_queue(lb_sim):
    post_app(lb_sim, {"id": "/fits", "instances": 1})
    wait_for(lambda: get(lb_sim, "/v2/apps/fits")["app"]["tasksRunning"] == 1, "/fits running")
    assert all(q["app"]["id"] != "/fits" for q in get(lb_sim, "/v2/queue")["queue"])


def test_a_backed_off_app_shows_its_delay_and_delete_delay_resets_it(sim_factory):
    sim = sim_factory(auth="none", dataplane=False)
    post_app(sim, {"id": "/crash", "labels": {"SIM_FAIL": "true"}, "backoffSeconds": 300})
    item = wait_for(lambda: next((q for q in get(sim, "/v2/queue")["queue"]
                                  if q["delay"]["timeLeftSeconds"] > 0), None), "the backoff")
    assert item["app"]["id"] == "/crash" and item["delay"]["overdue"] is False
    assert 200 < item["delay"]["timeLeftSeconds"] <= 300
    first_failure = get(sim, "/v2/apps/crash")["app"]["lastTaskFailure"]["taskId"]
    r = requests.delete(f"{sim.marathon}/v2/queue/crash/delay", timeout=TIMEOUT)
    assert (r.status_code, r.content) == (204, b"")
    # launched at once instead of in five minutes (and failed again)
    wait_for(lambda: get(sim, "/v2/apps/crash")["app"]["lastTaskFailure"]["taskId"] != first_failure, "the relaunch")
    r = requests.delete(f"{sim.marathon}/v2/queue/nothing/here/delay", timeout=TIMEOUT)
    assert (r.status_code, r.json()) == (404, {"message": "Application /nothing/here not found in tasks queue."})


def test_groups_are_the_tree_the_app_ids_imply(sim_factory):
    sim = sim_factory(auth="none", dataplane=False)
    for app_id in ("/kexpose/dev/api", "/kexpose/dev/proxy", "/kexpose/prod/api", "/top"):
        post_app(sim, {"id": app_id})
    root = get(sim, "/v2/groups")
    assert (root["id"], [a["id"] for a in root["apps"]], root["pods"], root["dependencies"]) == ("/", ["/top"], [], [])
    [kexpose] = root["groups"]
    assert kexpose["id"] == "/kexpose" and kexpose["apps"] == [] and kexpose["enforceRole"] is False
    assert [g["id"] for g in kexpose["groups"]] == ["/kexpose/dev", "/kexpose/prod"]
    dev = get(sim, "/v2/groups/kexpose/dev")
    assert [a["id"] for a in dev["apps"]] == ["/kexpose/dev/api", "/kexpose/dev/proxy"] and dev["groups"] == []
    assert dev["version"] == max(a["version"] for a in dev["apps"]) and "versionInfo" in dev["apps"][0]
    only_apps = get(sim, "/v2/groups/kexpose", embed="group.apps")
    assert "groups" not in only_apps and "pods" not in only_apps and only_apps["apps"] == []
    counted = get(sim, "/v2/groups/kexpose/dev", embed=["group.apps", "group.apps.counts"])
    assert all("tasksRunning" in a for a in counted["apps"])
    r = requests.get(f"{sim.marathon}/v2/groups/kexpose/missing", timeout=TIMEOUT)
    assert (r.status_code, r.json()) == (404, {"message": "Group '/kexpose/missing' does not exist"})
    empty = sim_factory(auth="none", dataplane=False)
    assert get(empty, "/v2/groups") == {"id": "/", "apps": [], "groups": [], "pods": [], "dependencies": [],
                                         "version": "1970-01-01T00:00:00.000Z", "enforceRole": False}


def test_task_stats_count_tasks_by_version(sim_factory):
    sim = sim_factory(auth="none", dataplane=False)
    post_app(sim, {"id": "/stats", "instances": 2})
    wait_for(lambda: get(sim, "/v2/apps/stats")["app"]["tasksRunning"] == 2, "two tasks")
    [app] = get(sim, "/v2/apps", embed="apps.taskStats")["apps"]
    stats = app["taskStats"]
    assert set(stats) == {"startedAfterLastScaling", "withLatestConfig", "totalSummary"}  # nothing outdated
    total = stats["totalSummary"]["stats"]
    assert total["counts"] == {"staged": 0, "running": 2, "healthy": 0, "unhealthy": 0}
    assert total["lifeTime"]["averageSeconds"] >= 0 and total["lifeTime"]["medianSeconds"] >= 0
    assert "taskStats" not in get(sim, "/v2/apps")["apps"][0]
    assert "taskStats" in get(sim, "/v2/apps/stats", embed="app.taskStats")["app"]
    grouped = get(sim, "/v2/groups", embed=["group.apps", "group.apps.taskStats"])
    assert grouped["apps"][0]["taskStats"]["withLatestConfig"]["stats"]["counts"]["running"] == 2
