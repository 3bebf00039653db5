"""Property-based tests (hypothesis) of the checks that run before anything is sent.

Contract: ``config.parse`` returns StackSettings or raises ConfigError whose every problem names a
``kexpose:`` key; ``check_app`` / ``check_pool`` never raise, every failure names a field under
``app`` / ``pool``, and what they accept the simulator accepts (never a 5xx, and not refused).

A crash (any exception other than ConfigError, or one from a check) is a product bug: the property
tests collect each distinct crash site with its smallest input and fail listing them; the
regression tests below pin the minimal inputs that once crashed (all fixed).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Any, Callable

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kexpose_components import config
from kexpose_components.dcos.edgelb_checks import check_pool
from kexpose_components.dcos.marathon_checks import check_app

from . import strategies as S
from .conftest import LEDGER, NOTES

EXAMPLES = 400
SETTINGS = dict(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                            HealthCheck.too_slow])


class Crashes:
    """Distinct crash sites (exception type, function, line) with the shortest input seen."""

    def __init__(self, what: str):
        self.what = what
        self.sites: dict[tuple, object] = {}

    def record(self, err: Exception, value) -> None:
        frame = traceback.extract_tb(err.__traceback__)[-1]
        site = (type(err).__name__, f"{frame.filename.split('/work/main/')[-1]}:{frame.lineno} in {frame.name}", str(err)[:80])
        if site not in self.sites or len(repr(value)) < len(repr(self.sites[site])):
            self.sites[site] = value

    def finish(self, refused: list[str] = (), refused_what: str = "") -> None:
        LEDGER[f"hypothesis: {self.what}: crash sites"] += len(self.sites)
        lines = [f"raised {t} at {where} ({msg}) e.g. {repr(v)[:300]}" for (t, where, msg), v in self.sites.items()]
        kinds: dict[str, str] = {}
        for r in refused:  # one line per distinct simulator answer
            kinds.setdefault(r.split(" for ")[0], r)
        lines += [f"{refused_what}: {r[:400]}" for r in kinds.values()]
        if lines:
            NOTES.extend(f"PRODUCT BUG ({self.what}): {line}" for line in lines)
            pytest.fail(f"{self.what}:\n" + "\n".join(lines))


@pytest.mark.reliability
def test_config_parse_returns_settings_or_config_error_naming_keys():
    crashes = Crashes("config.parse")
    counts = {"ok": 0, "config-error": 0}

    @settings(**SETTINGS)
    @given(S.RAW_CONFIG, S.SECRETS)
    def prop(raw, secrets):
        LEDGER["hypothesis: config.parse examples"] += 1
        try:
            result = config.parse(raw, secrets)
        except config.ConfigError as err:
            counts["config-error"] += 1
            problems = str(err).split("\n  - ")[1:]  # keys may hold newlines or \x1c-\x1e
            assert problems, str(err)
            for line in problems:
                assert line.startswith("kexpose:"), f"problem does not name a kexpose: key: {line!r}"
            return
        except Exception as err:  # noqa: BLE001 - the property: nothing else may escape
            crashes.record(err, raw)
            return
        counts["ok"] += 1
        assert isinstance(result, config.StackSettings)

    prop()
    NOTES.append(f"config.parse: {counts['ok']} accepted, {counts['config-error']} ConfigError")
    crashes.finish()


def _fields_named(failures, root: str) -> None:
    assert isinstance(failures, list)
    for field, message in failures:
        assert isinstance(field, str) and (field == root or field.startswith(root + ".") or field.startswith(root + "[")), field
        assert isinstance(message, str) and message


@dataclass(frozen=True)
class Api:
    """One API whose local check the properties hold against the simulator's answer."""

    root: str  # the field every failure is named under: "app" / "pool"
    check: Callable[[Any], list]
    collection: Callable[[Any], str]  # the simulator's POST url
    fresh: Callable[[dict, int], dict]  # a still-valid copy that never meets an earlier example's leftovers
    remove: Callable[[Any, dict], None]


APPS = Api(
    "app", check_app, lambda sim: f"{sim.marathon}/v2/apps",
    # a fresh top-level group per example, so no example meets the previous one's deployment
    lambda app, n: dict(app, id=f"/p{n}/" + app["id"].strip("/")),
    lambda sim, app: requests.delete(f"{sim.marathon}/v2/apps/{app['id'].strip('/')}", params={"force": "true"},
                                     timeout=10))
POOLS = Api(
    "pool", check_pool, lambda sim: f"{sim.edgelb}/v2/pools",
    lambda pool, n: dict(pool, name=f"{pool['name']}-{n}"),  # never collides with a pool going away
    lambda sim, pool: requests.delete(f"{sim.edgelb}/v2/pools/{pool['name']}", timeout=10))

