"""Edge-LB v2 API of the simulator, over real HTTP: routes, read-back defaults, Go-style decoding,
validation messages, the pool lifecycle (Marathon app, readiness, reload/relaunch, placement),
haproxy.cfg rendering, injected 500s and persistence across a killed simulator."""

from __future__ import annotations

import copy
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

import pytest
import requests

from kexpose_sim.config import SimConfig, Timing
from kexpose_sim.server import Simulator

NAME_RE = "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"


def seed_pool(name: str = "kubectl-proxy") -> dict[str, Any]:
    """Example 2 of the seed document (Kubernetes API through Edge-LB)."""
    return {
        "apiVersion": "V2",
        "name": name,
        "count": 1,
        "autoCertificate": True,
        "haproxy": {
            "frontends": [{
                "bindPort": 6443,
                "protocol": "HTTPS",
                "certificates": ["$AUTOCERT"],
                "linkBackend": {"defaultBackend": "kubernetes-apiserver"},
            }],
            "backends": [{
                "name": "kubernetes-apiserver",
                "protocol": "HTTPS",
                "services": [{
                    "mesos": {"frameworkName": "kubernetes", "taskNamePattern": "kube-apiserver"},
                    "endpoint": {"portName": "apiserver"},
                }],
            }],
            "stats": {"bindPort": 6090},
        },
    }


#: what Edge-LB 1.5 returns for the seed pool: every default filled, the keys the user sent kept
SEED_READ_BACK: dict[str, Any] = {
    "apiVersion": "V2",
    "autoCertificate": True,
    "constraints": "hostname:UNIQUE",
    "count": 1,
    "cpus": 0.9,
    "cpusAdminOverhead": 0.1,
    "disk": 256,
    "haproxy": {
        "backends": [{
            "balance": "roundrobin",
            "miscStrs": [],
            "name": "kubernetes-apiserver",
            "protocol": "HTTPS",
            "rewriteHttp": {
                "request": {"forwardfor": True, "rewritePath": True, "setHostHeader": True,
                            "xForwardedPort": True, "xForwardedProtoHttpsIfTls": True},
                "response": {"rewriteLocation": True},
            },
            "services": [{
                "endpoint": {"check": {"enabled": True}, "port": -1, "portName": "apiserver", "type": "AUTO_IP"},
                "marathon": {},
                "mesos": {"frameworkName": "kubernetes", "taskNamePattern": "kube-apiserver"},
            }],
        }],
        "frontends": [{
            "bindAddress": "0.0.0.0",
            "bindPort": 6443,
            "certificates": ["$AUTOCERT"],
            "linkBackend": {"defaultBackend": "kubernetes-apiserver", "map": []},
            "miscStrs": [],
            "name": "frontend_0.0.0.0_6443",
            "protocol": "HTTPS",
        }],
        "stats": {"bindAddress": "0.0.0.0", "bindPort": 6090},
    },
    "mem": 992,
    "memAdminOverhead": 32,
    "name": "kubectl-proxy",
    "namespace": "dcos-edgelb/pools",
    "packageName": "edgelb-pool",
    "packageVersion": "1.5.1",
    "poolHealthcheckGracePeriod": 180,
    "poolHealthcheckInterval": 12,
    "poolHealthcheckMaxFail": 5,
    "poolHealthcheckTimeout": 60,
    "ports": [],
    "role": "slave_public",
    "secrets": [],
    "type": "static",
    "virtualNetworks": [],
}


@pytest.fixture(scope="module")
def refusing(tmp_path_factory) -> str:
    """Edge-LB's base URL on one simulator shared by the tests that change nothing (their writes
    are all refused): a simulator per test would double the file's run time."""
    sim = Simulator(SimConfig(state_dir=tmp_path_factory.mktemp("edgelb"), auth="none")).start()
    yield f"{sim.base_url}/service/{sim.state.config.edgelb_service}"
    sim.stop()


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout}s")


def create(base: str, pool: dict[str, Any]) -> requests.Response:
    r = requests.post(f"{base}/v2/pools", json=pool, timeout=5)
    assert r.status_code == 200, r.text
    return r


def internal(url: str, name: str) -> dict[str, Any]:
    """The pool's model record (status, instances, …) from the simulator's state dump."""
    return requests.get(f"{url}/_sim/state", timeout=5).json()["edgelb"]["pools"][name]


def lbconfig(base: str, name: str) -> str | None:
    r = requests.get(f"{base}/v2/pools/{name}/lbconfig", timeout=5)
    return r.text if r.status_code == 200 else None


def error(r: requests.Response) -> tuple[int, dict]:
    assert r.headers["Content-Type"].startswith("application/json")
    return r.status_code, r.json()


# -- routes ----------------------------------------------------------------------------------------


