"""The Marathon-LB emulation against what real marathon-lb v1.15.0 runs: its global and defaults
(read back from the task's sandbox), Prometheus metrics on the stats port, server state saved
across reloads, and backend TLS restricted to marathon-lb's cipher list."""

from __future__ import annotations

import ssl
import subprocess
import threading
import time

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from kexpose_sim.dataplane.pki import issue, new_ca
from tests.seeds import DUMMY_APP, MARATHON_LB_APP
from tests.sim.test_dataplane import curl, public_agent, wait_listening, wait_running
from tests.support.waits import EVENTUALLY


def lb_file(sim, name: str) -> requests.Response:
    """A file from the marathon-lb task's sandbox, through the agent files API."""
    task = requests.get(f"{sim.marathon}/v2/apps/marathon-lb", timeout=5).json()["app"]["tasks"][0]
    sandbox = next(t for t in requests.get(f"{sim.url}/mesos/tasks", timeout=5).json()["tasks"] if t["id"] == task["id"])["sandbox"]
    return requests.get(f"{sim.url}/agent/{task['slaveId']}/files/download", params={"path": f"{sandbox}/{name}"}, timeout=5)


def section(config: str, header: str) -> list[str]:
    lines = config.splitlines()
    start = lines.index(header) + 1
    end = next((i for i in range(start, len(lines)) if lines[i] and not lines[i].startswith(" ")), len(lines))
    return [" ".join(line.split()) for line in lines[start:end] if line.strip()]


@pytest.fixture
def lb(sim):
    requests.post(f"{sim.marathon}/v2/apps", json={**MARATHON_LB_APP, "env": {}}, timeout=5).raise_for_status()
    wait_running(sim, "/marathon-lb")
    return public_agent(sim)


def deploy(sim, agent: dict, labels: dict[str, str]) -> None:
    app = dict(DUMMY_APP, labels={**DUMMY_APP["labels"], **labels})
    requests.post(f"{sim.marathon}/v2/apps", json=app, timeout=5).raise_for_status()
    wait_running(sim, "/kubectl-proxy")
    wait_listening(agent)


def test_global_and_defaults_are_marathon_lb_1_15s(sim, lb):
    config = lb_file(sim, "haproxy.cfg").text
    ciphers = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
               "ECDHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"
               "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
               "DHE-RSA-AES128-SHA256:DHE-RSA-AES256-SHA256:AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256:"
               "AES256-SHA256:!aNULL:!MD5:!DSS")
    glob = section(config, "global")
    for line in ("spread-checks 5", "max-spread-checks 15000", "tune.ssl.default-dh-param 2048",
                 f"ssl-default-bind-ciphers {ciphers}", "ssl-default-bind-options no-sslv3 no-tlsv10 no-tls-tickets",
                 f"ssl-default-server-ciphers {ciphers}", "ssl-default-server-options no-sslv3 no-tlsv10 no-tls-tickets",
                 "stats socket /var/run/haproxy/socket expose-fd listeners", "server-state-file global",
                 "server-state-base /var/state/haproxy/"):
        assert line in glob, line
    defaults = section(config, "defaults")
    assert defaults[0] == "load-server-state-from-file global"
    assert {"timeout connect 3s", "timeout client 30s", "timeout server 30s", "timeout tunnel 3600s"} <= set(defaults)
    assert defaults[-3:] == ["option dontlognull", "option http-server-close", "option redispatch"]
    assert "http-request use-service prometheus-exporter if { path /metrics }" in section(config, "listen stats")


def test_stats_port_serves_prometheus_metrics_and_health(sim, lb):
    deploy(sim, lb, {})
    wait_listening(lb, 9090)
    metrics = curl(f"http://{lb['address']}:9090/metrics").stdout
    assert "# TYPE haproxy_process_nbthread gauge" in metrics
    assert 'haproxy_backend_status{proxy="kubectl-proxy_6443"' in metrics
    assert curl("-o", "/dev/null", "-w", "%{http_code}", f"http://{lb['address']}:9090/_haproxy_health_check").stdout == "200"


def test_server_state_is_saved_before_a_reload(sim, lb):
    assert lb_file(sim, "state/global").status_code == 404  # nothing reloaded yet
    deploy(sim, lb, {})  # the app joining is a reload
    deadline = time.monotonic() + EVENTUALLY
    while (state := lb_file(sim, "state/global")).status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert state.text.startswith("1\n# be_id be_name srv_id srv_name srv_addr")


@pytest.fixture
def tls_backend(sim):
    """A TLS 1.2 HTTPS server on the private agent's address offering one cipher at a time."""
    agent = next(a for a in requests.get(f"{sim.url}/_sim/cluster", timeout=5).json()["agents"] if not a["public"])
    ca = new_ca("backend CA")
    pair = issue(ca, "backend", [agent["address"]])
    servers = []

    def start(cipher: str) -> int:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(cipher)
        key = sim.sim.state.config.state_dir / f"backend-{len(servers)}.pem"
        key.write_text(pair.cert_pem + pair.key_pem)
        context.load_cert_chain(key)
        server = make_server(agent["address"], 0, lambda env, sr: Response("backend ok\n")(env, sr), ssl_context=context)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_port

    yield agent, start
    for server in servers:
        server.shutdown()


@pytest.mark.parametrize(("cipher", "reached"), [("ECDHE-ECDSA-AES128-GCM-SHA256", True), ("ECDHE-ECDSA-AES128-SHA", False)])
def test_backend_tls_uses_marathon_lb_s_server_ciphers(sim, lb, tls_backend, cipher, reached):
    """HAProxy's own default would accept the SHA-1 CBC suite; marathon-lb's list does not."""
    agent, start = tls_backend
    port = start(cipher)
    deploy(sim, lb, {"HAPROXY_0_BACKEND_SERVER_OPTIONS": f"  server backend {agent['address']}:{port} ssl verify none\n"})
    answer = curl("-k", f"https://{lb['address']}:6443/")
    assert (answer.stdout == "backend ok\n") is reached, answer.stdout + answer.stderr
    if not reached:
        assert "503 Service Unavailable" in answer.stdout
    probe = subprocess.run(["curl", "-sS", "-k", "--tls-max", "1.2", "--ciphers", cipher, f"https://{agent['address']}:{port}/"],
                           capture_output=True, text=True, timeout=10)
    assert probe.stdout == "backend ok\n", probe.stderr  # the backend itself works with that cipher
