"""Mistakes caught at preview against the live (simulated) cluster, and taking over what an
operator made by hand: real engine, the project's program, the simulator over HTTP."""

from __future__ import annotations

import json
import subprocess

import pytest
import requests
from pulumi import automation as auto

from tests.seeds import DUMMY_APP, SEED_POOL
from tests.support.waits import wait_for

from .test_exposures import api, public_address, wait_marathon_lb


def private_address(sim) -> str:
    return next(a["address"] for a in requests.get(f"{sim.url}/_sim/cluster", timeout=5).json()["agents"] if not a["public"])


def curl_post(sim, url: str, body: dict) -> None:
    """As an operator would: curl with the token, the seeds' JSON as the body."""
    token = requests.post(f"{sim.url}/acs/api/v1/auth/login", json={"uid": "bootstrapuser", "password": "deleteme"},
                          timeout=5).json()["token"]
    result = subprocess.run(["curl", "-sSf", "-X", "POST", "-H", f"Authorization: token={token}", "-H",
                             "Content-Type: application/json", "--data", json.dumps(body), url],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def mlb(agent: str, **extra) -> dict:
    return {"name": "mlb", "method": "marathon-lb", "clusters": ["kubernetes"], "port": 6443, "agents": [agent], **extra}


def configure(stack, sim, exposures: list[dict], password: str = "deleteme", clusters=None) -> None:
    stack.configure({"dcos": {"url": sim.url, "uid": "bootstrapuser"},
                     "clusters": clusters or [{"service": "kubernetes"}, {"service": "dev/kubernetes01"}],
                     "exposures": exposures}, secrets={"dcosPassword": password})


def preview_error(stack) -> str:
    with pytest.raises(auto.errors.CommandError) as err:
        stack.preview()
    text = str(err.value)
    assert "Traceback" not in text
    return text


def test_mistakes_fail_the_preview_naming_the_key_and_nothing_is_created(cluster_sim, project_stack):
    sim = cluster_sim
    wait_marathon_lb(sim)
    agent = public_address(sim)
    curl_post(sim, f"{sim.marathon}/v2/apps", DUMMY_APP)  # the seeds' hand-made /kubectl-proxy on MLB port 6443
    stack = project_stack("mistakes")
    cases = [
        ([mlb(agent)], "kexpose:exposures[0].port: Marathon-LB group 'external' already serves port 6443 for app /kubectl-proxy"),
        ([mlb(agent, port=7443, appId="/kubectl-proxy")],
         "kexpose:exposures[0].appId: Marathon app /kubectl-proxy already exists and kexpose does not manage it: set adopt: true"),
        ([mlb(agent, port=7443, agents=["10.99.0.1"])], "kexpose:exposures[0].agents: 10.99.0.1 is not an agent of this cluster"),
        ([{"name": "edge", "method": "edge-lb", "clusters": ["kubernetes"], "port": 7443, "agents": [agent],
           "poolName": "kubectl-proxy"}], None),  # no such pool yet: fine
    ]
    for exposures, expected in cases:
        configure(stack, sim, exposures)
        if expected is None:
            stack.preview()
            continue
        assert expected in preview_error(stack)
    configure(stack, sim, [mlb(agent, port=7443)], clusters=[{"service": "kubernetes"}, {"service": "nope"}])
    assert "kexpose:clusters[1].service: no DC/OS Kubernetes service 'nope' is installed" in preview_error(stack)
    configure(stack, sim, [mlb(agent, port=7443)], password="wrong")
    text = preview_error(stack)
    assert "kexpose:dcos.uid: DC/OS refused the login of uid 'bootstrapuser' (401)" in text and "kexpose:dcosPassword" in text
    assert "wrong" not in text.replace("wrong'", "")  # the password is never echoed
    ssh = {"privateKeyFile": "/etc/hostname", "knownHostsFile": "/etc/hostname"}
    standalone = {"name": "sa", "method": "haproxy", "mode": "quick", "clusters": ["kubernetes"], "ssh": ssh}
    configure(stack, sim, [dict(standalone, port=443, agents=[agent]), dict(standalone, name="sb", port=7443,
                                                                            agents=[private_address(sim)])])
    text = preview_error(stack)
    assert f"kexpose:exposures[0].port: 443 on {agent} belongs to Marathon-LB, which runs there" in text
    assert f"kexpose:exposures[1].agents: {private_address(sim)} is a private agent" in text
    apps = api(sim, f"{sim.marathon}/v2/apps")["apps"]
    assert sorted(a["id"] for a in apps) == ["/kubectl-proxy", "/marathon-lb"]  # previews created nothing


def test_hand_made_app_and_pool_are_adopted_and_another_stack_cannot_take_them(cluster_sim, project_stack):
    sim = cluster_sim
    wait_marathon_lb(sim)
    agent = public_address(sim)
    curl_post(sim, f"{sim.marathon}/v2/apps", DUMMY_APP)
    curl_post(sim, f"{sim.edgelb}/v2/pools", SEED_POOL)
    stack = project_stack("adopt")
    exposures = [mlb(agent, appId="/kubectl-proxy", adopt=True),
                 {"name": "elb", "method": "edge-lb", "clusters": ["kubernetes"], "port": 7443, "statsPort": 7090,
                  "agents": [agent], "poolName": "kubectl-proxy", "adopt": True}]
    configure(stack, sim, exposures)
    preview = stack.preview(diff=True)
    steps = {op: n for op, n in preview.change_summary.items()}
    print(preview.stdout)
    assert steps.get("import") == 2 and steps.get("update") == 2, steps  # taken over in place: no create of either
    assert "kexpose:resources:MarathonApp" not in [l.split()[-1] for l in preview.stdout.splitlines() if l.strip().startswith("+ ")]
    up = stack.up()
    assert up.summary.result == "succeeded"
    apps = [a["id"] for a in api(sim, f"{sim.marathon}/v2/apps")["apps"]]
    assert sorted(apps) == ["/dcos-edgelb/pools/kubectl-proxy", "/kubectl-proxy", "/marathon-lb"]  # nothing recreated
    owner = "organization/kexpose/adopt"
    assert api(sim, f"{sim.marathon}/v2/apps/kubectl-proxy")["app"]["labels"]["KEXPOSE_OWNER"] == owner
    pool = api(sim, f"{sim.edgelb}/v2/pools/kubectl-proxy")
    assert pool["environmentVariables"]["KEXPOSE_OWNER"] == owner and pool["haproxy"]["frontends"][0]["bindPort"] == 7443
    stack.preview(expect_no_changes=True)
    other = project_stack("other")
    configure(other, sim, [dict(exposures[0], name="theirs", port=8443)])
    assert f"kexpose:exposures[0].appId: Marathon app /kubectl-proxy is managed by stack {owner}" in preview_error(other)
    stack.destroy()
    # Edge-LB drops a deleted pool at once and uninstalls its scheduler app a moment later.
    wait_for(lambda: [a["id"] for a in api(sim, f"{sim.marathon}/v2/apps")["apps"]] == ["/marathon-lb"],
             "only /marathon-lb is left after destroy")
