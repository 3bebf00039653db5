"""The simulator's data plane: deploy the seeds' three exposure methods through the HTTP API only,
then reach the simulated apiservers through real HAProxy with real clients (curl, ssl, kubectl)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from kexpose_sim.dataplane.pki import issue, new_ca
from kexpose_sim.config import Timing
from tests.seeds import DUMMY_APP, MARATHON_LB_APP, QUICK_CONFIG, SEED_HAPROXY_APP, SEED_POOL, SERVER_OPTIONS
from tests.support.waits import EVENTUALLY

def public_agent(sim) -> dict:
    return next(a for a in requests.get(f"{sim.url}/_sim/cluster", timeout=5).json()["agents"] if a["public"])


def kubernetes(sim) -> dict[str, dict]:
    return {k["name"]: k for k in requests.get(f"{sim.url}/_sim/kubernetes", timeout=5).json()}


def agent_dir(sim, agent: dict, path: str) -> Path:
    d = Path(sim.sim.state.config.state_dir) / "agents" / agent["name"] / "root" / path.lstrip("/")
    d.mkdir(parents=True, exist_ok=True)
    return d


def deploy_quick_haproxy(sim, agent: dict, config: str = QUICK_CONFIG) -> None:
    """The seeds' example 1 by hand: a wildcard bundle and haproxy.conf on the agent, then the app."""
    conf = agent_dir(sim, agent, "/opt/haproxy")
    wildcard = issue(None, "*", [])
    (conf / "haproxy.pem").write_text(wildcard.cert_pem + wildcard.key_pem)
    (conf / "haproxy.conf").write_text(config)
    requests.post(f"{sim.marathon}/v2/apps", json=SEED_HAPROXY_APP, timeout=5).raise_for_status()