def test_ping_and_version_are_text(refusing):
    ping = requests.get(f"{refusing}/ping", timeout=5)
    assert (ping.status_code, ping.text, ping.headers["Content-Type"]) == (200, "pong", "text/plain")
    version = requests.get(f"{refusing}/version", timeout=5)
    assert (version.status_code, version.text) == (200, "1.5.1")


def test_unknown_route_and_wrong_method(refusing):
    r = requests.get(f"{refusing}/v3/pools", timeout=5)
    assert error(r) == (404, {"code": 404, "message": "path /v3/pools was not found"})
    r = requests.post(f"{refusing}/ping", timeout=5)
    assert error(r) == (405, {"code": 405, "message": "method POST is not allowed, but [GET] are"})
    assert r.headers["Allow"] == "GET"


def test_no_pools_is_an_empty_array(refusing):
    assert requests.get(f"{refusing}/v2/pools", timeout=5).json() == []


# -- create / read / update / delete ---------------------------------------------------------------


def test_create_echoes_the_pool_with_defaults_and_get_returns_the_same(sim):
    assert create(sim.edgelb, seed_pool()).json() == SEED_READ_BACK
    assert requests.get(f"{sim.edgelb}/v2/pools/kubectl-proxy", timeout=5).json() == SEED_READ_BACK
    assert requests.get(f"{sim.edgelb}/v2/pools", timeout=5).json() == [SEED_READ_BACK]


def test_create_twice_is_a_conflict(sim):
    create(sim.edgelb, seed_pool())
    r = requests.post(f"{sim.edgelb}/v2/pools", json=seed_pool(), timeout=5)
    assert error(r) == (409, {"code": 409, "message": "pool kubectl-proxy already exists"})


def test_missing_pool_is_404_everywhere(sim):
    for method in ("GET", "DELETE"):
        r = requests.request(method, f"{sim.edgelb}/v2/pools/nope", timeout=5)
        assert error(r) == (404, {"code": 404, "message": "pool nope not found"})
    assert error(requests.get(f"{sim.edgelb}/v2/pools/nope/metadata", timeout=5))[0] == 404
    r = requests.get(f"{sim.edgelb}/v2/pools/nope/lbconfig", timeout=5)
    assert (r.status_code, r.text) == (404, "artifact haproxy.cfg not found")


def test_put_finds_the_pool_by_the_body_name_and_reports_the_path_name(sim):
    r = requests.put(f"{sim.edgelb}/v2/pools/by-path", json=seed_pool("by-body"), timeout=5)
    assert error(r) == (404, {"code": 404, "message": "pool by-path not found"})
    create(sim.edgelb, seed_pool())
    changed = seed_pool()
    changed["count"] = 2
    r = requests.put(f"{sim.edgelb}/v2/pools/by-path", json=changed, timeout=5)  # updates kubectl-proxy
    assert r.status_code == 200 and r.json()["count"] == 2
    assert requests.get(f"{sim.edgelb}/v2/pools/kubectl-proxy", timeout=5).json()["count"] == 2


def test_namespace_cannot_change(sim):
    create(sim.edgelb, seed_pool())
    moved = {**seed_pool(), "namespace": "elsewhere"}
    r = requests.put(f"{sim.edgelb}/v2/pools/kubectl-proxy", json=moved, timeout=5)
    assert error(r) == (400, {"code": 400, "message": (
        "changing namespace currently not supported: please uninstall pool kubectl-proxy with namespace "
        "dcos-edgelb/pools, wait for the pool to completely uninstall, and then re-install pool kubectl-proxy "
        "with the new namespace elsewhere")})


def test_delete_is_204_and_the_pool_is_gone_at_once(sim):
    create(sim.edgelb, seed_pool())
    r = requests.delete(f"{sim.edgelb}/v2/pools/kubectl-proxy", timeout=5)
    assert (r.status_code, r.content) == (204, b"")
    assert requests.get(f"{sim.edgelb}/v2/pools/kubectl-proxy", timeout=5).status_code == 404
    assert requests.get(f"{sim.edgelb}/v2/pools", timeout=5).json() == []


# -- read-back: defaults, omitempty, Go decoding ---------------------------------------------------


def test_read_back_keeps_sent_keys_drops_unknown_ones_and_matches_keys_case_insensitively(sim):
    pool = {**seed_pool(), "Count": 3, "surprise": True, "principal": "edgelb-principal", "secretName": "",
            "environmentVariables": {"ELB_FILE_X": "y"}, "packageVersion": "1.4.0"}
    echo = create(sim.edgelb, pool).json()
    assert echo["count"] == 3 and "Count" not in echo and "surprise" not in echo
    assert (echo["principal"], echo["secretName"]) == ("edgelb-principal", "")  # pointers keep ""
    assert echo["environmentVariables"] == {"ELB_FILE_X": "y"}
    assert echo["packageVersion"] == "1.4.0"


