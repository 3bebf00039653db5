"""The simulated kube-apiserver as a new user meets it: the real kubectl (kubeconfig with the
service's CA and bearer token, its own discovery cache) for the commands typed first, and the
discovery, Table and review bodies over HTTP checked field by field.

Whatever kubectl is on PATH: a current one reads the aggregated discovery, Debian 12's
kubernetes-client (1.20, what ``make setup`` installs when none is there) the legacy one; both
pass these tests."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import requests
import yaml

from kexpose_sim.config import SimConfig
from kexpose_sim.dataplane.kube_discovery import AGGREGATED_V2
from kexpose_sim.dataplane.kube_objects import human_duration
from kexpose_sim.server import Simulator

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One simulator for the module (these tests only read), its service and private agent."""
    sim = Simulator(SimConfig(state_dir=tmp_path_factory.mktemp("sim"), auth="none")).start()
    try:
        services = {k["name"]: k for k in requests.get(f"{sim.base_url}/_sim/kubernetes", timeout=5).json()}
        agents = requests.get(f"{sim.base_url}/_sim/cluster", timeout=5).json()["agents"]
        yield {"service": services["kubernetes"], "other": services["dev/kubernetes01"],
               "private": next(a for a in agents if not a["public"])}
    finally:
        sim.stop()


class Kubectl:
    def __init__(self, workdir: Path, service: dict):
        self.server = f"https://{service['vip_address']}:6443"
        self.token = service["token"]
        (workdir / "ca.pem").write_text(service["ca"])
        config = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
                  "clusters": [{"name": "c", "cluster": {"server": self.server, "certificate-authority": str(workdir / "ca.pem")}}],
                  "users": [{"name": "u", "user": {"token": self.token}}],
                  "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}
        (workdir / "kubeconfig").write_text(yaml.safe_dump(config))
        self.base = ["kubectl", "--kubeconfig", str(workdir / "kubeconfig"), "--cache-dir", str(workdir / "cache")]
        self.ca = str(workdir / "ca.pem")

    def __call__(self, *args: str) -> str:
        out = subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, f"kubectl {' '.join(args)}: {out.stderr}"
        return out.stdout

    def fails(self, *args: str) -> str:
        out = subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=30)
        assert out.returncode != 0, out.stdout
        return out.stderr

    def http(self, method: str, path: str, accept: str = "application/json", **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": accept, **kwargs.pop("headers", {})}
        return requests.request(method, self.server + path, headers=headers, verify=self.ca, timeout=10, **kwargs)


@pytest.fixture
def kubectl(cluster, tmp_path) -> Kubectl:
    return Kubectl(tmp_path, cluster["service"])


def rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.strip().splitlines()]


def test_get_namespaces_by_short_name(kubectl):
    table = rows(kubectl("get", "ns"))
    assert table[0] == ["NAME", "STATUS", "AGE"]
    assert [(r[0], r[1]) for r in table[1:]] == [("default", "Active"), ("kube-public", "Active"), ("kube-system", "Active")]


def test_get_pods_in_all_namespaces(kubectl):
    table = rows(kubectl("get", "pods", "-A"))
    assert table[0] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert {(r[0], r[1]) for r in table[1:]} == {("default", "hello"), ("default", "silent"), ("default", "ticker"),
                                                  ("kube-system", "coredns-0")}
    assert [r[0] for r in rows(kubectl("get", "po", "-n", "kube-system"))[1:]] == ["coredns-0"]
    empty = subprocess.run([*kubectl.base, "get", "pods", "-n", "nosuch"], capture_output=True, text=True, timeout=30)
    assert empty.returncode == 0 and empty.stderr.strip() == "No resources found in nosuch namespace."
    assert 'pods "nosuch" not found' in kubectl.fails("get", "pod", "nosuch")


def test_get_nodes_are_the_services_tasks_on_their_agent(kubectl, cluster):
    table = rows(kubectl("get", "no", "-o", "wide"))
    assert table[0][:7] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP"]
    nodes = {r[0]: r for r in table[1:]}
    assert set(nodes) == {"kube-control-plane-0-instance.kubernetes.mesos", "kube-node-0-kubelet.kubernetes.mesos"}
    assert nodes["kube-control-plane-0-instance.kubernetes.mesos"][1:3] == ["Ready", "control-plane"]
    assert {r[5] for r in nodes.values()} == {cluster["private"]["address"]}
    pods = {r[0]: r for r in rows(kubectl("get", "pods", "-o", "wide"))[1:]}
    assert pods["hello"][6] == "kube-node-0-kubelet.kubernetes.mesos"


def test_nodes_of_a_folder_service_drop_the_slash(cluster, tmp_path):
    names = Kubectl(tmp_path, cluster["other"])("get", "nodes", "-o", "name").split()
    assert names == ["node/kube-control-plane-0-instance.devkubernetes01.mesos", "node/kube-node-0-kubelet.devkubernetes01.mesos"]


def test_version(kubectl):
    out = subprocess.run([*kubectl.base, "version", "-o", "json"], capture_output=True, text=True, timeout=30)
    server = json.loads(out.stdout)["serverVersion"]
    assert (server["major"], server["minor"], server["gitVersion"]) == ("1", "24", "v1.24.9")


