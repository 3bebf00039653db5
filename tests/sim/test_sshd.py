"""The agents' sshd: real OpenSSH server per simulated agent, real OpenSSH clients against it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from kexpose_components.delivery import AgentTarget, DeliveryError, SshDelivery
from kexpose_sim.cluster import Agent
from kexpose_sim.config import SimConfig
from kexpose_sim.dataplane.kubernetes import agent_root
from kexpose_sim.dataplane.sshd import AgentSshd, SshdError, _descendants
from kexpose_sim.dataplane.supervisor import Supervisor
from kexpose_sim.state import SimState
from tests.support.waits import EVENTUALLY

#: two public agents (the seeds' HAProxy hosts) and no Kubernetes: nothing else needs to run
TWO_PUBLIC_AGENTS = {"agents": [{"name": "public-1", "public": True}, {"name": "public-2", "public": True}],
                     "kubernetes": []}


def keypair(path: Path) -> tuple[str, str]:
    """A fresh ed25519 client key (private, public) made by ssh-keygen."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kexpose-test", "-f", str(path)],
                   check=True, capture_output=True)
    return path.read_text(), path.with_suffix(".pub").read_text()


@dataclass
class SshAgents:
    state: SimState
    sshd: AgentSshd
    private_key: str
    key_file: Path
    known_hosts_file: Path
    tmp: Path

    @property
    def agents(self) -> list[Agent]:
        return self.state.cluster.agents

    def root(self, agent: Agent) -> Path:
        return agent_root(self.state.config.state_dir, agent.name)

    def write_known_hosts(self) -> None:
        self.known_hosts_file.write_text(self.sshd.known_hosts())

    def client_options(self, key_file: Path | None = None) -> list[str]:
        return ["-F", "/dev/null", "-i", str(key_file or self.key_file), "-o", "IdentitiesOnly=yes",
                "-o", "IdentityAgent=none", "-o", f"UserKnownHostsFile={self.known_hosts_file}",
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                "-o", "ConnectTimeout=10"]

    def sftp(self, agent: Agent, commands: list[str], key_file: Path | None = None) -> subprocess.CompletedProcess:
        batch = self.tmp / "batch"
        batch.write_text("\n".join(commands) + "\n")
        return subprocess.run(["sftp", "-b", str(batch), *self.client_options(key_file), f"core@{agent.address}"],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.fixture
def ssh_agents(tmp_path) -> SshAgents:
    """A simulated cluster with two public agents, each with its sshd, and an authorized client key."""
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(TWO_PUBLIC_AGENTS))
    state = SimState(SimConfig(state_dir=tmp_path / "sim", seed_file=seed))
    supervisor = Supervisor()
    sshd = AgentSshd(state, supervisor)
    try:
        sshd.start()
        client = tmp_path / "client"
        client.mkdir()
        private_key, public_key = keypair(client / "id_ed25519")
        sshd.authorize(public_key)
        agents = SshAgents(state, sshd, private_key, client / "id_ed25519", client / "known_hosts", client)
        agents.write_known_hosts()
        yield agents
    finally:
        sshd.stop()
        supervisor.stop_all()


def alive(pids: list[int]) -> list[int]:
    """The processes among ``pids`` that still run (zombies waiting for their reaper do not)."""
    out = []
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                out.append(pid)
        except OSError:
            pass
    return out