def test_zero_values_vanish_on_output_and_come_back_as_defaults(sim):
    pool = {**seed_pool(), "autoCertificate": False, "cpus": 0, "environmentVariables": {}}
    echo = create(sim.edgelb, pool).json()
    assert not {"autoCertificate", "cpus", "environmentVariables"} & set(echo)
    stored = requests.get(f"{sim.edgelb}/v2/pools/kubectl-proxy", timeout=5).json()
    assert stored["cpus"] == 0.9 and "autoCertificate" not in stored


def test_older_edgelb_versions_lack_the_newer_fields(sim_factory):
    sim = sim_factory(auth="none", edgelb_version="1.2.0")
    echo = create(sim.edgelb, seed_pool()).json()
    assert "type" not in echo and "poolHealthcheckInterval" not in echo
    assert echo["packageVersion"] == "1.2.0"


@pytest.mark.parametrize("body, reason", [
    ('{"name": ', "unexpected EOF"),
    ('{"name" "x"}', "invalid character '\"' after object key"),
    ('{"count": 1 "x": 2}', "invalid character '\"' after object key:value pair"),
    ("xyz", "invalid character 'x' looking for beginning of value"),
    ('{"count": NaN}', "invalid character 'N' looking for beginning of value"),
    ("[]", "json: cannot unmarshal array into Go value of type models.V2PoolAlias"),
    ('{"name": "p", "count": "1"}', "json: cannot unmarshal string into Go struct field V2PoolAlias.count of type int32"),
    ('{"count": 1.5}', "json: cannot unmarshal number 1.5 into Go struct field V2PoolAlias.count of type int32"),
    ('{"haproxy": []}', "json: cannot unmarshal array into Go value of type models.V2HaproxyAlias"),
    ('{"haproxy": {"frontends": [{"bindPort": "80"}]}}',
     "json: cannot unmarshal string into Go struct field V2FrontendAlias.bindPort of type int32"),
    ('{"ports": ["80"]}', "json: cannot unmarshal string into Go struct field V2PoolAlias.ports of type int32"),
    ('{"environmentVariables": {"A": 1}}',
     "json: cannot unmarshal number into Go struct field V2PoolAlias.environmentVariables of type string"),
])
def test_bodies_go_cannot_decode_are_400_with_gos_reason(refusing, body, reason):
    r = requests.post(f"{refusing}/v2/pools", data=body, headers={"Content-Type": "application/json"}, timeout=5)
    assert error(r) == (400, {"code": 400, "message": f'parsing pool body from "" failed, because {reason}'})


def test_empty_body_is_required(refusing):
    for method, path in (("POST", "/v2/pools"), ("PUT", "/v2/pools/x")):
        r = requests.request(method, f"{refusing}{path}", data="  ", timeout=5)
        assert error(r) == (422, {"code": 602, "message": "pool in body is required"})


def test_data_after_the_json_value_is_ignored_like_gos_decoder(sim):
    body = '{"name": "x", "haproxy": {"stats": {"bindPort": 1025}}} trailing'
    r = requests.post(f"{sim.edgelb}/v2/pools", data=body, headers={"Content-Type": "application/json"}, timeout=5)
    assert r.status_code == 200 and r.json()["name"] == "x"


@pytest.mark.parametrize("mutate, message", [
    (lambda p: p["haproxy"]["frontends"][0].update(protocol="UDP"), "protocol in body should be one of [HTTP HTTPS TCP TLS]"),
    (lambda p: p["haproxy"]["backends"][0]["services"][0]["endpoint"].update(type="VIP"),
     "type in body should be one of [AUTO_IP AGENT_IP CONTAINER_IP ADDRESS]"),
    (lambda p: p.update(apiVersion="V3"), "apiVersion in body should be one of [V1 V2]"),
])
def test_enums_fail_swagger_validation_with_422(refusing, mutate, message):
    pool = seed_pool()
    mutate(pool)
    r = requests.post(f"{refusing}/v2/pools", json=pool, timeout=5)
    assert error(r) == (422, {"code": 603, "message": message})


# -- validation (V2CheckPool) ----------------------------------------------------------------------


def _frontend(p: dict) -> dict:
    return p["haproxy"]["frontends"][0]


def _backend(p: dict) -> dict:
    return p["haproxy"]["backends"][0]


def _service(p: dict) -> dict:
    return _backend(p)["services"][0]


def _second_frontend(p: dict, **fields: Any) -> None:
    p["haproxy"]["frontends"].append({**copy.deepcopy(_frontend(p)), **fields})


