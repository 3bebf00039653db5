"""Every exposure method through the real program, engine, simulator, HAProxy and kubectl."""

from __future__ import annotations

import subprocess
import time

import pytest
import requests
import yaml

from kexpose_components.kubeconfig import KubeEntry, entries_to_config
from pulumi import automation as auto
from tests.support.waits import EVENTUALLY


def public_address(sim) -> str:
    return next(a["address"] for a in requests.get(f"{sim.url}/_sim/cluster", timeout=5).json()["agents"] if a["public"])


def tokens(sim) -> dict[str, str]:
    return {k["name"]: k["token"] for k in requests.get(f"{sim.url}/_sim/kubernetes", timeout=5).json()}


def api(sim, url: str) -> dict:
    """GET a DC/OS API as the simulator's bootstrap user."""
    token = requests.post(f"{sim.url}/acs/api/v1/auth/login", json={"uid": "bootstrapuser", "password": "deleteme"}, timeout=5).json()["token"]
    return requests.get(url, headers={"Authorization": f"token={token}"}, timeout=5).json()


def wait_marathon_lb(sim) -> None:
    deadline = time.monotonic() + EVENTUALLY
    while True:
        app = api(sim, f"{sim.marathon}/v2/apps/marathon-lb")["app"]
        if app["tasksRunning"] == 1:
            return
        assert time.monotonic() < deadline, app.get("lastTaskFailure")
        time.sleep(0.2)


def kubectl(kubeconfig: str, tmp_path, context: str, token: str, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "kubeconfig"
    path.write_text(kubeconfig)
    return subprocess.run(["kubectl", "--kubeconfig", str(path), "--context", context, "--token", token, *args],
                          capture_output=True, text=True, timeout=60)


def test_marathon_lb_and_edge_lb(cluster_sim, project_stack, tmp_path):
    sim = cluster_sim
    wait_marathon_lb(sim)
    agent = public_address(sim)
    stack = project_stack()
    merged_into = tmp_path / "user-kubeconfig"
    merged_into.write_text(yaml.safe_dump(entries_to_config([KubeEntry("mine", "https://other:6443", None)])))
    stack.configure({
        "dcos": {"url": sim.url, "uid": "bootstrapuser"},
        "kubeconfig": {"path": str(merged_into)},
        "clusters": [{"service": "kubernetes"}, {"service": "dev/kubernetes01"}],
        "exposures": [
            {"name": "mlb", "method": "marathon-lb", "clusters": ["kubernetes"], "port": 6443, "agents": [agent]},
            {"name": "elb", "method": "edge-lb", "clusters": ["dev/kubernetes01"], "port": 7443, "statsPort": 7090, "agents": [agent]},
        ],
    }, secrets={"dcosPassword": "deleteme"})
    up = stack.up()
    assert up.summary.result == "succeeded"
    endpoints = up.outputs["endpoints"].value
    assert endpoints == {"mlb/kubernetes": f"https://{agent}:6443", "elb/dev/kubernetes01": f"https://{agent}:7443"}
    probes = up.outputs["probes"].value
    assert set(probes) == set(endpoints) and all(p["latency_ms"] > 0 and p["verified"] is False for p in probes.values())
    kubeconfig = up.outputs["kubeconfig"].value
    config = yaml.safe_load(kubeconfig)
    contexts = [c["name"] for c in config["contexts"]]
    assert contexts == [f"{agent.replace('.', '-')}6443", f"{agent.replace('.', '-')}7443"]
    t = tokens(sim)
    for context, service in zip(contexts, ("kubernetes", "dev/kubernetes01")):
        result = kubectl(kubeconfig, tmp_path, context, t[service], "get", "namespaces")
        assert result.returncode == 0 and "kube-system" in result.stdout, result.stderr
    assert "deleteme" not in up.stdout
    merged = yaml.safe_load(merged_into.read_text())  # merged next to the user's own, which stays current
    assert [c["name"] for c in merged["contexts"]] == ["mine", *contexts] and merged["current-context"] == "mine"
    owner = "organization/kexpose/e2e"  # what the stack manages says so
    assert api(sim, f"{sim.marathon}/v2/apps/kexpose/mlb")["app"]["labels"]["KEXPOSE_OWNER"] == owner
    assert api(sim, f"{sim.edgelb}/v2/pools/kexpose-elb")["environmentVariables"]["KEXPOSE_OWNER"] == owner
    stack.preview(expect_no_changes=True)
    stack.destroy()
    assert requests.get(f"{sim.url}/_sim/state", timeout=5).json()["edgelb"]["pools"] == {}
    assert [c["name"] for c in yaml.safe_load(merged_into.read_text())["contexts"]] == ["mine"]  # ours taken out


def test_bad_config_names_the_key(cluster_sim, project_stack):
    stack = project_stack("bad")
    stack.configure({
        "dcos": {"url": cluster_sim.url},
        "clusters": [{"service": "kubernetes"}],
        "exposures": [{"name": "mlb", "method": "marathon-lb", "clusters": ["kubernetes"], "port": 443, "agents": ["10.0.0.7"]}],
    })
    with pytest.raises(auto.errors.CommandError) as err:
        stack.preview()
    text = str(err.value)
    assert "kexpose:exposures[0].port: 443 is taken by Marathon-LB itself" in text and "use e.g. 6443" in text
    assert "Traceback" not in text
