"""The simulator's command line, cluster seed and restart behaviour."""

from __future__ import annotations

import subprocess
import sys

import requests

from tests.support.engine import PROJECT_ROOT


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kexpose_sim", *args], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=30)


def test_help_lists_every_option():
    out = run_cli("serve", "--help").stdout
    for option in ("--port", "--state-dir", "--auth", "--user", "--service-account", "--forbid", "--edgelb-service",
                   "--seed", "--agent-network", "--deploy-seconds", "--pool-ready-seconds", "--faults", "--verbose"):
        assert option in out


def test_default_cluster(sim):
    cluster = requests.get(f"{sim.url}/_sim/cluster", timeout=5).json()
    roles = sorted(a["role"] for a in cluster["agents"])
    assert roles == ["*", "slave_public"]
    services = {k["name"]: k for k in cluster["kubernetes"]}
    assert set(services) == {"kubernetes", "dev/kubernetes01", "dev/kubernetes02"}
    assert services["dev/kubernetes01"]["vip"] == "apiserver.devkubernetes01.l4lb.thisdcos.directory:6443"
    names = {t["name"]: t for t in services["dev/kubernetes01"]["tasks"]}
    assert names["kube-control-plane-0-instance"]["id"].startswith("dev.kubernetes01__kube-control-plane-0-instance__")
    assert "apiserver" in names["kube-apiserver-0-instance"]["ports"]
    addresses = [a["address"] for a in cluster["agents"]]
    assert len(set(addresses)) == 2 and all(a.startswith("127.") for a in addresses)


def test_seed_file(tmp_path, sim_process):
    seed = tmp_path / "seed.yaml"
    seed.write_text("agents:\n  - {name: pub-a, public: true}\n  - {name: pub-b, public: true}\n"
                    "  - {name: priv, public: false, attributes: {zone: a}}\nkubernetes: [prod/k8s]\n")
    proc = sim_process("--auth", "none", "--seed", str(seed), "--agent-network", "127.201.7")
    cluster = requests.get(f"{proc.url}/_sim/cluster", timeout=5).json()
    assert [a["address"] for a in cluster["agents"]] == ["127.201.7.1", "127.201.7.2", "127.201.7.3"]
    assert [k["name"] for k in cluster["kubernetes"]] == ["prod/k8s"]


def test_bad_seed_is_a_clear_error(tmp_path):
    seed = tmp_path / "seed.yaml"
    seed.write_text("agents: 3\n")
    out = run_cli("serve", "--state-dir", str(tmp_path / "s"), "--seed", str(seed))
    assert out.returncode == 2
    assert "seed key 'agents' must be a non-empty list" in out.stderr
    assert "Traceback" not in out.stderr


def test_restart_keeps_cluster_and_accounts(tmp_path, sim_process):
    state = tmp_path / "state"
    first = sim_process("--auth", "dcos", state_dir=state)
    before = requests.get(f"{first.url}/_sim/cluster", timeout=5).json()
    requests.put(f"{first.url}/_sim/auth/users/carol", json={"password": "pw"}, timeout=5).raise_for_status()
    token = requests.post(f"{first.url}/acs/api/v1/auth/login", json={"uid": "carol", "password": "pw"}, timeout=5).json()["token"]
    first.kill()
    second = sim_process("--auth", "dcos", state_dir=state)
    assert requests.get(f"{second.url}/_sim/cluster", timeout=5).json() == before
    # the signing key survived: a token issued before the restart is still valid
    r = requests.get(f"{second.url}/service/marathon/v2/apps", headers={"Authorization": f"token={token}"}, timeout=5)
    assert r.status_code == 200
