"""Edge-LB pools with DC/OS secrets, over the simulator's HTTP APIs and its real HAProxy: a missing
secret fails the pool's tasks (pod status), certificates from the secret store served by SNI to
two clusters from one frontend, and a new secret value taken up by a reload that keeps open
connections open."""

from __future__ import annotations

import socket
import ssl
import subprocess
import time

import pytest
import requests
from cryptography import x509

from kexpose_sim.config import Timing
from kexpose_sim.dataplane.pki import issue, new_ca

DOMAINS = {"dev/kubernetes01": "k01.example.com", "dev/kubernetes02": "k02.example.com"}


def sni_pool(port: int) -> dict:
    """One HTTPS frontend, a certificate per cluster from the secret store, routed by SNI."""
    flat = {s: s.replace("/", "") for s in DOMAINS}
    return {
        "apiVersion": "V2", "name": "sni", "autoCertificate": False,
        "secrets": [{"secret": f"elb/{flat[s]}", "file": flat[s]} for s in DOMAINS],
        "haproxy": {
            "frontends": [{"bindPort": port, "protocol": "HTTPS",
                           "certificates": [f"$SECRETS/{flat[s]}" for s in DOMAINS],
                           "linkBackend": {"map": [{"hostEq": d, "backend": flat[s]} for s, d in DOMAINS.items()]}}],
            "backends": [{"name": flat[s], "protocol": "HTTPS",
                          "services": [{"mesos": {"frameworkName": s, "taskNamePattern": "kube-apiserver"},
                                        "endpoint": {"portName": "apiserver"}}]} for s in DOMAINS],
            "stats": {"bindPort": port + 1},
        },
    }


def wait(what: str, check, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
    return result


def served(address: str, port: int, name: str, ca_pem: str) -> x509.Certificate:
    context = ssl.create_default_context(cadata=ca_pem)
    with socket.create_connection((address, port), timeout=5) as raw, context.wrap_socket(raw, server_hostname=name) as tls:
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", "--max-time", "10", *args], capture_output=True, text=True)


@pytest.fixture
def pool_sim(sim_factory):
    return sim_factory(auth="none", timing=Timing(pool_ready=0.2, pool_reload=0.2))


def test_pool_with_secret_certificates_routes_by_sni_and_reloads_on_rotation(pool_sim, tmp_path):
    sim = pool_sim
    agent = next(a for a in requests.get(f"{sim.url}/_sim/cluster", timeout=5).json()["agents"] if a["public"])["address"]
    tokens = {k["name"]: k["token"] for k in requests.get(f"{sim.url}/_sim/kubernetes", timeout=5).json()}
    ca = new_ca("test CA")
    (tmp_path / "ca.pem").write_text(ca.cert_pem)
    requests.post(f"{sim.edgelb}/v2/pools", json=sni_pool(8443), timeout=5).raise_for_status()

    # no secrets yet: the pool's task cannot start, and the pool scheduler says why
    status_url = f"{sim.url}/service/dcos-edgelb/pools/sni/v1/pod/status"
    task = wait("the task error", lambda: (t := requests.get(status_url, timeout=5).json()["pods"][0]["instances"][0]["tasks"][0])
                ["status"] == "ERROR" and t)
    assert "elb/devkubernetes01" in task["message"] and "not found" in task["message"]

    for service, domain in DOMAINS.items():
        pair = issue(ca, domain, [domain])
        requests.put(f"{sim.url}/secrets/v1/secret/default/elb/{service.replace('/', '')}",
                     json={"value": pair.cert_pem + pair.key_pem}, timeout=5).raise_for_status()
    wait("the pool running", lambda: requests.get(status_url, timeout=5).json()["pods"][0]["instances"][0]["tasks"][0]["status"] == "RUNNING")
    lbconfig = requests.get(f"{sim.edgelb}/v2/pools/sni/lbconfig", timeout=5).text
    assert "use_backend devkubernetes01 if { ssl_fc_sni -i k01.example.com }" in lbconfig
    assert lbconfig.count("/secrets/devkubernetes0") == 2
    # each name gets its own certificate and its own cluster, verified with the CA alone
    for service, domain in DOMAINS.items():
        cert = wait("a served certificate", lambda: _try(served, agent, 8443, domain, ca.cert_pem))
        assert cert.subject.rfc4514_string().startswith(f"CN={domain},")
        log = curl("--cacert", str(tmp_path / "ca.pem"), "--resolve", f"{domain}:8443:{agent}",
                   "-H", f"Authorization: Bearer {tokens[service]}",
                   f"https://{domain}:8443/api/v1/namespaces/default/pods/hello/log")
        assert log.stdout.strip() == f"hello from {service}", log.stderr

    # rotation: a new value for one secret, while a silent stream is open through the pool
    domain = DOMAINS["dev/kubernetes01"]
    before = served(agent, 8443, domain, ca.cert_pem).serial_number
    master = _haproxy_master(sim)
    stream = subprocess.Popen(["curl", "-sS", "--cacert", str(tmp_path / "ca.pem"), "--resolve", f"{domain}:8443:{agent}",
                               "-H", f"Authorization: Bearer {tokens['dev/kubernetes01']}",
                               f"https://{domain}:8443/api/v1/namespaces/default/pods/silent/log?follow=true"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    renewed = issue(ca, domain, [domain])
    requests.patch(f"{sim.url}/secrets/v1/secret/default/elb/devkubernetes01",
                   json={"value": renewed.cert_pem + renewed.key_pem}, timeout=5).raise_for_status()
    after = wait("the new serial", lambda: (s := served(agent, 8443, domain, ca.cert_pem).serial_number) != before and s)
    assert after == renewed.cert.serial_number
    assert _haproxy_master(sim) == master  # reloaded in place, not relaunched
    time.sleep(1)
    assert stream.poll() is None, stream.communicate()  # the stream opened before is still open
    stream.terminate()
    stream.wait(10)


def _try(fn, *args):
    try:
        return fn(*args)
    except OSError:
        return None


def _haproxy_master(sim) -> str:
    config = f"{sim.sim.state.config.state_dir}/edgelb/pools/sni/instances/0/haproxy.cfg"
    return subprocess.run(["pgrep", "-o", "-f", config], capture_output=True, text=True).stdout.strip()
