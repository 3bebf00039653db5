"""Edge-LB's trusted mode end to end: two clusters behind one pool on one port by SNI, their
certificates in the DC/OS secret store, clients holding only the kubeconfig's CA, a forced
rotation under an open `kubectl logs -f`, and teardown leaving no pool and no secret; real
engine, simulator, HAProxy, kubectl and curl."""

from __future__ import annotations

import base64
import socket
import ssl
import subprocess
import time

import pytest
import requests
import yaml
from cryptography import x509
from pulumi import automation as auto

from .test_own_certificates import make_pki
from .test_standalone import curl, public_address, tokens

DOMAINS = {"dev/kubernetes01": "devkubernetes01.example.com", "dev/kubernetes02": "devkubernetes02.example.com"}


def settings(sim, agent: str, **exposure) -> dict:
    return {
        "dcos": {"url": sim.url, "uid": exposure.pop("uid", "bootstrapuser")},
        "clusters": [{"service": s, "domain": d} for s, d in DOMAINS.items()],
        "exposures": [{"name": "elb", "method": "edge-lb", "mode": "trusted", "clusters": list(DOMAINS), "port": 7443,
                       "statsPort": 7090, "agents": [agent], "urlHost": "agent", **exposure}],
    }


def serial(agent: str, domain: str, ca_pem: str) -> int:
    context = ssl.create_default_context(cadata=ca_pem)
    with socket.create_connection((agent, 7443), timeout=5) as raw, context.wrap_socket(raw, server_hostname=domain) as tls:
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


def state(sim) -> dict:
    return requests.get(f"{sim.url}/_sim/state", timeout=5).json()


