"""kexpose's policy rules (policy/kexpose_policy) on the inputs kexpose's own builders produce."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from kexpose_components.config import EdgeLbSettings, MarathonLbSettings, TimeoutSettings
from kexpose_components.exposures.edge_lb import edgelb_pool
from kexpose_components.exposures.marathon_lb import marathon_lb_app
from kexpose_components.haproxy.model import HaproxyModel, Route
from kexpose_components.timeouts import Timeouts
from policy.kexpose_policy import haproxy_text as hx
from policy.kexpose_policy import rules
from policy.kexpose_policy.rules import UNKNOWN, Resource

APP = "pulumi-python:dynamic/marathon:App"
POOL = "pulumi-python:dynamic/edgelb:Pool"
CONFIG = "pulumi-python:dynamic/haproxy:Config"
CERT = "pulumi-python:dynamic/tls:ProvidedCertificate"
NOW = dt.datetime(2026, 12, 2, tzinfo=dt.timezone.utc)
CONNECTION = {"url": "https://dcos.example.com", "uid": "kexpose", "password": "s3cr3t-pw"}


def settings(kind: type, **kw):
    return kind(name="x", clusters=("kubernetes",), port=6443, agents=("10.0.0.7",), **kw)


def mlb(**kw) -> Resource:
    return Resource(APP, "mlb-app", {"connection": CONNECTION, "app": marathon_lb_app(settings(MarathonLbSettings, **kw), "kubernetes")})


def pool(**kw) -> Resource:
    return Resource(POOL, "elb-pool", {"connection": CONNECTION,
                                       "pool": edgelb_pool(settings(EdgeLbSettings, stats_port=9091, **kw), "kubernetes")})


def haproxy(ca_file: str | None = "k-ca.pem", extra: str = "", tunnel: str = "86400s") -> Resource:
    model = HaproxyModel(name="q", config_dir="/haproxy", certificates=("q.pem",), default_backend="b",
                         routes=(Route(backend="b", vip="apiserver.kubernetes.l4lb.thisdcos.directory:6443", ca_file=ca_file),),
                         timeouts=Timeouts(tunnel=tunnel))
    return Resource(CONFIG, "q-config", {"model": dataclasses.asdict(model), "files": {}, "extra": extra})


def provided(key, days: int) -> Resource:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "k.example.com")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=days))
            .sign(key, None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()))
    return Resource(CERT, "corp-cert", {"cert_pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
                                        "key_pem": "(secret)"})


@pytest.fixture(scope="module")
def rsa2048():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# -- haproxy_text ------------------------------------------------------------------------------
@pytest.mark.parametrize("text, seconds", [("30s", 30), ("1h", 3600), ("5000", 5), ("2d", 172800), ("250ms", 0.25),
                                           ("15m", 900), ("soon", None), ("", None)])
def test_durations(text, seconds):
    assert hx.duration_seconds(text) == seconds


def test_sections_and_stats():
    text = "global\n  maxconn 10\nlisten stats # dashboard\n  bind 0.0.0.0:9000\n  stats enable\n  stats uri /\n"
    [_, stats] = hx.sections(text)
    assert (stats.kind, stats.name, stats.serves_stats, stats.has_auth) == ("listen", "stats", True, False)
    assert stats.bind_addresses() == ["0.0.0.0"]


@pytest.mark.parametrize("address, loopback", [("127.0.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
                                               ("0.0.0.0", False), ("", False), ("*", False), ("10.0.0.7", False)])
def test_loopback(address, loopback):
    assert hx.is_loopback(address) is loopback


# -- backend TLS, DC/OS https --------------------------------------------------------------------
def test_defaults_verify_every_backend():
    for res in (mlb(), pool(), haproxy()):
        assert rules.backend_tls(res, "prod", ["local"]) == []


def test_marathon_lb_verify_none_is_reported_naming_the_setting():
    [message] = rules.backend_tls(mlb(verify_backend=False), "prod", ["local"])
    assert "mlb-app" in message and "verifyBackend: false" in message and "HAPROXY_0_BACKEND_SERVER_OPTIONS" in message


def test_route_without_ca_file_key_is_insecure():
    """The SDK drops None values from inputs: a route with no CA arrives without ca_file at all."""
    res = haproxy(ca_file=None)
    del res.props["model"]["routes"][0]["ca_file"]
    assert "insecureBackend: true" in rules.backend_tls(res, "prod", ["local"])[0]


def test_insecure_standalone_backend_and_extra_verify_none():
    messages = rules.backend_tls(haproxy(ca_file=None, extra="backend x\n  server s 1.2.3.4:443 ssl verify none\n"),
                                 "prod", ["local"])
    assert len(messages) == 2 and "insecureBackend: true" in messages[0] and "extra" in messages[1]


def test_dcos_verify_false_reported_without_the_secret():
    res = Resource(APP, "app", {"connection": {**CONNECTION, "verify": False}, "app": {"id": "/a"}})
    [message] = rules.backend_tls(res, "prod", ["local"])
    assert "verify: false" in message and "caBundleFile" in message
    assert CONNECTION["password"] not in message


def test_exempt_stack_and_foreign_resources_are_left_alone():
    assert rules.backend_tls(mlb(verify_backend=False), "local", ["local"]) == []
    foreign = Resource("random:index/randomId:RandomId", "id", {"connection": {"verify": False}})
    assert rules.backend_tls(foreign, "prod", []) == []


def test_dcos_over_plain_http():
    res = Resource(APP, "app", {"connection": {**CONNECTION, "url": "http://10.0.0.1"}})
    [message] = rules.dcos_https(res, "prod", ["local"])
    assert "http://" in message and "https://" in message and "10.0.0.1" not in message
    assert rules.dcos_https(res, "local", ["local"]) == []
    assert rules.dcos_https(mlb(), "prod", ["local"]) == []


# -- stats --------------------------------------------------------------------------------------
def test_edgelb_stats_on_loopback_is_fine_and_public_is_not():
    assert rules.public_stats(pool()) == []
    [message] = rules.public_stats(pool(stats_bind_address="0.0.0.0"))
    assert "0.0.0.0:9091 " in message and "statsBindAddress: 127.0.0.1" in message


def test_edgelb_stats_without_bind_address_binds_everywhere():
    res = Resource(POOL, "p", {"pool": {"haproxy": {"stats": {"bindPort": 9090}}}})
    assert "Edge-LB's default" in rules.public_stats(res)[0]
    unknown = Resource(POOL, "p", {"pool": {"haproxy": {"stats": {"bindPort": 9090, "bindAddress": UNKNOWN}}}})
    assert rules.public_stats(unknown) == []


def test_haproxy_stats_in_extra_need_auth_or_loopback():
    open_stats = "listen stats\n  bind :8404\n  stats enable\n"
    assert "without `stats auth`" in rules.public_stats(haproxy(extra=open_stats))[0]
    assert rules.public_stats(haproxy(extra=open_stats + "  stats auth admin:pw\n")) == []
    assert rules.public_stats(haproxy(extra="listen stats\n  bind 127.0.0.1:8404\n  stats enable\n")) == []


# -- certificates -------------------------------------------------------------------------------
@pytest.mark.parametrize("days, violations", [(29, 1), (30, 0), (365, 0), (7.0, 1), (True, 0)])
def test_issued_validity(days, violations):
    res = Resource("pulumi-python:dynamic/tls:SelfSignedWildcard", "c", {"validity_days": days, "key_size": 2048})
    assert len(rules.certificate_lifetime(res, 30)) == violations


def test_provided_certificate_lifetime(rsa2048):
    [message] = rules.certificate_lifetime(provided(rsa2048, 10), 30, now=NOW)
    assert "corp-cert" in message and "2026-12-12" in message and "renew" in message
    assert rules.certificate_lifetime(provided(rsa2048, 90), 30, now=NOW) == []


def test_key_strength(rsa2048):
    assert rules.key_strength(provided(rsa2048, 90), 2048) == []
    assert "1024-bit RSA" in rules.key_strength(provided(rsa.generate_private_key(65537, 1024), 90), 2048)[0]
    assert rules.key_strength(provided(ec.generate_private_key(ec.SECP256R1()), 90), 2048) == []
    assert "secp224r1" in rules.key_strength(provided(ec.generate_private_key(ec.SECP224R1()), 90), 2048)[0]
    assert "Ed25519" in rules.key_strength(provided(ed25519.Ed25519PrivateKey.generate(), 90), 2048)[0]
    issued = Resource("pulumi-python:dynamic/tls:CertificateAuthority", "ca", {"key_size": 2048})
    assert rules.key_strength(issued, 2048) == [] and len(rules.key_strength(issued, 3072)) == 1


# -- tunnel timeout -----------------------------------------------------------------------------
def test_tunnel_timeouts_from_kexpose_defaults_pass():
    for res in (mlb(), pool(), haproxy()):
        assert rules.tunnel_timeout(res, 3600) == []


@pytest.mark.parametrize("make", [mlb, pool])
def test_short_tunnel_timeouts(make):
    [message] = rules.tunnel_timeout(make(timeouts=TimeoutSettings(tunnel="30m")), 3600)
    assert "30m" in message and "timeouts.tunnel" in message


def test_standalone_short_tunnel_and_threshold_is_configurable():
    assert "timeout tunnel 10m" in rules.tunnel_timeout(haproxy(tunnel="10m"), 3600)[0]
    assert rules.tunnel_timeout(haproxy(tunnel="10m"), 600) == []


def test_marathon_lb_without_tunnel_timeout():
    res = Resource(APP, "a", {"app": {"labels": {"HAPROXY_0_BACKEND_SERVER_OPTIONS": "  server s x:1 ssl verify none\n"}}})
    assert "no `timeout tunnel`" in rules.tunnel_timeout(res, 3600)[0]


def test_apps_without_marathon_lb_labels_are_not_judged():
    res = Resource(APP, "haproxy-app", {"app": {"id": "/kexpose/quick", "labels": {"kexpose/config": "abc"}}})
    assert rules.tunnel_timeout(res, 3600) == [] and rules.backend_tls(res, "prod", []) == []
