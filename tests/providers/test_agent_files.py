"""AgentFiles through the real engine, delivering with the real OpenSSH client to the agents' real sshd."""

from __future__ import annotations

import json
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pulumi import automation as auto

from kexpose_components.resources.agent_files import AgentFiles
from tests.sim.test_sshd import ssh_agents  # noqa: F401  (fixture: two public agents with sshd)

HAPROXY_CONF = "global\n  maxconn 100\nfrontend kubernetes\n  bind :6443\n"


def tls_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def program(ssh_agents, agents, files, directory="/opt/haproxy", mode=0o600, known_hosts=None, last=""):
    def run():
        AgentFiles("haproxy-files", agents=[{"host": a.address} for a in agents],
                   ssh_private_key=ssh_agents.private_key,
                   known_hosts=known_hosts if known_hosts is not None else ssh_agents.sshd.known_hosts(),
                   directory=directory, files=files, mode=mode, last=last)
    return run


def on_agent(ssh_agents, agent, directory="opt/haproxy") -> dict[str, str]:
    d = ssh_agents.root(agent) / directory
    return {p.name: p.read_text() for p in sorted(d.iterdir())} if d.exists() else {}


def test_lifecycle_drift_and_secrets(ssh_agents, stack_factory):
    one, two = ssh_agents.agents
    pem = tls_key_pem()
    files = {"haproxy.conf": HAPROXY_CONF, "haproxy.pem": pem}
    stack = stack_factory(program(ssh_agents, [one, two], files, last="haproxy.conf"))

    up = stack.up()
    assert up.summary.resource_changes == {"create": 2}
    for agent in (one, two):
        assert on_agent(ssh_agents, agent) == files
        assert (ssh_agents.root(agent) / "opt/haproxy/haproxy.pem").stat().st_mode & 0o777 == 0o600
        # `last` is renamed into place after the others, although its name sorts first
        changed = {name: (ssh_agents.root(agent) / "opt/haproxy" / name).stat().st_ctime_ns for name in files}
        assert changed["haproxy.conf"] > changed["haproxy.pem"]
    stack.preview(expect_no_changes=True)

    # what state holds: hashes in the clear, the SSH key and the files only as secrets
    exported, raw = stack.plain_export(), stack.raw_state()
    for text in (exported, raw, up.stdout, up.stderr):
        assert "PRIVATE KEY" not in text and "maxconn" not in text
    resource = next(r for r in json.loads(exported)["deployment"]["resources"] if r["type"].endswith("agents:Files"))
    assert resource["outputs"]["hashes"][f"core@{one.address}:22"].keys() == {"haproxy.conf", "haproxy.pem"}
    for field in ("ssh_private_key", "files"):
        assert resource["inputs"][field]["4dabf18193072939515e22adb298388d"] == "1b47061264138c4ac30d75fd1eb44270"
        assert resource["outputs"][field]["4dabf18193072939515e22adb298388d"] == "1b47061264138c4ac30d75fd1eb44270"

    # one file changes: only that file is rewritten
    pem_inode = {a.name: (ssh_agents.root(a) / "opt/haproxy/haproxy.pem").stat().st_ino for a in (one, two)}
    files = {**files, "haproxy.conf": HAPROXY_CONF + "  timeout client 1h\n"}
    stack.set_program(program(ssh_agents, [one, two], files))
    assert stack.preview().change_summary == {"update": 1, "same": 1}
    up = stack.up()
    assert up.summary.resource_changes == {"update": 1, "same": 1}
    for agent in (one, two):
        assert on_agent(ssh_agents, agent) == files
        assert (ssh_agents.root(agent) / "opt/haproxy/haproxy.pem").stat().st_ino == pem_inode[agent.name]
    stack.preview(expect_no_changes=True)

    # a file edited by hand on an agent: refresh finds it, up restores it
    (ssh_agents.root(two) / "opt/haproxy/haproxy.conf").write_text("edited by hand\n")
    refresh = stack.refresh()
    assert refresh.summary.resource_changes.get("update") == 1
    preview = stack.preview()
    assert preview.change_summary == {"update": 1, "same": 1}
    assert re.search(r"haproxy\.conf on core@" + re.escape(two.address), preview.stdout + preview.stderr)
    stack.up()
    assert on_agent(ssh_agents, two) == files
    stack.preview(expect_no_changes=True)

    # a file dropped from the set and an agent dropped from the list: both cleaned up
    stack.set_program(program(ssh_agents, [one], {"haproxy.conf": files["haproxy.conf"]}))
    assert stack.up().summary.resource_changes == {"update": 1, "same": 1}
    assert on_agent(ssh_agents, one) == {"haproxy.conf": files["haproxy.conf"]}
    assert on_agent(ssh_agents, two) == {}

    stack.destroy()
    assert on_agent(ssh_agents, one) == {} and on_agent(ssh_agents, two) == {}
    for text in (stack.plain_export(), stack.raw_state()):
        assert "PRIVATE KEY" not in text