#: Inputs a draw once found accepted by a check and refused by the API; every run tries them first.
APP_EXAMPLES = [
    {"id": "/prop/h6-0", "cmd": "", "args": ["x"]},  # Marathon 422 /cmd: error.minLength
    # Marathon 422 "portDefinitions are only allowed with host-networking" (seed 86718561), and its deprecated forms
    {"id": "/prop/pd-net", "cmd": "x", "networks": [{"mode": "container"}], "portDefinitions": [{"port": 6443}]},
    {"id": "/prop/pd-ip", "cmd": "x", "ipAddress": {}, "portDefinitions": [{"port": 6443}]},
    {"id": "/prop/pd-bridge", "cmd": "x", "container": {"type": "DOCKER", "docker": {"image": "x", "network": "BRIDGE"}},
     "portDefinitions": [{"port": 6443}]},
]


def _check_then_post(sim, api: Api, strategy, examples=()) -> None:
    """The check never raises, names fields under ``api.root``, and what it accepts the simulator
    accepts (never a 5xx, and not refused)."""
    crashes = Crashes(f"check_{api.root}")
    refused: list[str] = []
    serial = iter(range(10**6))
    counts = {"accepted": 0, "rejected": 0}

    def prop(value):
        LEDGER[f"hypothesis: check_{api.root} examples"] += 1
        try:
            failures = api.check(value)
        except Exception as err:  # noqa: BLE001
            crashes.record(err, value)
            return
        _fields_named(failures, api.root)
        if failures:
            counts["rejected"] += 1
            return
        counts["accepted"] += 1
        value = api.fresh(value, next(serial))
        r = requests.post(api.collection(sim), json=value, timeout=10)
        try:
            assert r.status_code < 500, f"simulator answered {r.status_code} to an accepted {api.root}: {value!r}: {r.text[:300]}"
            if r.status_code >= 300:
                refused.append(f"{r.status_code} {r.text[:200]} for {value!r}")
        finally:
            api.remove(sim, value)

    for value in examples:
        prop = example(value)(prop)
    settings(**SETTINGS)(given(strategy)(prop))()
    NOTES.append(f"check_{api.root}: {counts['accepted']} accepted (POSTed), {counts['rejected']} rejected")
    LEDGER[f"hypothesis: check_{api.root} accepted but simulator refused"] += len(refused)
    crashes.finish(refused, f"accepted {api.root}s the simulator refuses")


@pytest.mark.reliability
def test_check_app_never_raises_and_the_simulator_accepts_what_it_accepts(sim_factory):
    _check_then_post(sim_factory(auth="none", dataplane=False), APPS, S.APP, APP_EXAMPLES)


@pytest.mark.reliability
def test_check_pool_never_raises_and_the_simulator_accepts_what_it_accepts(sim_factory):
    _check_then_post(sim_factory(auth="none", dataplane=False), POOLS, S.POOL)


# --- the minimal inputs hypothesis once found crashing the checks (fixed; kept as regressions) -----
GOOD = {"dcos": {"url": "https://dcos.example.com"}, "clusters": [{"service": "kubernetes"}]}
EDGE = {"name": "elb", "method": "edge-lb", "clusters": ["kubernetes"], "port": 7443, "agents": ["10.0.0.7"]}
POOL_OK = {"name": "kubectl-proxy", "haproxy": {
    "frontends": [{"bindPort": 6443, "protocol": "TCP", "linkBackend": {"defaultBackend": "b"}}],
    "backends": [{"name": "b", "protocol": "TCP", "services": [{"mesos": {"frameworkName": "kubernetes", "taskNamePattern": "kube-apiserver"},
                                                               "endpoint": {"portName": "apiserver"}}]}]}}


def _pool(**haproxy_changes):
    import copy
    pool = copy.deepcopy(POOL_OK)
    for path, value in haproxy_changes.items():
        target = pool["haproxy"]
        keys = path.split("__")
        for k in keys[:-1]:
            target = target[int(k)] if k.isdigit() else target[k]
        target[keys[-1]] = value
    return pool