def test_one_trusted_pool_serves_two_clusters_and_rotates_without_dropping_streams(cluster_sim, project_stack, tmp_path):
    sim = cluster_sim
    agent = public_address(sim)
    stack = project_stack()
    stack.configure(settings(sim, agent), secrets={"dcosPassword": "deleteme"})
    up = stack.up()
    assert up.summary.result == "succeeded"
    assert all(p["verified"] for p in up.outputs["probes"].value.values())
    assert set(state(sim)["secrets"]["secrets"]) == {"kexpose/elb/devkubernetes01", "kexpose/elb/devkubernetes02"}

    kubeconfig = up.outputs["kubeconfig"].value
    (tmp_path / "kubeconfig").write_text(kubeconfig)
    entries = {c["cluster"]["tls-server-name"]: c["cluster"] for c in yaml.safe_load(kubeconfig)["clusters"]}
    assert set(entries) == set(DOMAINS.values())
    assert not any("insecure-skip-tls-verify" in c for c in entries.values())
    ca_pem = base64.b64decode(entries["devkubernetes01.example.com"]["certificate-authority-data"]).decode()
    (tmp_path / "ca.pem").write_text(ca_pem)
    t = tokens(sim)
    contexts = up.outputs["contexts"].value
    for service, domain in DOMAINS.items():
        got = subprocess.run(["kubectl", "--kubeconfig", str(tmp_path / "kubeconfig"), "--context", contexts[f"elb/{service}"],
                              "--token", t[service], "logs", "hello"], capture_output=True, text=True, timeout=60)
        assert got.stdout.strip() == f"hello from {service}", got.stderr  # SNI took it to its own cluster
        answer = curl("--cacert", str(tmp_path / "ca.pem"), "--resolve", f"{domain}:7443:{agent}", f"https://{domain}:7443/")
        assert '"kind":"Status"' in answer.stdout.replace(" ", "") and "system:anonymous" in answer.stdout, answer.stderr

    requests.delete(f"{sim.url}/_sim/stats", timeout=5)
    stack.refresh()
    stack.preview(expect_no_changes=True)
    assert sim.stats()["writes"] == 0

    # forced rotation: a renewal window longer than the certificates' lifetime
    before = {d: serial(agent, d, ca_pem) for d in DOMAINS.values()}
    stream = subprocess.Popen(["kubectl", "--kubeconfig", str(tmp_path / "kubeconfig"), "--context",
                               contexts["elb/dev/kubernetes01"], "--token", t["dev/kubernetes01"], "logs", "-f", "silent"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    stack.configure(settings(sim, agent, renewBeforeDays=400), secrets={"dcosPassword": "deleteme"})
    preview = stack.preview()
    said = preview.stdout + preview.stderr
    assert "certificate for devkubernetes01.example.com expires" in said and "renewal window" in said, said
    assert "a new one will be issued" in said and "DC/OS secret kexpose/elb/devkubernetes01" in said
    assert preview.change_summary.get("replace", 0) == 0 and "delete" not in preview.change_summary
    rotated = stack.up()
    assert rotated.summary.result == "succeeded"
    after = {d: serial(agent, d, ca_pem) for d in DOMAINS.values()}
    assert all(after[d] != before[d] for d in DOMAINS.values())  # new connections see the new serial
    time.sleep(1)
    assert stream.poll() is None, stream.communicate()  # the stream opened before is still open
    stream.terminate()
    stream.wait(10)

    texts = up.stdout + rotated.stdout + said + (sim.sim.state.config.state_dir / "state.json").read_text()
    assert "PRIVATE KEY" not in texts
    stack.destroy()
    assert state(sim)["edgelb"]["pools"] == {} and state(sim)["secrets"]["secrets"] == {}


def test_bad_input_names_the_key_and_makes_nothing(cluster_sim, project_stack, tmp_path):
    sim = cluster_sim
    agent = public_address(sim)
    stack = project_stack("bad")

    missing_domain = settings(sim, agent)
    del missing_domain["clusters"][1]["domain"]
    stack.configure(missing_domain, secrets={"dcosPassword": "deleteme"})
    with pytest.raises(auto.errors.CommandError) as err:
        stack.preview()
    assert ("kexpose:exposures[0].clusters: trusted mode routes by domain (SNI): set kexpose:clusters[…].domain for "
            "dev/kubernetes02") in str(err.value) and "Traceback" not in str(err.value)

    pki = tmp_path / "pki"
    pki.mkdir()
    make_pki(pki, ["devkubernetes01.example.com", "other.example.com"])
    wrong_key = settings(sim, agent)
    wrong_key["clusters"][0]["certificate"] = {"certFile": str(pki / "devkubernetes01.example.com.crt"),
                                               "keyFile": str(pki / "other.example.com.key"),
                                               "rootFile": str(pki / "user-ca.pem")}
    stack.configure(wrong_key, secrets={"dcosPassword": "deleteme"})
    with pytest.raises(auto.errors.CommandError) as err:
        stack.preview()
    assert "key_pem does not belong to cert_pem" in str(err.value) and "Traceback" not in str(err.value)

    requests.put(f"{sim.url}/_sim/auth/users/ci", json={"password": "ci-pass"}, timeout=5).raise_for_status()
    requests.put(f"{sim.url}/_sim/secrets/grants/ci", json={"paths": ["kexpose"]}, timeout=5).raise_for_status()
    stack.configure(settings(sim, agent, uid="ci", secretsPath="platform/elb"), secrets={"dcosPassword": "ci-pass"})
    with pytest.raises(auto.errors.CommandError) as err:
        stack.up()
    assert ("kexpose:exposures[0].secretsPath: uid 'ci' may not write the DC/OS secret 'platform/elb/devkubernetes0"
            in str(err.value)) and "Traceback" not in str(err.value), str(err.value)[-2000:]
    assert state(sim)["edgelb"]["pools"] == {} and state(sim)["secrets"]["secrets"] == {}  # nothing half-made


def test_the_users_own_certificate_rotates_when_its_file_changes(cluster_sim, project_stack, tmp_path):
    sim = cluster_sim
    agent = public_address(sim)
    pki = tmp_path / "pki"
    pki.mkdir()
    domain = DOMAINS["dev/kubernetes01"]
    make_pki(pki, [domain])
    doc = settings(sim, agent, clusters=["dev/kubernetes01"])
    doc["clusters"][0]["certificate"] = {"certFile": str(pki / f"{domain}.crt"), "keyFile": str(pki / f"{domain}.key"),
                                         "rootFile": str(pki / "user-ca.pem")}
    stack = project_stack("own")
    stack.configure(doc, secrets={"dcosPassword": "deleteme"})
    stack.up()
    root = (pki / "user-ca.pem").read_text()
    before = serial(agent, domain, root)
    # the operator renews the certificate (same CA, same key) and replaces the file
    subprocess.run(["openssl", "x509", "-req", "-in", f"{domain}.csr", "-CA", "user-ca.pem", "-CAkey", "user-ca.key",
                    "-CAcreateserial", "-out", f"{domain}.crt", "-days", "300", "-extfile", f"{domain}.ext"],
                   cwd=pki, check=True, capture_output=True)
    preview = stack.preview()
    said = preview.stdout + preview.stderr
    assert "the new certificate will be used" in said and "DC/OS secret kexpose/elb/devkubernetes01" in said, said
    stack.up()
    assert serial(agent, domain, root) != before
    stack.destroy()
    assert state(sim)["secrets"]["secrets"] == {}
