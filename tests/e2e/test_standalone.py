"""The standalone HAProxy method end to end: certificates, validated config, SSH delivery to the
agent, the pinned HAProxy app, probes — through the real program, engine, simulator and clients."""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path

import pytest
import requests
import yaml
from pulumi import automation as auto


def public_address(sim) -> str:
    return next(a["address"] for a in requests.get(f"{sim.url}/_sim/cluster", timeout=5).json()["agents"] if a["public"])


def tokens(sim) -> dict[str, str]:
    return {k["name"]: k["token"] for k in requests.get(f"{sim.url}/_sim/kubernetes", timeout=5).json()}


def settings(sim, agent: str, ssh: dict, sni_clusters: list[str], client_timeout: str = "86400s", bind_options: str = "") -> dict:
    return {
        "dcos": {"url": sim.url, "uid": "bootstrapuser"},
        "clusters": [{"service": "kubernetes"},
                     {"service": "dev/kubernetes01", "domain": "devkubernetes01.example.com"},
                     {"service": "dev/kubernetes02", "domain": "devkubernetes02.example.com"}],
        "exposures": [
            {"name": "quick", "method": "haproxy", "mode": "quick", "clusters": ["kubernetes"], "port": 6443,
             "agents": [agent], "directory": "/opt/kexpose/quick", "ssh": ssh, "stats": {"port": 9000, "bindAddress": agent}},
            {"name": "sni", "method": "haproxy", "mode": "trusted", "clusters": sni_clusters, "port": 7443,
             "agents": [agent], "directory": "/opt/kexpose/sni", "ssh": ssh, "urlHost": "agent",
             "timeouts": {"client": client_timeout}, "bindOptions": bind_options},
        ],
    }


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", "--max-time", "10", *args], capture_output=True, text=True)


def agent_files(sim, agent: str, directory: str) -> set[str]:
    root = Path(sim.sim.state.config.state_dir) / "agents" / "public-1" / "root" / directory.lstrip("/")
    return {p.name for p in root.iterdir()} if root.exists() else set()


