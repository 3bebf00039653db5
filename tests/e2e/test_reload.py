"""Changes without an outage (issue #16), through the real program, engine, simulator, HAProxy and
kubectl: a timeout change, a second cluster on the SNI frontend and a forced certificate rotation
each reload the standalone HAProxy in place — the open ``kubectl logs -f`` and exec tunnel stay
open, new connections get the change, the Marathon app keeps its version, and a parallel loop of
``curl`` calls sees no failure. A config HAProxy refuses on the agent fails ``up`` with HAProxy's
words and leaves the old one serving; a change to the app itself (its image, its agents) restarts
it, and the preview says which of the two a change is."""

from __future__ import annotations

import base64
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml
from cryptography import x509
from pulumi import automation as auto

from kexpose_components.probe import served_revision
from tests.e2e.test_standalone import public_address, tokens
from tests.support.streams import CurlLoop, echoes, exec_tunnel

APP = "/kexpose/sni"
PORT = 7443
DOMAIN1, DOMAIN2 = "devkubernetes01.example.com", "devkubernetes02.example.com"
RESTART = "/kexpose/sni: this update restarts its task(s), stopping the old one first: brief outage"
RELOAD = "/kexpose/sni: the new HAProxy config is a reload in place on"


@pytest.fixture
def cluster_sim(sim_factory, tmp_path):
    """Two public agents, so that adding one to the exposure is a change to the app."""
    seed = tmp_path / "seed.yaml"
    seed.write_text(yaml.safe_dump({"agents": [{"name": "public-1", "public": True}, {"name": "public-2", "public": True},
                                               {"name": "private-1", "public": False}],
                                    "kubernetes": ["dev/kubernetes01", "dev/kubernetes02"]}))
    return sim_factory(auth="dcos", seed_file=seed)


def settings(sim, agent: str | list[str], ssh: dict, clusters: list[str], server: str = "86400s", bind_options: str = "",
             image: str = "haproxy:2.8") -> dict:
    return {
        "dcos": {"url": sim.url, "uid": "bootstrapuser"},
        "clusters": [{"service": "dev/kubernetes01", "domain": DOMAIN1}, {"service": "dev/kubernetes02", "domain": DOMAIN2}],
        "exposures": [{"name": "sni", "method": "haproxy", "mode": "trusted", "clusters": clusters, "port": PORT,
                       "agents": agent if isinstance(agent, list) else [agent], "directory": "/opt/kexpose/sni", "ssh": ssh, "urlHost": "agent",
                       "timeouts": {"server": server}, "bindOptions": bind_options, "image": image}],
    }


def app_version(sim) -> tuple[str, list[str]]:
    """The HAProxy app's version and its tasks, as Marathon tells a logged-in client."""
    token = requests.post(f"{sim.url}/acs/api/v1/auth/login", json={"uid": "bootstrapuser", "password": "deleteme"},
                          timeout=5).json()["token"]
    app = requests.get(f"{sim.marathon}/v2/apps{APP}", headers={"Authorization": f"token={token}"}, timeout=5).json()["app"]
    return app["version"], sorted(t["id"] for t in app["tasks"])


def served_serial(agent: str, domain: str, ca: Path) -> int:
    """The serial of the certificate a new connection for ``domain`` is served."""
    context = ssl.create_default_context(cafile=str(ca))
    with context.wrap_socket(socket.create_connection((agent, PORT), timeout=10), server_hostname=domain) as tls:
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


