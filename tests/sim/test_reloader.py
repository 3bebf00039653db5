"""kexpose's reloader in the simulator's containers, driven over HTTP with real clients: a POSIX shell
script from the app's volume runs HAProxy in master-worker mode, reloads it in place when a new
haproxy.cfg arrives, refuses a config HAProxy rejects, and writes what it did to the task's sandbox."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import requests

from kexpose_components.haproxy.app import standalone_app
from kexpose_components.haproxy.reload import RELOADER, RELOADER_FILE, STATUS_FILE, ReloadStatus
from kexpose_components.probe import served_revision
from kexpose_sim.dataplane.pki import issue
from tests.seeds import QUICK_CONFIG
from tests.sim.test_dataplane import agent_dir, kubernetes, public_agent, wait_running
from tests.support.streams import CurlLoop, echoes, exec_tunnel

APP_ID = "/kexpose/reload"


def write_config(directory: Path, revision: str, bind_options: str = "") -> None:
    """The seeds' quick config with a revision, put in place as kexpose does (temp file, rename)."""
    config = QUICK_CONFIG.replace("global\n", f"# kexpose-revision: {revision}\nglobal\n", 1).replace(
        "    mode http\n    default_backend", f"    mode http\n    http-after-response set-header X-Kexpose-Revision {revision}\n"
                                           "    default_backend", 1).replace("haproxy.pem", f"haproxy.pem {bind_options}".rstrip())
    temp = directory / ".haproxy.cfg.kexpose-upload"
    temp.write_text(config)
    temp.replace(directory / "haproxy.cfg")


def wait_for(check, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return result


def sandbox_of(sim, task: dict) -> str:
    return next(t["sandbox"] for t in requests.get(f"{sim.url}/mesos/tasks", timeout=5).json()["tasks"] if t["id"] == task["id"])


def status(sim, task: dict) -> ReloadStatus:
    answer = requests.get(f"{sim.url}/agent/{task['slaveId']}/files/download",
                          params={"path": f"{sandbox_of(sim, task)}/{STATUS_FILE}"}, timeout=5)
    return ReloadStatus.parse(answer.text if answer.ok else "")


def processes_in(root: Path) -> list[int]:
    """Processes whose root directory is inside ``root`` (a container's chroot)."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/root").startswith(str(root)):
                pids.append(int(pid))
        except OSError:
            continue
    return pids


def test_reloader_reloads_in_place_and_keeps_serving_through_a_rejected_config(sim, tmp_path):
    agent = public_agent(sim)
    address = agent["address"]
    conf = agent_dir(sim, agent, "/opt/kexpose/reload")
    bundle = issue(None, "*", [])
    (conf / "haproxy.pem").write_text(bundle.cert_pem + bundle.key_pem)
    (conf / RELOADER_FILE).write_text(RELOADER)
    write_config(conf, "r1")
    app = standalone_app(APP_ID, [address], "/opt/kexpose/reload", 6443)
    requests.post(f"{sim.marathon}/v2/apps", json=app, timeout=5).raise_for_status()
    first = wait_running(sim, APP_ID)
    task = first["tasks"][0]
    assert wait_for(lambda: served_revision(address, 6443) == "r1", "revision r1")
    assert status(sim, task).state == "started"

    token = kubernetes(sim)["kubernetes"]["token"]
    stream = subprocess.Popen(["curl", "-sSkN", "-H", f"Authorization: Bearer {token}",
                               f"https://{address}:6443/api/v1/namespaces/default/pods/silent/log?follow=true"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tunnel = exec_tunnel(address, 6443, token)
    assert echoes(tunnel, "before")
    with CurlLoop("-k", f"https://{address}:6443/") as requests_meanwhile:
        time.sleep(0.5)
        write_config(conf, "r2")  # a new config: reloaded in place
        assert wait_for(lambda: served_revision(address, 6443) == "r2", "revision r2")
        assert status(sim, task) == ReloadStatus("reloaded", "r2", "r2")
        # a config HAProxy refuses on the agent (the file exists where a preview ran, not in the container)
        (tmp_path / "client-ca.pem").write_text(bundle.cert_pem)
        write_config(conf, "r3", f"ca-file {tmp_path / 'client-ca.pem'} verify optional")
        rejected = wait_for(lambda: (s := status(sim, task)).revision == "r3" and s, "the rejection")
        assert (rejected.state, rejected.served) == ("rejected", "r2")
        assert any("unable to load" in a and "client-ca.pem" in a for a in rejected.alerts), rejected.alerts
        assert served_revision(address, 6443) == "r2"  # the old config keeps serving
        write_config(conf, "r4")  # fixed: loaded
        assert wait_for(lambda: served_revision(address, 6443) == "r4", "revision r4")
    assert stream.poll() is None, stream.communicate()  # the silent stream survived three deliveries
    assert echoes(tunnel, "after")  # and so did the idle exec tunnel
    tunnel.close()
    stream.terminate()
    stream.wait(5)
    assert requests_meanwhile.failures == [] and requests_meanwhile.attempts > 10, vars(requests_meanwhile)
    now = requests.get(f"{sim.marathon}/v2/apps{APP_ID}", timeout=5).json()["app"]
    assert now["version"] == first["version"] and now["tasks"][0]["id"] == task["id"]  # no restart

    # Marathon stops the task: the shell and every HAProxy process under it go (no orphan keeps the port)
    sandbox = Path(sim.sim.state.config.state_dir) / "agents" / agent["name"] / "root" / sandbox_of(sim, task).lstrip("/")
    assert processes_in(sandbox)
    requests.delete(f"{sim.marathon}/v2/apps{APP_ID}", timeout=5).raise_for_status()
    wait_for(lambda: not processes_in(sandbox), "the container's processes to stop")
    assert served_revision(address, 6443) is None