def test_quick_and_trusted_modes(cluster_sim, project_stack, ssh_files, tmp_path):
    sim = cluster_sim
    agent = public_address(sim)
    stack = project_stack()
    stack.configure(settings(sim, agent, ssh_files, ["dev/kubernetes01", "dev/kubernetes02"]), secrets={"dcosPassword": "deleteme"})
    up = stack.up()
    assert up.summary.result == "succeeded"
    t = tokens(sim)

    # quick: self-signed wildcard, the apiserver's anonymous 403 through HAProxy
    assert "system:anonymous" in curl("-k", f"https://{agent}:6443/").stdout
    # ... and the kubeconfig pins it, so even quick mode verifies (no insecure flag)
    quick = next(c["cluster"] for c in yaml.safe_load(up.outputs["kubeconfig"].value)["clusters"]
                 if c["cluster"]["server"] == f"https://{agent}:6443")
    assert "insecure-skip-tls-verify" not in quick and quick["tls-server-name"] == "kubernetes.kexpose.internal"
    (tmp_path / "quick-ca.pem").write_bytes(base64.b64decode(quick["certificate-authority-data"]))
    assert "system:anonymous" in curl("--cacert", str(tmp_path / "quick-ca.pem"), "--resolve", f"kubernetes.kexpose.internal:6443:{agent}",
                                      "https://kubernetes.kexpose.internal:6443/").stdout
    assert up.outputs["probes"].value["quick/kubernetes"]["verified"] is True
    # the stats page: behind basic auth with pulumi-random's password, a secret output
    stats = up.outputs["stats"]
    assert stats.value["quick"]["url"] == f"http://{agent}:9000/"  # the password inside: a secret (state scan below)
    password = stats.value["quick"]["password"]
    assert len(password) == 24 and password.isalnum()
    assert "Statistics Report" in curl("-u", f"kexpose:{password}", f"http://{agent}:9000/").stdout
    assert curl("-o", "/dev/null", "-w", "%{http_code}", f"http://{agent}:9000/").stdout == "401"
    # trusted: a client holding only the CA verifies the chain end to end, and SNI picks the cluster
    kubeconfig = up.outputs["kubeconfig"].value
    ca_b64 = next(c["cluster"]["certificate-authority-data"] for c in yaml.safe_load(kubeconfig)["clusters"]
                  if c["cluster"].get("tls-server-name") == "devkubernetes01.example.com")
    (tmp_path / "ca.pem").write_bytes(base64.b64decode(ca_b64))
    for service, domain in (("dev/kubernetes01", "devkubernetes01.example.com"), ("dev/kubernetes02", "devkubernetes02.example.com")):
        out = curl("--cacert", str(tmp_path / "ca.pem"), "--resolve", f"{domain}:7443:{agent}", "-H", f"Authorization: Bearer {t[service]}",
                   f"https://{domain}:7443/api/v1/namespaces/default/pods/hello/log")
        assert out.stdout == f"hello from {service}\n", out.stderr
    assert {"haproxy.cfg", "devkubernetes01.pem", "dev.kubernetes01-ca.pem"} <= agent_files(sim, agent, "/opt/kexpose/sni")
    stack.preview(expect_no_changes=True)
    state = "".join(p.read_text(errors="replace") for p in stack.engine_env.backend_dir.rglob("*") if p.is_file())
    assert "PRIVATE KEY" not in state and "deleteme" not in state and password not in state

    # a timeout change: certificates untouched, config/files/app (hash label) and probes updated
    stack.configure(settings(sim, agent, ssh_files, ["dev/kubernetes01", "dev/kubernetes02"], client_timeout="3600s"),
                    secrets={"dcosPassword": "deleteme"})
    preview = stack.preview(diff=True)
    assert re.search(r'client\s*:\s*"86400s"\s*=>\s*"3600s"', preview.stdout), preview.stdout
    # the config's revision is known at preview: the diff shows old => new, not [unknown]; the app is untouched
    assert re.search(r'revision\s*:\s*"[0-9a-f]{16}"\s*=>\s*"[0-9a-f]{16}"', preview.stdout), preview.stdout
    assert "/kexpose/sni: the new HAProxy config is a reload in place on 1 agent(s), no restart" in preview.stdout + preview.stderr
    assert "restarts its task" not in preview.stdout + preview.stderr
    updated = sorted(re.findall(r"~ pulumi-python:dynamic/([\w/:]+): \(update\)", preview.stdout))
    assert updated == ["agents:Files", "exposure:Probe", "exposure:Probe", "haproxy:Config", "haproxy:Reload"]
    stack.up()
    cfg = (Path(sim.sim.state.config.state_dir) / "agents/public-1/root/opt/kexpose/sni/haproxy.cfg").read_text()
    assert "timeout client 3600s" in cfg
    assert "system:anonymous" in curl("--cacert", str(tmp_path / "ca.pem"), "--resolve", f"devkubernetes01.example.com:7443:{agent}",
                                      "https://devkubernetes01.example.com:7443/").stdout  # the new HAProxy serves

    # an invalid option entered by the user fails the preview with HAProxy's message, changes nothing
    stack.configure(settings(sim, agent, ssh_files, ["dev/kubernetes01", "dev/kubernetes02"], client_timeout="3600s",
                             bind_options="no-such-bind-option"), secrets={"dcosPassword": "deleteme"})
    before = stack.export_stack().deployment
    with pytest.raises(auto.errors.CommandError) as err:
        stack.preview()
    assert "haproxy -c rejects the configuration" in str(err.value) and "no-such-bind-option" in str(err.value)
    assert stack.export_stack().deployment == before

    # removing a cluster removes its backend, bundle and files
    stack.configure(settings(sim, agent, ssh_files, ["dev/kubernetes01"], client_timeout="3600s"), secrets={"dcosPassword": "deleteme"})
    stack.up()
    cfg = (Path(sim.sim.state.config.state_dir) / "agents/public-1/root/opt/kexpose/sni/haproxy.cfg").read_text()
    assert "backend_devkubernetes02" not in cfg
    assert "devkubernetes02.pem" not in agent_files(sim, agent, "/opt/kexpose/sni")

    stack.destroy()
    root = Path(sim.sim.state.config.state_dir) / "agents" / "public-1" / "root" / "opt" / "kexpose"
    assert not (root / "sni").exists() and not (root / "quick").exists()  # the directories it created, too
    apps = requests.get(f"{sim.url}/_sim/state", timeout=5).json()["marathon"]["apps"]
    assert not [a for a in apps if a.startswith("/kexpose/")]
