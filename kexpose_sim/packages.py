"""The DC/OS packages a simulated cluster can come with, as the Marathon apps Cosmos installs.

Control-plane data: the state installs these apps into Marathon; the data plane recognises
them by their image (``dataplane.marathonlb.is_marathon_lb``) and runs what they describe.
"""

from __future__ import annotations

from typing import Any

#: What the marathon-lb package installs (the parts the emulation reads): group ``external`` on
#: the public agent, holding ports 80, 443, 9090 and 9091.
MARATHON_LB_APP: dict[str, Any] = {
    "id": "/marathon-lb",
    "args": ["sse", "-m", "http://marathon.mesos:8080", "--health-check", "--haproxy-map", "--group", "external"],
    "acceptedResourceRoles": ["slave_public"], "cpus": 2, "mem": 1024, "instances": 1,
    "container": {"type": "DOCKER", "docker": {"image": "mesosphere/marathon-lb:v1.15.0"}},
    "portDefinitions": [{"port": 80}, {"port": 443}, {"port": 9090}, {"port": 9091}], "requirePorts": True,
    "labels": {"DCOS_PACKAGE_NAME": "marathon-lb"},
}
