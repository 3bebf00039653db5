"""The DC/OS endpoints clients call first, over HTTP and HTTPS: Admin Router's metadata and the
cluster CA, the version file, login providers, Mesos-DNS, the Mesos state summary and node health
— with the simulated cluster's own data."""

from __future__ import annotations

import ssl
import subprocess
import sys
import time
import uuid
import warnings
from pathlib import Path

import pytest
import requests
from cryptography import x509
from urllib3.exceptions import InsecureRequestWarning

from kexpose_sim.dataplane.pki import new_ca
from tests.support.waits import EVENTUALLY

TIMEOUT = 5
SEED = """\
agents:
  - {name: public-1, public: true}
  - {name: private-1, public: false, cpus: 8, mem: 30000, attributes: {zone: a}}
kubernetes: [kubernetes]
"""


@pytest.fixture
def dcos(sim_factory, tmp_path):
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED)
    return sim_factory(auth="dcos", seed_file=seed, dataplane=False)


def token(url: str, verify: bool | str = True) -> dict[str, str]:
    r = requests.post(f"{url}/acs/api/v1/auth/login", json={"uid": "bootstrapuser", "password": "deleteme"},
                      timeout=TIMEOUT, verify=verify)
    return {"Authorization": f"token={r.json()['token']}"}


def cluster(sim) -> dict:
    return requests.get(f"{sim.url}/_sim/cluster", timeout=TIMEOUT).json()


def test_metadata_has_the_public_ip_and_a_cluster_id_kept_across_restarts(sim_factory, tmp_path):
    state_dir = tmp_path / "state"
    sim = sim_factory(auth="dcos", state_dir=state_dir, dataplane=False)
    assert requests.get(f"{sim.url}/metadata", timeout=TIMEOUT).status_code == 401  # behind the token check
    body = requests.get(f"{sim.url}/metadata", headers=token(sim.url), timeout=TIMEOUT).json()
    assert body["PUBLIC_IPV4"] == "127.0.0.1" and uuid.UUID(body["CLUSTER_ID"]).version == 4
    sim.sim.stop()
    again = sim_factory(auth="dcos", state_dir=state_dir, dataplane=False)
    assert requests.get(f"{again.url}/metadata", headers=token(again.url), timeout=TIMEOUT).json() == body
    other = sim_factory(auth="dcos", dataplane=False)
    assert requests.get(f"{other.url}/metadata", headers=token(other.url), timeout=TIMEOUT).json()["CLUSTER_ID"] \
        != body["CLUSTER_ID"]


def test_version_file_and_login_providers_need_no_token(dcos, sim_factory):
    version = requests.get(f"{dcos.url}/dcos-metadata/dcos-version.json", timeout=TIMEOUT).json()
    assert version["version"].startswith("2.") and version["dcos-variant"] == "enterprise"
    assert len(version["dcos-image-commit"]) == 40 and len(version["bootstrap-id"]) == 40
    providers = requests.get(f"{dcos.url}/acs/api/v1/auth/providers", timeout=TIMEOUT).json()
    assert providers["dcos-users"]["authentication-type"] == "dcos-uid-password"
    assert providers["dcos-services"]["authentication-type"] == "dcos-uid-servicekey"
    assert {p["config"]["start_flow_url"] for p in providers.values()} == {"/acs/api/v1/auth/login"}
    open_cluster = sim_factory(auth="none", dataplane=False)
    assert requests.get(f"{open_cluster.url}/dcos-metadata/dcos-version.json",
                        timeout=TIMEOUT).json()["dcos-variant"] == "open"
    assert requests.get(f"{open_cluster.url}/acs/api/v1/auth/providers", timeout=TIMEOUT).json() == {}


def test_mesos_dns_resolves_the_master_and_agents(dcos):
    headers = token(dcos.url)
    master = requests.get(f"{dcos.url}/mesos_dns/v1/hosts/master.mesos", headers=headers, timeout=TIMEOUT).json()
    assert master == [{"host": "master.mesos.", "ip": "127.0.0.1"}]
    agent = cluster(dcos)["agents"][0]
    r = requests.get(f"{dcos.url}/mesos_dns/v1/hosts/{agent['hostname']}", headers=headers, timeout=TIMEOUT)
    assert r.json() == [{"host": f"{agent['hostname']}.", "ip": agent["address"]}]
    unknown = requests.get(f"{dcos.url}/mesos_dns/v1/hosts/nope.mesos", headers=headers, timeout=TIMEOUT).json()
    assert unknown == [{"host": "", "ip": ""}]
    assert requests.get(f"{dcos.url}/mesos_dns/v1/hosts/master.mesos", timeout=TIMEOUT).status_code == 401