def test_sftp_and_scp_land_under_the_agent_root(ssh_agents):
    one, two = ssh_agents.agents
    local = ssh_agents.tmp / "haproxy.conf"
    local.write_text("global\n  maxconn 100\n")
    out = ssh_agents.sftp(one, ["-mkdir /opt", "-mkdir /opt/haproxy", f"put {local} /opt/haproxy/haproxy.conf",
                                f"put {local} /../../../escape.conf"])
    assert out.returncode == 0, out.stderr
    assert (ssh_agents.root(one) / "opt/haproxy/haproxy.conf").read_text() == "global\n  maxconn 100\n"
    assert (ssh_agents.root(one) / "escape.conf").exists()  # '..' stops at the agent's root (chroot)
    assert not (ssh_agents.root(two) / "opt/haproxy").exists()

    pem = ssh_agents.tmp / "haproxy.pem"
    pem.write_text("CERT AND KEY\n")
    (ssh_agents.root(two) / "opt/haproxy").mkdir(parents=True)
    scp = subprocess.run(["scp", *ssh_agents.client_options(), str(pem), str(local), f"core@{two.address}:/opt/haproxy"],
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert scp.returncode == 0, scp.stderr
    assert sorted(p.name for p in (ssh_agents.root(two) / "opt/haproxy").iterdir()) == ["haproxy.conf", "haproxy.pem"]
    assert (ssh_agents.root(two) / "opt/haproxy/haproxy.pem").read_text() == "CERT AND KEY\n"

    # only SFTP is served: a command never runs (the forced internal-sftp answers instead)
    ssh = subprocess.run(["ssh", *ssh_agents.client_options(), "-T", f"core@{one.address}", "id; touch /ran"],
                         capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert "uid=" not in ssh.stdout and not (ssh_agents.root(one) / "ran").exists()


def test_password_authentication_is_not_offered(ssh_agents):
    agent = ssh_agents.agents[0]
    askpass = ssh_agents.tmp / "askpass"
    asked = ssh_agents.tmp / "asked"
    askpass.write_text(f"#!/bin/sh\ntouch {asked}\necho hunter2\n")
    askpass.chmod(0o755)
    out = subprocess.run(
        ["ssh", "-F", "/dev/null", "-o", f"UserKnownHostsFile={ssh_agents.known_hosts_file}",
         "-o", "StrictHostKeyChecking=yes", "-o", "PubkeyAuthentication=no", "-o", "IdentityAgent=none",
         "-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "NumberOfPasswordPrompts=1",
         "-T", f"core@{agent.address}", "true"],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
        env={**os.environ, "SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"})
    assert out.returncode == 255
    assert "Permission denied (publickey)" in out.stderr  # the only method the server offers
    assert not asked.exists()


def test_a_key_that_is_not_authorized_is_refused(ssh_agents):
    agent = ssh_agents.agents[0]
    other_private, other_public = keypair(ssh_agents.tmp / "other")
    out = ssh_agents.sftp(agent, ["ls /"], key_file=ssh_agents.tmp / "other")
    assert out.returncode != 0 and "Permission denied (publickey)" in out.stderr
    with SshDelivery(other_private, ssh_agents.sshd.known_hosts()) as ssh:
        with pytest.raises(DeliveryError, match=rf"{agent.address} refused the SSH key for user core"):
            ssh.hashes(AgentTarget(agent.address), "/opt", ["x"])
        ssh_agents.sshd.authorize(other_public)  # takes effect without a restart
        assert ssh.hashes(AgentTarget(agent.address), "/opt", ["x"]) == {}
    assert len(ssh_agents.sshd.authorized_keys()) == 2
    ssh_agents.sshd.authorize(other_public)
    assert len(ssh_agents.sshd.authorized_keys()) == 2
    with pytest.raises(ValueError):
        ssh_agents.sshd.authorize("not a key")
    # other users than core are not let in, even with an authorized key
    out = subprocess.run(["sftp", "-b", "/dev/null", *ssh_agents.client_options(), f"root@{agent.address}"],
                         capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert out.returncode != 0 and "Permission denied" in out.stderr


def test_a_changed_host_key_is_detected(ssh_agents):
    one, two = ssh_agents.agents
    old_known_hosts = ssh_agents.sshd.known_hosts()
    ssh_agents.sshd.stop()
    for f in (ssh_agents.sshd.dir / one.name).glob("ssh_host_*"):
        f.unlink()
    ssh_agents.sshd.start()
    assert ssh_agents.sshd.known_hosts() != old_known_hosts
    assert ssh_agents.sshd.known_hosts().splitlines()[1] == old_known_hosts.splitlines()[1]  # kept across restarts

    out = ssh_agents.sftp(one, ["ls /"])  # the client still trusts the old key
    assert out.returncode != 0 and "REMOTE HOST IDENTIFICATION HAS CHANGED" in out.stderr
    with SshDelivery(ssh_agents.private_key, old_known_hosts) as ssh:
        with pytest.raises(DeliveryError, match=rf"the host key of {one.address} does not match known_hosts"):
            ssh.upload(AgentTarget(one.address), "/opt/haproxy", {"haproxy.conf": "x"})
        ssh.upload(AgentTarget(two.address), "/opt/haproxy", {"haproxy.conf": "x"})  # the other agent is fine
    assert not (ssh_agents.root(one) / "opt/haproxy/haproxy.conf").exists()

    only_two = "".join(l + "\n" for l in ssh_agents.sshd.known_hosts().splitlines() if not l.startswith(one.address + " "))
    with SshDelivery(ssh_agents.private_key, only_two) as ssh:
        with pytest.raises(DeliveryError, match=rf"the host key of {one.address} is not in known_hosts"):
            ssh.hashes(AgentTarget(one.address), "/opt/haproxy", ["haproxy.conf"])
    with SshDelivery(ssh_agents.private_key, ssh_agents.sshd.known_hosts()) as ssh:
        assert set(ssh.hashes(AgentTarget(two.address), "/opt/haproxy", ["haproxy.conf", "gone"])) == {"haproxy.conf"}


def test_delivery_client_round_trip_and_errors(ssh_agents):
    agent = ssh_agents.agents[0]
    target = AgentTarget(agent.address)
    directory = ssh_agents.root(agent) / "etc/kexpose/tls"
    with SshDelivery(ssh_agents.private_key, ssh_agents.sshd.known_hosts()) as ssh:
        key_file = next(Path(ssh._dir).glob("id"))
        assert key_file.stat().st_mode & 0o777 == 0o600
        ssh.upload(target, "/etc/kexpose/tls", {"a.pem": "A", "b.conf": "B"}, mode=0o600)
        assert {p.name: p.stat().st_mode & 0o777 for p in directory.iterdir()} == {"a.pem": 0o600, "b.conf": 0o600}
        hashes = ssh.hashes(target, "/etc/kexpose/tls", ["a.pem", "b.conf", "c"])
        assert set(hashes) == {"a.pem", "b.conf"}
        ssh.upload(target, "/etc/kexpose/tls", {"a.pem": "A2"}, mode=0o644, remove=["b.conf", "never-there"])
        assert {p.name: p.read_text() for p in directory.iterdir()} == {"a.pem": "A2"}
        ssh.remove(target, "/etc/kexpose/tls", ["a.pem"])
        ssh.remove(target, "/no/such/dir", ["a.pem"])  # already gone is fine
        assert list(directory.iterdir()) == []
        ssh.upload(target, "/etc/kexpose/tls", {"a.pem": "A", "theirs": "T"})
        ssh.remove(target, "/etc/kexpose/tls", ["a.pem"], remove_dir=True)  # someone else's file: the directory stays
        assert [p.name for p in directory.iterdir()] == ["theirs"]
        (directory / "theirs").unlink()
        ssh.upload(target, "/etc/kexpose/tls", {"a.pem": "A"})
        ssh.remove(target, "/etc/kexpose/tls", ["a.pem"], remove_dir=True)
        assert not directory.exists()
        (ssh_agents.root(agent) / "opt").mkdir()
        (ssh_agents.root(agent) / "opt/haproxy").write_text("a file where the directory should be")
        with pytest.raises(DeliveryError, match=rf"uploading files to /opt/haproxy on {agent.address} failed"):
            ssh.upload(target, "/opt/haproxy", {"haproxy.conf": "x"})
        with pytest.raises(DeliveryError, match=rf"cannot connect to {agent.address} port 2222: connection refused"):
            ssh.hashes(AgentTarget(agent.address, port=2222), "/opt", ["x"])
    assert not key_file.exists() and not key_file.parent.exists()


def test_stop_leaves_no_process_and_host_keys_persist(ssh_agents):
    agent = ssh_agents.agents[0]
    # an open session must not survive a stop either
    session = subprocess.Popen(["sftp", *ssh_agents.client_options(), f"core@{agent.address}"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        session.stdin.write(b"pwd\n")
        session.stdin.flush()
        assert b"Remote working directory" in session.stdout.readline() + session.stdout.readline()
        listeners = list(ssh_agents.sshd._pids.values())
        processes = listeners + [p for pid in listeners for p in _descendants(pid)]
        assert len(alive(processes)) >= 4  # two listeners, the session's privileged and sftp processes
        known_hosts = ssh_agents.sshd.known_hosts()
        ssh_agents.sshd.stop()
        deadline = time.monotonic() + EVENTUALLY
        while alive(processes) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alive(processes) == []
        assert not any(ssh_agents.sshd.running(a) for a in ssh_agents.agents)
    finally:
        session.kill()
        session.wait(10)
    ssh_agents.sshd.start()
    assert ssh_agents.sshd.known_hosts() == known_hosts
    out = ssh_agents.sftp(agent, ["ls /"])
    assert out.returncode == 0, out.stderr
    root = ssh_agents.root(agent)
    assert root.stat().st_uid == 0 and root.stat().st_mode & 0o777 == 0o755
    described = ssh_agents.sshd.describe()
    assert described["user"] == "core" and [a["address"] for a in described["agents"]] == [a.address for a in ssh_agents.agents]


def test_a_port_in_use_fails_the_start_naming_the_agent(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(TWO_PUBLIC_AGENTS))
    state = SimState(SimConfig(state_dir=tmp_path / "sim", seed_file=seed))
    agent = state.cluster.agents[0]
    supervisor = Supervisor()
    sshd = AgentSshd(state, supervisor, port=2222, agents=[agent])
    assert sshd.known_hosts().startswith(f"[{agent.address}]:2222 ssh-ed25519 ")
    with socket.socket() as busy:
        busy.bind((agent.address, 2222))
        busy.listen()
        try:
            with pytest.raises(SshdError, match=rf"sshd for agent public-1 \({agent.address}:2222\) exited .*Address already in use"):
                sshd.start()
        finally:
            sshd.stop()
            supervisor.stop_all()
