"""check_app on port definitions and networks: Marathon takes portDefinitions only on host
networking (the simulator refuses the same, see tests/reliability/test_properties.py)."""

import pytest

from kexpose_components.dcos.marathon_checks import check_app

PORTS = {"portDefinitions": [{"port": 6443, "protocol": "tcp"}]}


@pytest.mark.parametrize("network", [
    {"networks": [{"mode": "container", "name": "dcos"}]},
    {"networks": [{"mode": "container/bridge"}]},
    {"ipAddress": {"networkName": "dcos"}},
    {"container": {"type": "DOCKER", "docker": {"image": "haproxy:2.8", "network": "USER"}}},
])
def test_port_definitions_off_host_networking_name_the_key(network):
    failures = check_app({"id": "/kubectl-proxy", "cmd": "x", **PORTS, **network})
    assert [field for field, _ in failures] == ["app.portDefinitions"]
    assert 'networks [{"mode": "host"}]' in failures[0][1]


@pytest.mark.parametrize("network", [{}, {"networks": [{"mode": "host"}]}, {"networks": []},
                                     {"container": {"type": "DOCKER", "docker": {"image": "x", "network": "HOST"}}}])
def test_port_definitions_on_host_networking_pass(network):
    assert check_app({"id": "/kubectl-proxy", "cmd": "x", **PORTS, **network}) == []
