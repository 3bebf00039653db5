"""A silent `kubectl logs -f` outlives Marathon-LB's default timeouts (scaled to 2 s here) through
every kexpose exposure: kexpose puts each timeout where HAProxy honours it."""

from __future__ import annotations

import subprocess
import time

import requests

HOLD = 6.0  # seconds the stream must stay open: three times the scaled defaults


def test_silent_log_streams_survive_every_exposure(cluster_sim, project_stack, ssh_files, tmp_path):
    sim = cluster_sim
    agent = next(a["address"] for a in requests.get(f"{sim.url}/_sim/cluster", timeout=5).json()["agents"] if a["public"])
    stack = project_stack()
    stack.configure({
        "dcos": {"url": sim.url, "uid": "bootstrapuser"},
        "clusters": [{"service": "kubernetes"}, {"service": "dev/kubernetes01", "domain": "devkubernetes01.example.com"}],
        "exposures": [
            {"name": "quick", "method": "haproxy", "mode": "quick", "clusters": ["kubernetes"], "port": 6443,
             "agents": [agent], "directory": "/opt/kexpose/quick", "ssh": ssh_files},
            {"name": "sni", "method": "haproxy", "mode": "trusted", "clusters": ["dev/kubernetes01"], "port": 7443,
             "agents": [agent], "directory": "/opt/kexpose/sni", "ssh": ssh_files, "urlHost": "agent"},
            {"name": "mlb", "method": "marathon-lb", "clusters": ["kubernetes"], "port": 8443, "agents": [agent]},
            {"name": "elb", "method": "edge-lb", "clusters": ["dev/kubernetes01"], "port": 9443, "statsPort": 9444,
             "agents": [agent], "urlHost": "agent"},
        ],
    }, secrets={"dcosPassword": "deleteme"})
    up = stack.up()
    (tmp_path / "kubeconfig").write_text(up.outputs["kubeconfig"].value)
    tokens = {k["name"]: k["token"] for k in requests.get(f"{sim.url}/_sim/kubernetes", timeout=5).json()}
    streams = {}
    for key, context in up.outputs["contexts"].value.items():
        service = key.split("/", 1)[1]
        streams[key] = subprocess.Popen(
            ["kubectl", "--kubeconfig", str(tmp_path / "kubeconfig"), "--context", context, "--token", tokens[service],
             "logs", "-f", "silent"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(HOLD)
    cut = {key: p.communicate()[1] for key, p in streams.items() if p.poll() is not None}
    for p in streams.values():
        p.terminate()
        p.wait(10)
    assert cut == {}, f"streams cut before {HOLD}s: {cut}"
    assert set(streams) == {"quick/kubernetes", "sni/dev/kubernetes01", "mlb/kubernetes", "elb/dev/kubernetes01"}
    stack.destroy()
    state = requests.get(f"{sim.url}/_sim/state", timeout=5).json()
    assert not [a for a in state["marathon"]["apps"] if a.startswith("/kexpose/")]
    assert state["edgelb"]["pools"] == {}
    leftover = subprocess.run(["pgrep", "-f", f"{sim.sim.state.config.state_dir}/edgelb"], capture_output=True, text=True)
    assert leftover.stdout == ""  # the pool's HAProxy is gone too