@pytest.mark.parametrize("mutate, message", [
    (lambda p: p.pop("name"), "pool.name cannot be empty or the empty string"),
    (lambda p: p.update(name="Bad_Name"), f"pool.name: Bad_Name invalid: did not match {NAME_RE}"),
    (lambda p: p.update(name="trailing-"), f"pool.name: trailing- invalid: did not match {NAME_RE}"),
    (lambda p: p.update(namespace="/abs"), "pool.namespace: /abs invalid: did not match ^[a-z0-9](.*[a-z0-9])?$"),
    (lambda p: p.update(namespace="a/B/c"), f"pool.namespace: B invalid: did not match {NAME_RE}"),
    (lambda p: _frontend(p).pop("bindPort"), "invalid bindPort: -1"),
    (lambda p: _frontend(p).update(bindPort=70000), "invalid bindPort: 70000"),
    (lambda p: p["haproxy"]["stats"].update(bindPort=6443), "duplicate bindPort: 6443"),
    (lambda p: p.update(ports=[80, 443, 80]), "duplicate bindPort: 80"),
    (lambda p: p.update(secrets=[{"secret": "s"}]), "pool.secrets.file cannot be empty or the empty string"),
    (lambda p: p.update(secrets=[{"file": "f"}]), "pool.secrets.secret cannot be empty or the empty string"),
    (lambda p: p.update(secrets=[{"secret": "s", "file": "a/b"}]),
     "pool.secrets.file: a/b invalid: did not match ^[a-zA-Z0-9][a-zA-Z0-9_-]*$"),
    (lambda p: p.update(secrets=[{"secret": "s", "file": "a"}, {"secret": "s", "file": "b"}]), "duplicate secret name: s"),
    (lambda p: p.update(secrets=[{"secret": "s", "file": "a"}, {"secret": "t", "file": "a"}]), "duplicate secret file: a"),
    (lambda p: p.update(virtualNetworks=[{"labels": {"a": "b"}}]), "pool.virtualNetworks.name cannot be empty or the empty string"),
    (lambda p: p.update(virtualNetworks=[{"name": "dcos"}, {"name": "dcos"}]), "duplicate virtualNetwork name: dcos"),
    (lambda p: _second_frontend(p, bindPort=7443, name="frontend_0.0.0.0_6443"), "duplicate frontend.name: frontend_0.0.0.0_6443"),
    (lambda p: p["haproxy"]["backends"].append(copy.deepcopy(_backend(p))), "duplicate backend.name: kubernetes-apiserver"),
    (lambda p: _frontend(p).update(bindAddress="*"), "frontend.bindAddress invalid character: '*'"),
    (lambda p: _frontend(p).pop("protocol"), "frontend.protocol cannot be empty or the empty string"),
    (lambda p: _frontend(p).update(certificates=[]), "frontend.protocol HTTPS must have non-empty frontend.certificates"),
    (lambda p: _frontend(p).update(protocol="TLS", certificates=[]), "frontend.protocol TLS must have non-empty frontend.certificates"),
    (lambda p: _frontend(p).update(certificates=["/etc/ssl/cert.pem"]),
     r"frontend.certificates: /etc/ssl/cert.pem invalid: did not match (^\$AUTOCERT$|^(\$ENVFILE|\$SECRETS)/[a-zA-Z0-9_-]+$)"),
    (lambda p: _frontend(p).update(redirectToHttps={}), "frontend.redirectToHttps cannot be set with frontend.protocol HTTPS"),
    (lambda p: _frontend(p)["linkBackend"].update(map=[{"hostEq": "a.b"}]),
     "frontend.linkBackend.map.backend cannot be empty or the empty string"),
    (lambda p: _frontend(p)["linkBackend"].update(map=[{"backend": "kubernetes-apiserver"}]),
     "frontend.linkBackend.map.backend: at least one of the condition fields must be filled out"),
    (lambda p: _backend(p).pop("protocol"), "backend.protocol cannot be empty or the empty string"),
    (lambda p: _backend(p).update(rewriteHttp={"path": {"fromPath": "/a/", "toPath": "/b"}}),
     "backend.rewriteHttp.path: fromPath '/a/' toPath '/b' ending mismatch: either both end with '/' or neither end with '/'"),
    (lambda p: _backend(p).update(services=[]), "backend.services: must have at least 1"),
    (lambda p: _service(p).pop("mesos"),
     "server.marathon or server.mesos must be specified, server.marathon.serviceID cannot be empty or the empty string, "
     "server.mesos.FrameworkName and server.mesos.FrameworkID cannot be empty or the empty string"),
    (lambda p: _service(p)["mesos"].pop("taskNamePattern"),
     "server.marathon or server.mesos must be specified, server.marathon.serviceID cannot be empty or the empty string, "
     "server.mesos.TaskName and server.mesos.TaskID cannot be empty or the empty string"),
    (lambda p: _service(p).update(endpoint={}),
     "server.endpoint.type AUTO_IP must have valid port, portName, portNamePattern, or true allPorts"),
    (lambda p: _service(p).update(endpoint={"type": "ADDRESS", "port": 6443}),
     "server.endpoint.address cannot be empty or the empty string"),
    (lambda p: _service(p).update(endpoint={"type": "ADDRESS", "address": "10.0.0.1"}),
     "server.endpoint.type ADDRESS must have valid server.port specified"),
    (lambda p: _frontend(p)["linkBackend"].update(defaultBackend="nope"),
     "frontends refer to nonexistent backends: nope"),
    (lambda p: p["haproxy"]["backends"].append({**copy.deepcopy(_backend(p)), "name": "spare"}),
     "frontends do not refer to these backends: spare"),
])
def test_invalid_pools_are_400_with_edgelbs_message(refusing, mutate, message):
    pool = seed_pool()
    mutate(pool)
    r = requests.post(f"{refusing}/v2/pools", json=pool, timeout=5)
    assert error(r) == (400, {"code": 400, "message": message})
    assert requests.get(f"{refusing}/v2/pools", timeout=5).json() == []


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key/index path inside a JSON value."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return []
    return [p for k, v in items for p in [prefix + (k,), *_paths(v, prefix + (k,))]]


