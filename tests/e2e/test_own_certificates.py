"""Production TLS with the operator's own certificates (the seeds' example 2, done for real):
a CA and certificates made with openssl here, the private key as a Pulumi secret, clients that
hold only the operator's CA verifying the chain end to end; real engine, HAProxy, curl, kubectl."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from pulumi import automation as auto

from tests.support.engine import engine_root

from .test_standalone import curl, public_address, tokens


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d: Path, domains: list[str]) -> None:
    """user-ca.{pem,key}, and per domain <domain>.{crt,key} signed by it (as an operator's CA would)."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "user-ca.key", "-out", "user-ca.pem",
            "-days", "3650", "-subj", "/CN=Operator Test Root CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    for domain in domains:
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{domain}.key", "-out", f"{domain}.csr",
                "-subj", f"/CN={domain}", cwd=d)
        (d / f"{domain}.ext").write_text(f"subjectAltName=DNS:{domain}\nextendedKeyUsage=serverAuth\n"
                                         "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
        openssl("x509", "-req", "-in", f"{domain}.csr", "-CA", "user-ca.pem", "-CAkey", "user-ca.key", "-CAcreateserial",
                "-out", f"{domain}.crt", "-days", "200", "-extfile", f"{domain}.ext", cwd=d)


def plain_export(stack) -> str:
    """`pulumi stack export` as a user runs it (the Automation API's own export decrypts secrets)."""
    return subprocess.run([str(engine_root() / "bin" / "pulumi"), "stack", "export", "--stack", stack.stack.name],
                          cwd=stack.stack.workspace.work_dir, env={**os.environ, **stack.engine_env.as_env()},
                          capture_output=True, text=True, check=True).stdout


def stack_settings(sim, agent: str, ssh: dict, pki: Path, exposure: dict) -> dict:
    return {
        "dcos": {"url": sim.url, "uid": "bootstrapuser"},
        "clusters": [
            {"service": "dev/kubernetes01", "domain": "devkubernetes01.example.com",
             "certificate": {"certFile": str(pki / "devkubernetes01.example.com.crt"), "keySecret": "devk8s01Key",
                             "rootFile": str(pki / "user-ca.pem")}},
            {"service": "dev/kubernetes02", "domain": "devkubernetes02.example.com"},
        ],
        "exposures": [{"name": "own", "method": "haproxy", "mode": "trusted", "port": 7443, "agents": [agent],
                       "directory": "/opt/kexpose/own", "ssh": ssh, "urlHost": "agent", **exposure}],
    }


def test_own_certificate_and_own_ca_verify_end_to_end(cluster_sim, project_stack, ssh_files, tmp_path):
    sim, agent = cluster_sim, public_address(cluster_sim)
    pki = tmp_path / "pki"
    pki.mkdir()
    make_pki(pki, ["devkubernetes01.example.com"])
    key = (pki / "devkubernetes01.example.com.key").read_text()
    stack = project_stack("own")
    # dev/kubernetes01 serves the operator's own certificate; dev/kubernetes02 one issued by the operator's CA
    stack.configure(stack_settings(sim, agent, ssh_files, pki, {
        "clusters": ["dev/kubernetes01", "dev/kubernetes02"],
        "issuingCa": {"certFile": str(pki / "user-ca.pem"), "keyFile": str(pki / "user-ca.key")}}),
        secrets={"dcosPassword": "deleteme", "devk8s01Key": key})
    up = stack.up()
    assert up.summary.result == "succeeded"
    t = tokens(sim)
    for service, domain in (("dev/kubernetes01", "devkubernetes01.example.com"), ("dev/kubernetes02", "devkubernetes02.example.com")):
        out = curl("--cacert", str(pki / "user-ca.pem"), "--connect-to", f"{domain}:7443:{agent}:7443", f"https://{domain}:7443/")
        assert '"reason":"Forbidden"' in out.stdout.replace(" ", "") and "system:anonymous" in out.stdout, out.stderr
    kubeconfig = yaml.safe_load(up.outputs["kubeconfig"].value)
    for cluster in kubeconfig["clusters"]:  # both carry the operator's root: clients verify against it
        assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]).decode() == (pki / "user-ca.pem").read_text()
        assert "insecure-skip-tls-verify" not in cluster["cluster"]
    (tmp_path / "kubeconfig").write_text(up.outputs["kubeconfig"].value)
    for context in kubeconfig["contexts"]:
        service = "dev/kubernetes01" if "01" in context["name"] else "dev/kubernetes02"
        result = subprocess.run(["kubectl", "--kubeconfig", str(tmp_path / "kubeconfig"), "--context", context["name"],
                                 "--token", t[service], "get", "ns"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and "kube-system" in result.stdout, result.stderr
    assert all(p["verified"] for p in up.outputs["probes"].value.values())
    stack.preview(expect_no_changes=True)
    texts = [up.stdout, plain_export(stack),
             *(p.read_text(errors="replace") for p in stack.engine_env.backend_dir.rglob("*") if p.is_file())]
    body = key.split("-----")[2].strip().splitlines()[1]  # a line from inside the key
    leaks = [i for i, text in enumerate(texts) if body in text]
    assert not leaks, [texts[i][max(0, texts[i].find(body) - 300):texts[i].find(body) + 80] for i in leaks]  # never in state, export or logs
    ca_key_line = (pki / "user-ca.key").read_text().split("-----")[2].strip().splitlines()[1]
    assert not any(ca_key_line in text for text in texts)
    stack.destroy()


def test_bad_own_certificates_fail_the_preview_naming_the_key(cluster_sim, project_stack, ssh_files, tmp_path):
    sim, agent = cluster_sim, public_address(cluster_sim)
    pki = tmp_path / "pki"
    pki.mkdir()
    make_pki(pki, ["devkubernetes01.example.com", "other.example.com"])
    other = tmp_path / "other"
    other.mkdir()
    make_pki(other, [])  # a root the certificate does not chain to
    stack = project_stack("badcert")
    exposure = {"clusters": ["dev/kubernetes01"]}
    cases = [
        ({"devk8s01Key": (pki / "other.example.com.key").read_text()}, {}, "key_pem does not belong to cert_pem"),
        ({"devk8s01Key": (pki / "devkubernetes01.example.com.key").read_text()},
         {"rootFile": str(other / "user-ca.pem")}, "chain_pem does not verify for devkubernetes01.example.com up to the root in rootFile"),
        ({}, {}, "kexpose:clusters[0].certificate.keySecret: kexpose:devk8s01Key is not set"),
    ]
    for secrets, change, expected in cases:
        doc = stack_settings(sim, agent, ssh_files, pki, exposure)
        doc["clusters"][0]["certificate"].update(change)
        stack.configure(doc, secrets={"dcosPassword": "deleteme", **secrets})
        if not secrets:
            stack.remove_config("kexpose:devk8s01Key")
        with pytest.raises(auto.errors.CommandError) as err:
            stack.preview()
        assert expected in str(err.value) and "Traceback" not in str(err.value)