CONFIG_CRASHES = {
    "unknown timeouts key": dict(GOOD, exposures=[dict(EDGE, timeouts={"idle": "30s"})]),
    "caBundleFile not a string": dict(GOOD, dcos={"url": "https://dcos.example.com", "caBundleFile": False}, exposures=[EDGE]),
    "ssh.privateKeyFile not a string": dict(GOOD, exposures=[{
        "name": "p", "method": "haproxy", "mode": "quick", "clusters": ["kubernetes"], "port": 6443, "agents": ["10.0.0.7"],
        "ssh": {"privateKeyFile": 1}}]),
    "method a list (its default mode looked up)": dict(GOOD, exposures=[dict(EDGE, method=[])]),
}
APP_CRASHES = {
    "networks not a list": {"id": "/dev/worker", "cmd": "sleep 1", "networks": 1},
    "container.volumes not a list": {"id": "/dev/worker", "container": {"type": "MESOS", "volumes": 1}},
}
POOL_CRASHES = {
    "backends: null": _pool(backends=None),
    "frontends not a list": _pool(frontends=1),
    "linkBackend a string": _pool(**{"frontends__0__linkBackend": "b"}),
    "endpoint a string": _pool(**{"backends__0__services__0__endpoint": "apiserver"}),
    "certificates a number": _pool(**{"frontends__0__protocol": "TLS", "frontends__0__certificates": -2.7e-117}),
}


@pytest.mark.reliability
@pytest.mark.parametrize("raw", list(CONFIG_CRASHES.values()), ids=list(CONFIG_CRASHES))
def test_config_regression(raw):
    with pytest.raises(config.ConfigError) as err:
        config.parse(raw, set())
    assert "kexpose:" in str(err.value)


@pytest.mark.reliability
@pytest.mark.parametrize("app", list(APP_CRASHES.values()), ids=list(APP_CRASHES))
def test_check_app_regression(app):
    assert check_app(app)


@pytest.mark.reliability
@pytest.mark.parametrize("pool", list(POOL_CRASHES.values()), ids=list(POOL_CRASHES))
def test_check_pool_regression(pool):
    assert check_pool(pool)


ACCEPTED_BUT_REFUSED = {  # check passes, then Marathon / Edge-LB refuse it in the middle of an `up`
    "app cmd not a string (Marathon 422 /cmd)": ("app", {"id": "/dev/worker", "cmd": ["sleep", "1000"]}, "app.cmd"),
    "app cmd empty (Marathon 422 /cmd: error.minLength)": ("app", {"id": "/p3/prop/h6-0", "cmd": "", "args": ["x"]}, "app.cmd"),
    "app network name empty (Marathon 422 error.minLength)": (
        "app", {"id": "/dev/worker", "cmd": "sleep 1", "networks": [{"mode": "container", "name": ""}]}, "app.networks[0].name"),
    "app fetch uri empty (Marathon 422 error.minLength)": (
        "app", {"id": "/dev/worker", "cmd": "sleep 1", "fetch": [{"uri": ""}]}, "app.fetch[0].uri"),
    "app role empty (Marathon 422 error.minLength)": ("app", {"id": "/dev/worker", "cmd": "sleep 1", "role": ""}, "app.role"),
    "app cmd and args (Marathon 422)": ("app", {"id": "/dev/worker", "cmd": "sleep 1", "args": ["x"]}, "app"),
    "app requirePorts not a boolean (Marathon 422 /requirePorts)": (
        "app", {"id": "/dev/worker", "cmd": "sleep 1", "requirePorts": "yes", "portDefinitions": [{"port": 6443}]}, "app.requirePorts"),
    "pool linkBackend an empty list (Edge-LB 400)": (
        "pool", {"name": "kubectl-proxy", "haproxy": {"frontends": [{"bindPort": 6443, "protocol": "TCP", "linkBackend": []}],
                                                      "backends": []}}, "pool.haproxy.frontends[0].linkBackend"),
    "pool bindPort 0 twice (Edge-LB 400 duplicate bindPort: 0)": (
        "pool", {"name": "kubectl-proxy-9", "haproxy": {"backends": [], "frontends": [
            {"bindPort": 0, "protocol": "HTTP"}, {"bindPort": 0, "protocol": "HTTP"}]}}, "pool.haproxy"),
    "pool autoCertificate not a boolean (Edge-LB 400)": (
        "pool", {"name": "kubectl-proxy", "autoCertificate": "yes", "haproxy": {}}, "pool.autoCertificate"),
}


@pytest.mark.reliability
@pytest.mark.parametrize("kind,value,field", list(ACCEPTED_BUT_REFUSED.values()), ids=list(ACCEPTED_BUT_REFUSED))
def test_check_rejects_what_the_api_refuses(kind, value, field, sim_factory):
    sim = sim_factory(auth="none", dataplane=False)
    url = f"{sim.marathon}/v2/apps" if kind == "app" else f"{sim.edgelb}/v2/pools"
    assert 400 <= requests.post(url, json=value, timeout=10).status_code < 500  # the API refuses it ...
    failures = check_app(value) if kind == "app" else check_pool(value)
    assert field in [f for f, _ in failures]  # ... so the check should name the field


@pytest.mark.reliability
def test_valid_pool_baseline_is_accepted():
    assert check_pool(POOL_OK) == []