def test_state_summary_lists_the_agents_and_frameworks_with_their_tasks(dcos):
    headers = token(dcos.url)
    requests.post(f"{dcos.marathon}/v2/apps", headers=headers, timeout=TIMEOUT,
                  json={"id": "/worker", "cmd": "sleep 1000", "cpus": 0.5, "mem": 256}).raise_for_status()
    agents = {a["name"]: a for a in cluster(dcos)["agents"]}

    def summary() -> dict:
        return requests.get(f"{dcos.url}/mesos/master/state-summary", headers=headers, timeout=TIMEOUT).json()

    deadline = time.monotonic() + EVENTUALLY
    while not any(f["name"] == "marathon" and f["TASK_RUNNING"] for f in summary()["frameworks"]):
        assert time.monotonic() < deadline, "the task never ran"
        time.sleep(0.05)
    body = summary()
    assert (body["hostname"], body["cluster"]) == ("127.0.0.1", "kexpose-sim")
    slaves = {s["hostname"]: s for s in body["slaves"]}
    public, private = slaves[agents["public-1"]["address"]], slaves[agents["private-1"]["address"]]
    assert public["id"] == agents["public-1"]["id"] and public["active"] is True
    assert public["attributes"] == {"public_ip": "true"} and private["attributes"] == {"zone": "a"}
    assert (private["resources"]["cpus"], private["resources"]["mem"]) == (8.0, 30000.0)
    assert private["resources"]["ports"].startswith("[1025-2180, ")
    assert private["used_resources"]["cpus"] == 0.5 and private["TASK_RUNNING"] == 3  # worker + two k8s tasks
    assert "slave_public" in public["reserved_resources"]
    frameworks = {f["name"]: f for f in body["frameworks"]}
    assert frameworks["marathon"]["TASK_RUNNING"] == 1 and frameworks["marathon"]["slave_ids"] == [private["id"]]
    assert frameworks["kubernetes"]["TASK_RUNNING"] == 2 and frameworks["kubernetes"]["active"] is True


def test_node_health_lists_master_and_agents_with_their_roles(dcos):
    nodes = requests.get(f"{dcos.url}/system/health/v1/nodes", headers=token(dcos.url), timeout=TIMEOUT).json()
    roles = {n["host_ip"]: n["role"] for n in nodes["nodes"]}
    agents = {a["name"]: a["address"] for a in cluster(dcos)["agents"]}
    assert roles == {"127.0.0.1": "master", agents["public-1"]: "agent_public", agents["private-1"]: "agent"}
    assert {n["health"] for n in nodes["nodes"]} == {0}


# -- HTTPS ----------------------------------------------------------------------------------------------
@pytest.fixture
def https(sim_factory, tmp_path):
    return sim_factory(auth="dcos", tls=True, state_dir=tmp_path / "tls-state", dataplane=False)


def fetched_ca(url: str, path: Path) -> Path:
    """What ``dcos cluster setup`` does: fetch the CA before trusting the cluster."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureRequestWarning)  # as the CLI asks the user to confirm
        pem = requests.get(f"{url}/ca/dcos-ca.crt", timeout=TIMEOUT, verify=False).text
    path.write_text(pem)
    return path


def test_https_verifies_with_the_fetched_cluster_ca(https, tmp_path):
    assert https.url.startswith("https://127.0.0.1:")
    ca = fetched_ca(https.url, tmp_path / "dcos-ca.crt")
    assert x509.load_pem_x509_certificate(ca.read_bytes()).extensions.get_extension_for_class(
        x509.BasicConstraints).value.ca
    headers = token(https.url, verify=str(ca))
    r = requests.get(f"{https.marathon}/v2/info", headers=headers, timeout=TIMEOUT, verify=str(ca))
    assert r.status_code == 200 and r.json()["name"] == "marathon"
    port = https.url.rsplit(":", 1)[1]
    by_name = requests.get(f"https://localhost:{port}/dcos-metadata/dcos-version.json", timeout=TIMEOUT, verify=str(ca))
    assert by_name.json()["dcos-variant"] == "enterprise"  # the certificate names localhost too


def test_https_fails_with_the_system_store_or_another_ca(https, tmp_path):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{https.url}/dcos-metadata/dcos-version.json", timeout=TIMEOUT)
    other = tmp_path / "other-ca.crt"
    other.write_text(new_ca("someone else").cert_pem)
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        requests.get(f"{https.url}/dcos-metadata/dcos-version.json", timeout=TIMEOUT, verify=str(other))
    with pytest.raises(requests.exceptions.ConnectionError):  # plain HTTP gets no answer from a TLS port
        requests.get(https.url.replace("https://", "http://") + "/ping", timeout=TIMEOUT)


def test_the_ca_is_kept_with_the_state_and_served_without_tls_too(sim_factory, tmp_path):
    state_dir = tmp_path / "state"
    first = sim_factory(auth="dcos", tls=True, state_dir=state_dir, dataplane=False)
    pem = fetched_ca(first.url, tmp_path / "first.crt").read_text()
    first.sim.stop()
    again = sim_factory(auth="dcos", tls=True, state_dir=state_dir, dataplane=False)
    ca = fetched_ca(again.url, tmp_path / "again.crt")
    assert ca.read_text() == pem
    requests.get(f"{again.url}/dcos-metadata/dcos-version.json", timeout=TIMEOUT, verify=str(ca)).raise_for_status()
    again.sim.stop()
    plain = sim_factory(auth="dcos", state_dir=state_dir, dataplane=False)
    assert plain.url.startswith("http://")
    r = requests.get(f"{plain.url}/ca/dcos-ca.crt", timeout=TIMEOUT)
    assert (r.status_code, r.text) == (200, pem) and r.headers["Content-Type"] == "application/x-x509-ca-cert"


def test_a_tls_name_goes_into_the_certificate(sim_factory, tmp_path):
    sim = sim_factory(auth="none", tls=True, tls_names=("dcos.example.test",), dataplane=False)
    host, port = sim.url.removeprefix("https://").rsplit(":", 1)
    der = ssl.get_server_certificate((host, int(port)))
    names = x509.load_pem_x509_certificate(der.encode()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert {str(n.value) for n in names} == {"127.0.0.1", "dcos.example.test"}


def test_serve_help_documents_tls():
    out = subprocess.run([sys.executable, "-m", "kexpose_sim", "serve", "--help"], capture_output=True, text=True,
                         check=True).stdout
    assert "--tls " in out and "--tls-name NAME" in out and "/ca/dcos-ca.crt" in out