def test_no_body_shape_makes_the_server_fail(sim):
    """Every field of a full pool replaced by every kind of JSON value: always a 2xx/4xx answer."""
    base = full_pool()
    for n, path in enumerate(_paths(base)):
        for junk in (None, 2**40, "x", {}, [{}]):
            pool = copy.deepcopy(base)
            target = pool
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = junk
            if path != ("name",):
                pool["name"] = f"fuzz-{n}"
            r = requests.post(f"{sim.edgelb}/v2/pools", json=pool, timeout=5)
            assert r.status_code in (200, 400, 422), (path, junk, r.status_code, r.text)
            if r.status_code == 200:
                requests.delete(f"{sim.edgelb}/v2/pools/{r.json()['name']}", timeout=5).raise_for_status()


def test_a_selector_may_be_marathon_or_an_address(sim):
    pool = seed_pool()
    _service(pool).update(mesos={}, marathon={"serviceIDPattern": "^/kubeapi-proxy$"})
    create(sim.edgelb, pool)
    address = seed_pool("by-address")
    _service(address).update(mesos={}, endpoint={"type": "ADDRESS", "address": "10.0.0.1", "port": 0})
    _frontend(address)["bindPort"] = 7443
    address["haproxy"]["stats"]["bindPort"] = 7090
    create(sim.edgelb, address)


# -- lifecycle -------------------------------------------------------------------------------------


def test_create_installs_the_pool_scheduler_app_in_marathon(sim):
    create(sim.edgelb, seed_pool())
    r = requests.get(f"{sim.marathon}/v2/apps/dcos-edgelb/pools/kubectl-proxy", timeout=5)
    assert r.status_code == 200
    app = r.json()["app"]
    assert app["instances"] == 1 and app["labels"]["DCOS_PACKAGE_NAME"] == "edgelb-pool"


def test_lbconfig_appears_when_the_pool_is_ready(sim_factory):
    sim = sim_factory(auth="none", timing=Timing(pool_ready=0.6))
    create(sim.edgelb, seed_pool())
    assert lbconfig(sim.edgelb, "kubectl-proxy") is None
    assert internal(sim.url, "kubectl-proxy")["status"] == "DEPLOYING"
    config = wait_for(lambda: lbconfig(sim.edgelb, "kubectl-proxy"))
    record = internal(sim.url, "kubectl-proxy")
    assert record["status"] == "READY" and record["rendered_generation"] == 1
    kube = requests.get(f"{sim.url}/_sim/cluster", timeout=5).json()
    apiserver = next(t for k in kube["kubernetes"] if k["name"] == "kubernetes" for t in k["tasks"]
                     if t["name"] == "kube-apiserver-0-instance")
    agent = next(a for a in kube["agents"] if a["id"] == apiserver["agent_id"])
    port = apiserver["ports"]["apiserver"]
    assert f"bind 0.0.0.0:6443 ssl crt \"{record['sandbox']}/autocert.pem\"" in config
    assert f"server agentip_{agent['address']}_{port} {agent['address']}:{port} check ssl verify none" in config
    assert "listen stats\n  bind 0.0.0.0:6090" in config
    assert "default_backend kubernetes-apiserver" in config