def test_adding_an_agent_and_moving_the_directory(ssh_agents, stack_factory):
    one, two = ssh_agents.agents
    files = {"haproxy.conf": HAPROXY_CONF}
    stack = stack_factory(program(ssh_agents, [one], files, mode="0644"))
    stack.up()
    assert on_agent(ssh_agents, one) == files and on_agent(ssh_agents, two) == {}

    stack.set_program(program(ssh_agents, [one, two], files, mode="0644"))
    assert stack.up().summary.resource_changes == {"update": 1, "same": 1}
    assert on_agent(ssh_agents, two) == files

    stack.set_program(program(ssh_agents, [one, two], files, directory="/etc/haproxy", mode=0o640))
    stack.up()
    for agent in (one, two):
        assert on_agent(ssh_agents, agent) == {}
        assert on_agent(ssh_agents, agent, "etc/haproxy") == files
        assert (ssh_agents.root(agent) / "etc/haproxy/haproxy.conf").stat().st_mode & 0o777 == 0o640
    stack.preview(expect_no_changes=True)

    # a file deleted on the agent (and even its directory) counts as drift too; destroy copes
    (ssh_agents.root(one) / "etc/haproxy/haproxy.conf").unlink()
    (ssh_agents.root(one) / "etc/haproxy").rmdir()
    stack.refresh()
    stack.up()
    assert on_agent(ssh_agents, one, "etc/haproxy") == files
    (ssh_agents.root(two) / "etc/haproxy/haproxy.conf").unlink()
    stack.destroy()
    assert on_agent(ssh_agents, one, "etc/haproxy") == {}


def test_bad_inputs_fail_check_naming_the_field(ssh_agents, stack_factory):
    bad = stack_factory(program(ssh_agents, [], {"conf/haproxy.conf": "x"}, directory="opt/haproxy", mode=0o4755,
                                last="haproxy.cfg"))
    with pytest.raises(auto.errors.CommandError) as err:
        bad.preview()
    text = str(err.value)
    for field in ("agents", "directory", "files['conf/haproxy.conf']", "mode", "'haproxy.cfg' is not one of the files"):
        assert field in text, field
    assert "Traceback" not in text


def test_a_changed_host_key_fails_up_naming_the_agent(ssh_agents, stack_factory):
    one, two = ssh_agents.agents
    wrong = ssh_agents.sshd.known_hosts().replace(ssh_agents.sshd.host_key(one), ssh_agents.sshd.host_key(two), 1)
    stack = stack_factory(program(ssh_agents, [one, two], {"haproxy.conf": HAPROXY_CONF}, known_hosts=wrong))
    with pytest.raises(auto.errors.CommandError) as err:
        stack.up()
    assert f"the host key of {one.address} does not match known_hosts" in str(err.value)
    assert "1 of 2 agents succeeded" in str(err.value)
    assert on_agent(ssh_agents, one) == {}