def kubectl_logs(kubeconfig: Path, context: str, token: str) -> subprocess.Popen:
    return subprocess.Popen(["kubectl", "--kubeconfig", str(kubeconfig), "--context", context, "--token", token,
                             "logs", "-f", "silent"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def reload_up(stack, config: dict, **up_args) -> None:
    """Preview (it must say: reload in place, no restart), then up."""
    stack.configure(config, secrets={"dcosPassword": "deleteme"})
    preview = stack.preview(diff=True, **up_args)
    said = preview.stdout + preview.stderr
    assert RELOAD in said and "restarts its task" not in said, said
    stack.up(**up_args)


def test_changes_reload_in_place_without_an_outage(cluster_sim, project_stack, ssh_files, tmp_path):
    sim = cluster_sim
    agent = public_address(sim)
    t = tokens(sim)
    stack = project_stack()
    stack.configure(settings(sim, agent, ssh_files, ["dev/kubernetes01"]), secrets={"dcosPassword": "deleteme"})
    up = stack.up()
    (tmp_path / "kubeconfig").write_text(up.outputs["kubeconfig"].value)
    ca = tmp_path / "ca.pem"  # what kubectl trusts: the kubeconfig's CA for the cluster
    ca.write_bytes(base64.b64decode(next(c["cluster"]["certificate-authority-data"]
                                         for c in yaml.safe_load(up.outputs["kubeconfig"].value)["clusters"]
                                         if c["cluster"].get("tls-server-name") == DOMAIN1)))
    version, serial, revision = app_version(sim), served_serial(agent, DOMAIN1, ca), served_revision(agent, PORT)
    context = up.outputs["contexts"].value["sni/dev/kubernetes01"]
    old_stream = kubectl_logs(tmp_path / "kubeconfig", context, t["dev/kubernetes01"])
    tunnel = exec_tunnel(agent, PORT, t["dev/kubernetes01"], DOMAIN1, str(ca))
    assert echoes(tunnel, "hello")

    def still_open(step: str) -> None:
        assert old_stream.poll() is None, f"after {step} the kubectl logs -f stream was cut: {old_stream.communicate()}"
        assert echoes(tunnel, step), f"after {step} the exec tunnel was cut"
        assert app_version(sim) == version, f"{step} changed the Marathon app (its task restarted)"

    loop = CurlLoop("--cacert", str(ca), "--resolve", f"{DOMAIN1}:{PORT}:{agent}", f"https://{DOMAIN1}:{PORT}/")
    with loop:
        # 1. a timeout: new streams are cut by the new `timeout server`, the open one is not
        reload_up(stack, settings(sim, agent, ssh_files, ["dev/kubernetes01"], server="3s"))
        still_open("the timeout change")
        assert served_revision(agent, PORT) != revision
        started = time.monotonic()
        new_stream = kubectl_logs(tmp_path / "kubeconfig", context, t["dev/kubernetes01"])
        new_stream.wait(30)
        assert 2.5 < time.monotonic() - started < 30  # cut by the new 3 s server timeout
        # 2. a second cluster behind the SNI frontend
        two = ["dev/kubernetes01", "dev/kubernetes02"]
        reload_up(stack, settings(sim, agent, ssh_files, two, server="3s"))
        still_open("adding a cluster")
        hello = subprocess.run(["curl", "-sS", "--cacert", str(ca), "--resolve", f"{DOMAIN2}:{PORT}:{agent}", "-H",
                                f"Authorization: Bearer {t['dev/kubernetes02']}",
                                f"https://{DOMAIN2}:{PORT}/api/v1/namespaces/default/pods/hello/log"],
                               capture_output=True, text=True)
        assert hello.stdout == "hello from dev/kubernetes02\n", hello.stderr
        # 3. a certificate rotation, forced: the new bundle is delivered and served
        cert = next(r["urn"] for r in stack.export_stack().deployment["resources"] if r["urn"].endswith("sni-devkubernetes01-cert"))
        reload_up(stack, settings(sim, agent, ssh_files, two, server="3s"), replace=[cert])
        still_open("the certificate rotation")
        rotated = served_serial(agent, DOMAIN1, ca)
        assert rotated != serial
    print(f"\nreloads: {len(loop.failures)} failed of {loop.attempts} curl requests during three changes")
    assert loop.failures == [] and loop.attempts > 20, vars(loop)

    # a bind option HAProxy refuses on the agent (the file exists where the preview ran, not in the container)
    (tmp_path / "client-ca.pem").write_text(ca.read_text())
    served = served_revision(agent, PORT)
    stack.configure(settings(sim, agent, ssh_files, two, server="3s", bind_options=f"ca-file {tmp_path}/client-ca.pem verify optional"),
                    secrets={"dcosPassword": "deleteme"})
    with pytest.raises(auto.errors.CommandError) as refused:
        stack.up()
    message = str(refused.value)
    assert f"HAProxy on {agent} refused the new config" in message and "[ALERT]" in message and "client-ca.pem" in message, message
    assert served_revision(agent, PORT) == served and served_serial(agent, DOMAIN1, ca) == rotated  # the old config serves
    still_open("the refused change")
    stack.configure(settings(sim, agent, ssh_files, two, server="3s"), secrets={"dcosPassword": "deleteme"})
    stack.up()  # fixed: converges
    stack.preview(expect_no_changes=True)
    assert served_revision(agent, PORT) == served

    # a change to the app itself still restarts it, and the preview says so
    stack.configure(settings(sim, agent, ssh_files, two, server="3s", image="haproxy:2.9"), secrets={"dcosPassword": "deleteme"})
    preview = stack.preview(diff=True)
    assert RESTART in preview.stdout + preview.stderr and RELOAD not in preview.stdout + preview.stderr
    stack.up()
    restarted = app_version(sim)
    assert restarted[0] != version[0] and restarted[1] != version[1]  # a new version, new task(s)
    # ... and so does another agent list; up then waits for the config on both agents
    second = next(a["address"] for a in requests.get(f"{sim.url}/_sim/cluster", timeout=5).json()["agents"]
                  if a["public"] and a["address"] != agent)
    stack.configure(settings(sim, [agent, second], ssh_files, two, server="3s", image="haproxy:2.9"),
                    secrets={"dcosPassword": "deleteme"})
    preview = stack.preview(diff=True)
    assert RESTART in preview.stdout + preview.stderr, preview.stdout
    stack.up()
    assert len(app_version(sim)[1]) == 2 and app_version(sim)[0] != restarted[0]
    assert served_revision(agent, PORT) == served_revision(second, PORT) is not None
    old_stream.terminate()
    old_stream.wait(10)
    tunnel.close()