def test_ready_pool_is_placed_on_a_public_agent_and_reserves_its_ports(sim):
    create(sim.edgelb, seed_pool())
    record = wait_for(lambda: (r := internal(sim.url, "kubectl-proxy"))["status"] == "READY" and r)
    agents = requests.get(f"{sim.url}/_sim/cluster", timeout=5).json()["agents"]
    public = next(a for a in agents if a["public"])
    [instance] = record["instances"]
    assert (instance["agent_id"], instance["address"], instance["ports"]) == (public["id"], public["address"], [6090, 6443])
    metadata = requests.get(f"{sim.edgelb}/v2/pools/kubectl-proxy/metadata", timeout=5).json()
    endpoint = {"port": 6443, "private": [public["address"]], "public": [public["address"]]}
    assert metadata == {"aws": {"elbs": []}, "frontends": [{"endpoints": [endpoint], "name": "frontend_0.0.0.0_6443"}],
                        "name": "kubectl-proxy", "stats": [{**endpoint, "port": 6090}]}


def test_a_pool_whose_ports_are_taken_renders_but_never_becomes_ready(sim):
    create(sim.edgelb, seed_pool())
    wait_for(lambda: internal(sim.url, "kubectl-proxy")["status"] == "READY")
    second = seed_pool("second")
    second["haproxy"]["stats"]["bindPort"] = 7090  # 6443 is taken on the only public agent
    create(sim.edgelb, second)
    wait_for(lambda: lbconfig(sim.edgelb, "second"))
    time.sleep(0.2)
    record = internal(sim.url, "second")
    assert (record["status"], record["instances"]) == ("DEPLOYING", [])
    requests.delete(f"{sim.edgelb}/v2/pools/kubectl-proxy", timeout=5)  # frees 6443
    wait_for(lambda: internal(sim.url, "second")["status"] == "READY")


def test_role_star_places_the_pool_on_a_private_agent(sim):
    pool = {**seed_pool(), "role": "*"}
    _frontend(pool)["bindPort"] = 7443  # 6443 and up are the private agent's kube-apiservers
    create(sim.edgelb, pool)
    record = wait_for(lambda: (r := internal(sim.url, "kubectl-proxy"))["status"] == "READY" and r)
    agents = requests.get(f"{sim.url}/_sim/cluster", timeout=5).json()["agents"]
    assert not next(a for a in agents if a["id"] == record["instances"][0]["agent_id"])["public"]


def _app_version(sim) -> str:
    return requests.get(f"{sim.marathon}/v2/apps/dcos-edgelb/pools/kubectl-proxy", timeout=5).json()["app"]["version"]


def test_a_haproxy_change_reloads_in_place(sim_factory):
    sim = sim_factory(auth="none", timing=Timing(pool_ready=0.2, pool_reload=0.5))
    create(sim.edgelb, seed_pool())
    before = wait_for(lambda: (r := internal(sim.url, "kubectl-proxy"))["status"] == "READY" and r)
    app_version = _app_version(sim)
    changed = seed_pool()
    _backend(changed)["balance"] = "leastconn"
    assert requests.put(f"{sim.edgelb}/v2/pools/kubectl-proxy", json=changed, timeout=5).status_code == 200
    record = internal(sim.url, "kubectl-proxy")
    assert (record["status"], record["generation"]) == ("RELOADING", 2)
    assert "balance roundrobin" in lbconfig(sim.edgelb, "kubectl-proxy")  # still the old config
    after = wait_for(lambda: (r := internal(sim.url, "kubectl-proxy"))["status"] == "READY" and r)
    assert "balance leastconn" in lbconfig(sim.edgelb, "kubectl-proxy")
    assert after["instances"] == before["instances"]  # no task restart
    assert _app_version(sim) == app_version


def test_a_pool_level_change_relaunches(sim_factory):
    sim = sim_factory(auth="none", timing=Timing(pool_ready=0.4))
    create(sim.edgelb, seed_pool())
    before = wait_for(lambda: (r := internal(sim.url, "kubectl-proxy"))["status"] == "READY" and r)
    app_version = _app_version(sim)
    requests.put(f"{sim.edgelb}/v2/pools/kubectl-proxy", json={**seed_pool(), "mem": 2048}, timeout=5).raise_for_status()
    assert internal(sim.url, "kubectl-proxy")["status"] == "RELAUNCHING"
    after = wait_for(lambda: (r := internal(sim.url, "kubectl-proxy"))["status"] == "READY" and r)
    assert after["instances"][0]["task_id"] != before["instances"][0]["task_id"]
    assert _app_version(sim) != app_version  # Cosmos updated the scheduler


def test_an_unchanged_put_changes_nothing(sim):
    create(sim.edgelb, seed_pool())
    wait_for(lambda: internal(sim.url, "kubectl-proxy")["status"] == "READY")
    requests.put(f"{sim.edgelb}/v2/pools/kubectl-proxy", json=seed_pool(), timeout=5).raise_for_status()
    record = internal(sim.url, "kubectl-proxy")
    assert (record["status"], record["generation"]) == ("READY", 1)