def test_auth_can_i(kubectl):
    assert kubectl("auth", "can-i", "get", "pods").strip() == "yes"
    assert kubectl("auth", "can-i", "list", "nodes").strip() == "yes"
    listing = rows(kubectl("auth", "can-i", "--list"))
    assert listing[0][0] == "Resources" and ["*.*", "[]", "[]", "[*]"] in listing
    # JSON works too, and a review without attributes is refused as kube-apiserver refuses it
    path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    ok = kubectl.http("POST", path, json={"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                                          "spec": {"resourceAttributes": {"verb": "get", "resource": "pods", "namespace": "default"}}})
    assert ok.status_code == 201 and ok.json()["status"]["allowed"] is True
    assert ok.json()["spec"]["resourceAttributes"]["resource"] == "pods"
    bad = kubectl.http("POST", path, json={"spec": {}})
    assert bad.status_code == 422 and bad.json()["reason"] == "Invalid"
    assert "exactly one of nonResourceAttributes or resourceAttributes must be specified" in bad.json()["message"]


def test_cluster_info(kubectl):
    lines = re.sub(r"\x1b\[[0-9;]*m", "", kubectl("cluster-info")).splitlines()  # kubectl 1.20 colours it
    assert lines[0] == f"Kubernetes control plane is running at {kubectl.server}"
    assert lines[1] == f"CoreDNS is running at {kubectl.server}/api/v1/namespaces/kube-system/services/kube-dns:dns/proxy"


def test_selectors(kubectl):
    assert kubectl("get", "svc", "-A", "-l", "kubernetes.io/cluster-service=true", "-o", "name").split() == ["service/kube-dns"]
    assert kubectl("get", "pods", "--field-selector", "metadata.name=ticker", "-o", "name").split() == ["pod/ticker"]
    assert kubectl("get", "pods", "-l", "!app", "-o", "name").split() == ["pod/hello", "pod/silent", "pod/ticker"]
    bad = kubectl.http("GET", "/api/v1/pods", params={"fieldSelector": "spec.nope=x"})
    assert bad.status_code == 400 and "spec.nope" in bad.json()["message"]


def test_legacy_discovery_shape(kubectl):
    core = kubectl.http("GET", "/api/v1").json()
    assert core["kind"] == "APIResourceList" and core["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["namespaces"] == {"name": "namespaces", "singularName": "namespace", "namespaced": False,
                                     "kind": "Namespace", "verbs": ["get", "list"], "shortNames": ["ns"]}
    assert by_name["pods"]["shortNames"] == ["po"] and by_name["pods"]["namespaced"] is True
    assert by_name["pods/log"]["verbs"] == ["get"] and by_name["nodes"]["shortNames"] == ["no"]
    api = kubectl.http("GET", "/api").json()
    assert api["kind"] == "APIVersions" and api["versions"] == ["v1"]
    groups = kubectl.http("GET", "/apis").json()
    assert groups["kind"] == "APIGroupList"
    assert groups["groups"][0]["preferredVersion"] == {"groupVersion": "authorization.k8s.io/v1", "version": "v1"}
    authz = kubectl.http("GET", "/apis/authorization.k8s.io/v1").json()
    assert {r["name"]: r["verbs"] for r in authz["resources"]}["selfsubjectaccessreviews"] == ["create"]


def test_aggregated_discovery_when_asked(kubectl):
    accept = f"{AGGREGATED_V2},application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
    answer = kubectl.http("GET", "/api", accept=accept)
    assert answer.headers["Content-Type"] == AGGREGATED_V2
    body = answer.json()
    assert body["kind"] == "APIGroupDiscoveryList" and body["items"][0]["metadata"]["name"] == ""
    resources = {r["resource"]: r for r in body["items"][0]["versions"][0]["resources"]}
    assert resources["pods"]["scope"] == "Namespaced" and resources["pods"]["shortNames"] == ["po"]
    assert resources["pods"]["responseKind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert resources["pods"]["subresources"][0]["subresource"] == "log"
    assert resources["namespaces"]["scope"] == "Cluster" and resources["namespaces"]["singularResource"] == "namespace"
    named = kubectl.http("GET", "/apis", accept=accept).json()
    assert [i["metadata"]["name"] for i in named["items"]] == ["authorization.k8s.io"]


def test_table_output(kubectl):
    table = kubectl.http("GET", "/api/v1/pods", accept=TABLE).json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0] == ["Name", "Ready", "Status", "Restarts", "Age"]
    namespaces = {r["object"]["metadata"]["namespace"] for r in table["rows"]}
    assert namespaces == {"default", "kube-system"}  # what kubectl's NAMESPACE column reads
    plain = kubectl.http("GET", "/api/v1/namespaces/default/pods").json()
    assert plain["kind"] == "PodList" and plain["items"][0]["spec"]["containers"][0]["name"] == "main"


def test_unserved_verbs_are_refused(kubectl):
    answer = kubectl.http("DELETE", "/api/v1/namespaces/default/pods/hello")
    assert answer.status_code == 405 and answer.json()["reason"] == "MethodNotAllowed"
    assert kubectl.http("GET", "/api/v1/deployments").status_code == 404


@pytest.mark.parametrize(("seconds", "shown"), [
    (0, "0s"), (119, "119s"), (120, "2m"), (125, "2m5s"), (600, "10m"), (3 * 3600 - 1, "179m"), (3 * 3600, "3h"),
    (3 * 3600 + 300, "3h5m"), (8 * 3600, "8h"), (47 * 3600, "47h"), (48 * 3600, "2d"), (50 * 3600, "2d2h"),
    (8 * 86400, "8d"), (729 * 86400, "729d"), (730 * 86400, "2y"), (731 * 86400, "2y1d"), (8 * 365 * 86400, "8y")])
def test_age_reads_as_kube_apiserver_prints_it(seconds, shown):
    assert human_duration(seconds) == shown