def wait_running(sim, app_id: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        app = requests.get(f"{sim.marathon}/v2/apps{app_id}", timeout=5).json()["app"]
        if app["tasksRunning"] == app["instances"] and not app["deployments"]:
            return app
        assert time.monotonic() < deadline, f"{app_id} not running: {app.get('lastTaskFailure')}"
        time.sleep(0.1)


def wait_listening(agent: dict, port: int = 6443) -> None:
    """TASK_RUNNING comes when HAProxy starts, as on Mesos; listening follows a moment later."""
    deadline = time.monotonic() + EVENTUALLY
    while True:
        with socket.socket() as probe:
            if probe.connect_ex((agent["address"], port)) == 0:
                return
        assert time.monotonic() < deadline, f"nothing listening on {agent['address']}:{port}"
        time.sleep(0.05)


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", "--max-time", "10", *args], capture_output=True, text=True)


def kubectl_get_namespaces(tmp_path: Path, server: str, token: str, ca_pem: str | None = None,
                           server_name: str | None = None) -> subprocess.CompletedProcess:
    cluster = {"server": server}
    if ca_pem:
        (tmp_path / "ca.pem").write_text(ca_pem)
        cluster["certificate-authority"] = str(tmp_path / "ca.pem")
    else:
        cluster["insecure-skip-tls-verify"] = True
    if server_name:
        cluster["tls-server-name"] = server_name
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
              "clusters": [{"name": "c", "cluster": cluster}], "users": [{"name": "u", "user": {"token": token}}],
              "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(config))
    return subprocess.run(["kubectl", "--kubeconfig", str(tmp_path / "kubeconfig"), "get", "namespaces"],
                          capture_output=True, text=True, timeout=30)


def test_standalone_haproxy_quick_mode(sim, tmp_path):
    agent = public_agent(sim)
    deploy_quick_haproxy(sim, agent)
    wait_running(sim, "/kubernetes-haproxy")
    wait_listening(agent)

    out = curl("-k", f"https://{agent['address']}:6443/")
    assert '"code": 403' in out.stdout and 'User \\"system:anonymous\\" cannot get path \\"/\\"' in out.stdout
    token = kubernetes(sim)["kubernetes"]["token"]
    result = kubectl_get_namespaces(tmp_path, f"https://{agent['address']}:6443", token)
    assert result.returncode == 0, result.stderr
    assert "kube-system" in result.stdout and "default" in result.stdout


def test_trusted_sni_routes_two_domains_to_two_clusters(sim, tmp_path):
    agent = public_agent(sim)
    conf = agent_dir(sim, agent, "/opt/haproxy")
    clusters = kubernetes(sim)
    ca = new_ca("example CA")
    frontend = ["frontend frontend_all"]
    binds, backends = [], []
    for service, domain in (("dev/kubernetes01", "devkubernetes01.example.com"), ("dev/kubernetes02", "devkubernetes02.example.com")):
        safe = service.replace("/", "")
        leaf = issue(ca, domain, [domain])
        (conf / f"{safe}.pem").write_text(leaf.cert_pem + leaf.key_pem + ca.cert_pem)  # cert, key, chain
        (conf / f"{service.replace('/', '.')}-ca.pem").write_text(clusters[service]["ca"])
        binds.append(f"crt /haproxy/{safe}.pem")
        frontend.append(f"    use_backend backend_{safe} if {{ ssl_fc_sni {domain} }}")
        backends.append(f"backend backend_{safe}\n    mode http\n    balance leastconn\n"
                        f"    server kube-apiserver apiserver.{safe}.l4lb.thisdcos.directory:6443 check ssl verify required "
                        f"ca-file /haproxy/{service.replace('/', '.')}-ca.pem\n")
    frontend.insert(1, f"    bind :6443 ssl {' '.join(binds)}\n    mode http")
    config = QUICK_CONFIG.split("frontend frontend_all")[0] + "\n".join(frontend) + "\n" + "\n".join(backends)
    (conf / "haproxy.conf").write_text(config)
    requests.post(f"{sim.marathon}/v2/apps", json=SEED_HAPROXY_APP, timeout=5).raise_for_status()
    wait_running(sim, "/kubernetes-haproxy")
    wait_listening(agent)

    (tmp_path / "ca.pem").write_text(ca.cert_pem)
    for service, domain in (("dev/kubernetes01", "devkubernetes01.example.com"), ("dev/kubernetes02", "devkubernetes02.example.com")):
        token = clusters[service]["token"]
        out = curl("--cacert", str(tmp_path / "ca.pem"), "--resolve", f"{domain}:6443:{agent['address']}",
                   "-H", f"Authorization: Bearer {token}", f"https://{domain}:6443/api/v1/namespaces/default/pods/hello/log")
        assert out.stdout == f"hello from {service}\n", out.stderr  # verified chain, right cluster
        workdir = tmp_path / service.replace("/", "_")
        workdir.mkdir()
        result = kubectl_get_namespaces(workdir, f"https://{agent['address']}:6443", token, ca.cert_pem, domain)
        assert result.returncode == 0 and "kube-public" in result.stdout, result.stderr
    # the other cluster's token is refused: the domain really routes to a different apiserver
    out = curl("--cacert", str(tmp_path / "ca.pem"), "--resolve", f"devkubernetes01.example.com:6443:{agent['address']}",
               "-H", f"Authorization: Bearer {clusters['dev/kubernetes02']['token']}", "https://devkubernetes01.example.com:6443/version")
    assert '"code": 401' in out.stdout


def test_ca_is_retrievable_from_the_control_plane_task(sim):
    tasks = requests.get(f"{sim.url}/mesos/tasks", timeout=5).json()["tasks"]
    task = next(t for t in tasks if t["id"].startswith("dev.kubernetes01__kube-control-plane-0-instance"))
    pem = requests.get(f"{sim.url}/agent/{task['slave_id']}/files/download",
                       params={"path": task["sandbox"] + "/ca-crt.pem"}, timeout=5).text
    assert pem == kubernetes(sim)["dev/kubernetes01"]["ca"]


def _install_marathon_lb(sim) -> None:
    requests.post(f"{sim.marathon}/v2/apps", json=MARATHON_LB_APP, timeout=5).raise_for_status()
    wait_running(sim, "/marathon-lb")


@pytest.mark.parametrize("verify", ["verify none", "verify required ca-file /mnt/mesos/sandbox/.ssl/ca-bundle.crt"])
def test_marathon_lb_dummy_app(sim, tmp_path, verify):
    agent = public_agent(sim)
    _install_marathon_lb(sim)
    app = dict(DUMMY_APP, labels={**DUMMY_APP["labels"], "HAPROXY_0_BACKEND_SERVER_OPTIONS": SERVER_OPTIONS.format(verify=verify)})
    requests.post(f"{sim.marathon}/v2/apps", json=app, timeout=5).raise_for_status()
    wait_running(sim, "/kubectl-proxy")
    deadline = time.monotonic() + EVENTUALLY
    while (out := curl("-k", f"https://{agent['address']}:6443/")).stdout.find("system:anonymous") < 0:
        assert time.monotonic() < deadline, out.stdout + out.stderr
        time.sleep(0.2)
    # marathon-lb's default certificate: self-signed for CN=*
    pem = ssl.get_server_certificate((agent["address"], 6443))
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(pem.encode())
    assert cert.subject.rfc4514_string() == cert.issuer.rfc4514_string() == "CN=*"
    result = kubectl_get_namespaces(tmp_path, f"https://{agent['address']}:6443", kubernetes(sim)["kubernetes"]["token"])
    assert result.returncode == 0, result.stderr


def _silent_stream_seconds(agent: dict, token: str, limit: int) -> float:
    url = f"https://{agent['address']}:6443/api/v1/namespaces/default/pods/silent/log?follow=true"
    started = time.monotonic()
    curl("-k", "--max-time", str(limit), "-H", f"Authorization: Bearer {token}", url)
    return time.monotonic() - started


def _wait_serving(agent: dict) -> None:
    deadline = time.monotonic() + EVENTUALLY
    while "system:anonymous" not in curl("-k", f"https://{agent['address']}:6443/").stdout:
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_marathon_lb_timeouts_behave_as_haproxy_does(sim):
    """marathon-lb's defaults scaled to 2 s (SIM_TIMEOUT_*). HAProxy ignores the `timeout client`
    the seeds' label puts in a backend (and says so), and on this HAProxy (2.6) a silent response
    is cut by the *server* timeout: without the label's `timeout server` the stream dies at
    marathon-lb's default; with the seeds' labels it stays open."""
    agent = public_agent(sim)
    lb = dict(MARATHON_LB_APP, env={"SIM_TIMEOUT_CLIENT": "2s", "SIM_TIMEOUT_SERVER": "2s"})
    requests.post(f"{sim.marathon}/v2/apps", json=lb, timeout=5).raise_for_status()
    wait_running(sim, "/marathon-lb")
    token = kubernetes(sim)["kubernetes"]["token"]

    no_server_timeout = SERVER_OPTIONS.format(verify="verify none").replace("  timeout server 86400s\n", "")
    app = dict(DUMMY_APP, labels={**DUMMY_APP["labels"], "HAPROXY_0_BACKEND_SERVER_OPTIONS": no_server_timeout})
    requests.post(f"{sim.marathon}/v2/apps", json=app, timeout=5).raise_for_status()
    wait_running(sim, "/kubectl-proxy")
    _wait_serving(agent)
    assert 1.5 < _silent_stream_seconds(agent, token, 15) < 6  # cut by marathon-lb's default server timeout

    seeds = dict(DUMMY_APP, labels={**DUMMY_APP["labels"], "HAPROXY_0_BACKEND_SERVER_OPTIONS": SERVER_OPTIONS.format(verify="verify none")})
    requests.put(f"{sim.marathon}/v2/apps/kubectl-proxy", json=seeds, timeout=5).raise_for_status()
    wait_running(sim, "/kubectl-proxy")
    time.sleep(0.5)  # the reload
    assert _silent_stream_seconds(agent, token, 6) >= 5.9  # outlives both 2 s defaults

    lb_task = requests.get(f"{sim.marathon}/v2/apps/marathon-lb", timeout=5).json()["app"]["tasks"][0]
    sandbox = next(t for t in requests.get(f"{sim.url}/mesos/tasks", timeout=5).json()["tasks"] if t["id"] == lb_task["id"])["sandbox"]
    log = requests.get(f"{sim.url}/agent/{lb_task['slaveId']}/files/download", params={"path": sandbox + "/stdout"}, timeout=5).text
    assert "'timeout client' will be ignored because backend 'kubectl-proxy_6443' has no frontend capability" in log


def test_edgelb_seed_pool(sim_factory, tmp_path):
    sim = sim_factory(auth="none", timing=Timing(pool_ready=0.2))
    agent = public_agent(sim)
    requests.post(f"{sim.edgelb}/v2/pools", json=SEED_POOL, timeout=5).raise_for_status()
    deadline = time.monotonic() + EVENTUALLY
    while (out := curl("-k", f"https://{agent['address']}:6443/")).stdout.find("system:anonymous") < 0:
        assert time.monotonic() < deadline, out.stdout + out.stderr
        time.sleep(0.2)
    result = kubectl_get_namespaces(tmp_path, f"https://{agent['address']}:6443", kubernetes(sim)["kubernetes"]["token"])
    assert result.returncode == 0, result.stderr
    requests.delete(f"{sim.edgelb}/v2/pools/kubectl-proxy", timeout=5)
    deadline = time.monotonic() + EVENTUALLY
    while socket.socket().connect_ex((agent["address"], 6443)) == 0:
        assert time.monotonic() < deadline, "pool HAProxy still listening after delete"
        time.sleep(0.1)


def test_invalid_config_fails_the_task_with_haproxys_message(sim):
    agent = public_agent(sim)
    deploy_quick_haproxy(sim, agent, QUICK_CONFIG.replace("bind :6443 ssl crt /haproxy/haproxy.pem",
                                                          "bind :6443 ssl crt /haproxy/haproxy.pem no-such-option"))
    deadline = time.monotonic() + EVENTUALLY
    while not (app := requests.get(f"{sim.marathon}/v2/apps/kubernetes-haproxy", timeout=5).json()["app"]).get("lastTaskFailure"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    failure = app["lastTaskFailure"]
    assert failure["state"] == "TASK_FAILED" and "no-such-option" in failure["message"]
    assert app["deployments"]  # still trying, as Marathon would


def test_processes_stop_with_the_simulator_and_come_back_after_restart(sim_factory, tmp_path):
    state_dir = tmp_path / "persist"
    sim = sim_factory(auth="none", state_dir=state_dir)
    agent = public_agent(sim)
    deploy_quick_haproxy(sim, agent)
    wait_running(sim, "/kubernetes-haproxy")
    sim.sim.stop()
    assert socket.socket().connect_ex((agent["address"], 6443)) != 0  # nothing left listening
    sim_factory(auth="none", state_dir=state_dir)  # a new simulator on the same state
    deadline = time.monotonic() + EVENTUALLY
    while "system:anonymous" not in curl("-k", f"https://{agent['address']}:6443/").stdout:
        assert time.monotonic() < deadline
        time.sleep(0.2)