def test_delete_removes_the_marathon_app_after_a_delay(sim_factory):
    sim = sim_factory(auth="none", timing=Timing(pool_app_removal=0.5))
    create(sim.edgelb, seed_pool())
    app_url = f"{sim.marathon}/v2/apps/dcos-edgelb/pools/kubectl-proxy"
    requests.delete(f"{sim.edgelb}/v2/pools/kubectl-proxy", timeout=5)
    assert requests.get(app_url, timeout=5).status_code == 200
    wait_for(lambda: requests.get(app_url, timeout=5).status_code == 404)


def test_recreating_before_the_app_is_removed_keeps_the_app(sim_factory):
    sim = sim_factory(auth="none", timing=Timing(pool_app_removal=0.3))
    create(sim.edgelb, seed_pool())
    requests.delete(f"{sim.edgelb}/v2/pools/kubectl-proxy", timeout=5)
    create(sim.edgelb, seed_pool())
    time.sleep(0.6)
    assert requests.get(f"{sim.marathon}/v2/apps/dcos-edgelb/pools/kubectl-proxy", timeout=5).status_code == 200


# -- haproxy.cfg -----------------------------------------------------------------------------------


def full_pool() -> dict[str, Any]:
    """A pool using most rendering features: HTTP routing, redirects, rewrites, TLS passthrough,
    TCP, an ADDRESS endpoint on a Kubernetes VIP and secrets/envfile certificates."""
    mesos = {"mesos": {"frameworkName": "dev/kubernetes01", "taskNamePattern": "^kube-apiserver"},
             "endpoint": {"portName": "apiserver"}}
    return {
        "name": "full",
        "haproxy": {
            "stats": {"bindPort": 9091},
            "frontends": [
                {"bindPort": 8080, "protocol": "HTTP", "redirectToHttps": {"except": [{"host": "plain.example"}]},
                 "miscStrs": ["capture request header Host len 32"],
                 "linkBackend": {"defaultBackend": "web", "map": [
                     {"backend": "api", "hostEq": "api.example", "pathBeg": "/v1"}]}},
                {"bindPort": 8443, "protocol": "HTTPS", "certificates": ["$SECRETS/cert", "$ENVFILE/other"],
                 "bindModifier": "alpn h2,http/1.1", "linkBackend": {"defaultBackend": "web"}},
                {"bindPort": 9443, "protocol": "TLS", "certificates": ["$AUTOCERT"],
                 "linkBackend": {"defaultBackend": "vip", "map": [{"backend": "kube", "hostEq": "kube.example"}]}},
                {"bindPort": 9000, "protocol": "TCP", "linkBackend": {"defaultBackend": "tcp"}},
            ],
            "backends": [
                {"name": "web", "protocol": "HTTP", "customCheck": {"httpchk": True, "httpchkMiscStr": "GET /health"},
                 "rewriteHttp": {"host": "web.internal", "path": {"fromPath": "/app/", "toPath": "/"}, "sticky": {}},
                 "services": [mesos]},
                {"name": "api", "protocol": "HTTPS", "services": [mesos]},
                {"name": "kube", "protocol": "TCP", "services": [mesos]},
                {"name": "vip", "protocol": "TCP", "services": [{"endpoint": {
                    "type": "ADDRESS", "address": "apiserver.kubernetes.l4lb.thisdcos.directory", "port": 6443}}]},
                {"name": "tcp", "protocol": "TCP", "services": [{**mesos, "endpoint": {"allPorts": True, "check": {"enabled": False}}}]},
            ],
        },
    }


def test_rendered_config_routes_each_protocol(sim):
    create(sim.edgelb, full_pool())
    config = wait_for(lambda: lbconfig(sim.edgelb, "full"))
    sandbox = internal(sim.url, "full")["sandbox"]
    vip = next(k for k in requests.get(f"{sim.url}/_sim/cluster", timeout=5).json()["kubernetes"]
               if k["name"] == "kubernetes")["vip_address"]
    for line in (
        "redirect scheme https code 307 unless { req.hdr(host),field(1,:) -i plain.example }",
        "use_backend api if { req.hdr(host),field(1,:) -i api.example } { path_beg /v1 }",
        "capture request header Host len 32",
        f'bind 0.0.0.0:8443 ssl crt "{sandbox}/secrets/cert" crt "{sandbox}/envfile/other" alpn h2,http/1.1',
        "tcp-request content accept if { req_ssl_hello_type 1 }",
        "use_backend kube if { req.ssl_sni -i kube.example }",
        "option httpchk GET /health",
        "http-request set-header Host web.internal",
        "http-request replace-path ^/app/(.*) /\\1",
        "cookie DCOS_SERVER_ID_FOR_THE_STICKY insert indirect nocache",
        f"server address_apiserver.kubernetes.l4lb.thisdcos.directory_6443 {vip}:6443 check",
    ):
        assert line in config
    tcp_backend = config.split("\nbackend tcp\n")[1]
    assert "check" not in tcp_backend and " server agentip_" in tcp_backend


def test_marathon_selectors_pick_the_apps_running_tasks(sim):
    app = {"id": "/web", "cmd": "sleep 1000", "instances": 2, "cpus": 0.1, "mem": 32,
           "portDefinitions": [{"port": 0, "name": "admin"}, {"port": 0, "name": "http"}]}
    requests.post(f"{sim.marathon}/v2/apps", json=app, timeout=5).raise_for_status()

    def running_tasks() -> list[dict]:
        tasks = requests.get(f"{sim.marathon}/v2/apps/web/tasks", timeout=5).json()["tasks"]
        return len(tasks) == 2 and all(t["state"] == "TASK_RUNNING" for t in tasks) and tasks

    tasks = wait_for(running_tasks)
    pool = seed_pool("web")
    _frontend(pool).update(bindPort=8080, protocol="HTTP", certificates=[])
    _backend(pool).update(protocol="HTTP", services=[{"marathon": {"serviceID": "/web"}, "endpoint": {"portName": "http"}}])
    pool["haproxy"]["frontends"][0]["linkBackend"]["defaultBackend"] = "kubernetes-apiserver"
    create(sim.edgelb, pool)
    config = wait_for(lambda: lbconfig(sim.edgelb, "web"))
    for task in tasks:
        host, port = task["host"], task["ports"][1]
        assert f"server agentip_{host}_{port} {host}:{port} check" in config
    assert all(f":{t['ports'][0]} " not in config for t in tasks)  # the admin port is not selected


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed (make setup installs it)")
def test_rendered_config_is_valid_for_haproxy(sim, tmp_path):
    create(sim.edgelb, full_pool())
    config = wait_for(lambda: lbconfig(sim.edgelb, "full"))
    sandbox = internal(sim.url, "full")["sandbox"]
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-subj", "/CN=sim", "-days", "1"],
                   check=True, capture_output=True)
    pem = cert.read_text() + key.read_text()
    for path in ("autocert.pem", "secrets/cert", "envfile/other"):  # what the pool task would provide
        file = Path(sandbox, path)
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(pem)
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(config)
    check = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "[WARNING]" not in check.stdout + check.stderr


# -- injected faults -------------------------------------------------------------------------------


def test_a_500_can_come_after_the_change_was_applied(sim):
    sim.set_faults(edgelb_500_applied=1)
    r = requests.post(f"{sim.edgelb}/v2/pools", json=seed_pool(), timeout=5)
    assert error(r) == (500, {"code": 500, "message": "create load balancer pool: context deadline exceeded"})
    assert requests.get(f"{sim.edgelb}/v2/pools/kubectl-proxy", timeout=5).json() == SEED_READ_BACK
    sim.set_faults(edgelb_500_applied=2)
    r = requests.put(f"{sim.edgelb}/v2/pools/kubectl-proxy", json={**seed_pool(), "count": 2}, timeout=5)
    assert r.status_code == 500
    assert requests.get(f"{sim.edgelb}/v2/pools/kubectl-proxy", timeout=5).json()["count"] == 2
    assert requests.delete(f"{sim.edgelb}/v2/pools/kubectl-proxy", timeout=5).status_code == 500
    assert requests.get(f"{sim.edgelb}/v2/pools/kubectl-proxy", timeout=5).status_code == 404


def test_failed_writes_do_not_consume_the_injected_500(sim):
    sim.set_faults(edgelb_500_applied=1)
    assert requests.delete(f"{sim.edgelb}/v2/pools/nope", timeout=5).status_code == 404
    assert requests.post(f"{sim.edgelb}/v2/pools", json=seed_pool(), timeout=5).status_code == 500


# -- persistence -----------------------------------------------------------------------------------


def test_pools_survive_a_killed_simulator(sim_process):
    first = sim_process("--auth", "none", "--pool-ready-seconds", "0.5")
    base = f"{first.url}/service/edgelb"
    create(base, seed_pool())
    first.kill()  # SIGKILL before the pool was ready: the pending deploy must resume
    second = sim_process("--auth", "none", "--pool-ready-seconds", "0.5")
    base = f"{second.url}/service/edgelb"
    assert requests.get(f"{base}/v2/pools/kubectl-proxy", timeout=5).json() == SEED_READ_BACK
    wait_for(lambda: lbconfig(base, "kubectl-proxy"))
    assert internal(second.url, "kubectl-proxy")["status"] == "READY"
    assert requests.get(f"{second.url}/service/marathon/v2/apps/dcos-edgelb/pools/kubectl-proxy", timeout=5).status_code == 200
