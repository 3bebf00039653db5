"""kexpose's policy rules as pure functions: a resource's inputs in, violation messages out.

Every kexpose resource is a Python dynamic resource (type ``pulumi-python:dynamic...``), so a
rule recognises what it inspects by the shape of its inputs, the same shapes the resources take
(``kexpose_components.resources``): a Marathon app (``app``), an Edge-LB pool (``pool``), the
standalone HAProxy config (``model`` and ``extra``), certificates (``validity_days``,
``key_size``, ``cert_pem``) and the secret DC/OS ``connection``. A value the preview does not
know yet is :data:`UNKNOWN`; rules never guess about it (the same rules run again during ``up``).
Messages name the setting to change and never repeat a secret's value.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from . import haproxy_text as hx

#: Stand-in for an input whose value is not known during preview.
UNKNOWN: Any = type("Unknown", (), {"__repr__": lambda self: "UNKNOWN"})()

DYNAMIC_PREFIX = "pulumi-python:dynamic"
_MLB_LABEL = re.compile(r"^HAPROXY_\d+_(BACKEND_SERVER_OPTIONS|BACKEND_HEAD|FRONTEND_HEAD)$")


@dataclass(frozen=True)
class Resource:
    """What a rule sees of one resource: its Pulumi type and name and its (plain) inputs."""

    type: str
    name: str
    props: Mapping[str, Any]

    @property
    def is_kexpose(self) -> bool:
        return self.type.startswith(DYNAMIC_PREFIX)

    def get(self, *path: str) -> Any:
        """The input at ``path`` (e.g. ``"pool", "haproxy"``), None when absent or not a mapping."""
        value: Any = self.props
        for key in path:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value


def known(value: Any) -> bool:
    return value is not UNKNOWN and value is not None


def whole(value: Any) -> int | None:
    """A whole number input as int: Pulumi sends every number as a float (7 arrives as 7.0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        return None
    return int(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _marathon_lb_labels(res: Resource) -> dict[str, str]:
    """The HAProxy config fragments of a Marathon-LB app's labels, by label name."""
    labels = _mapping(res.get("app", "labels"))
    return {k: v for k, v in labels.items() if _MLB_LABEL.match(k) and isinstance(v, str)}


def _edgelb_backends(res: Resource) -> list[Mapping[str, Any]]:
    return [b for b in _list(res.get("pool", "haproxy", "backends")) if isinstance(b, Mapping)]


def _misc_lines(item: Mapping[str, Any]) -> list[str]:
    return [s.strip() for s in _list(item.get("miscStrs")) if isinstance(s, str)]


# -- backend TLS verification ------------------------------------------------------------------
def backend_tls(res: Resource, stack: str, exempt_stacks: list[str]) -> list[str]:
    """TLS verification turned off anywhere between kexpose and DC/OS or the apiservers."""
    if not res.is_kexpose or stack in exempt_stacks:
        return []
    out = []
    if res.get("connection", "verify") is False:
        out.append(f"{res.name}: the DC/OS connection does not verify TLS (kexpose:dcos verify: false); "
                   "remove it and give kexpose:dcos caBundleFile the CA that signs Admin Router's certificate")
    for label, text in sorted(_marathon_lb_labels(res).items()):
        if hx.has_verify_none(hx.lines(text)):
            out.append(f"{res.name}: Marathon-LB backend label {label} has `verify none` (verifyBackend: false); "
                       "remove verifyBackend: false so HAProxy verifies the apiserver against the DC/OS CA bundle")
    for backend in _edgelb_backends(res):
        if hx.has_verify_none(_misc_lines(backend)):
            out.append(f"{res.name}: Edge-LB backend {backend.get('name')} has `verify none` in miscStrs; remove it")
    # A route without a CA file (the SDK drops a None ca_file from the inputs) renders `verify none`.
    for route in _list(res.get("model", "routes")):
        if isinstance(route, Mapping) and "vip" in route and known(route.get("vip")) and not route.get("ca_file"):
            out.append(f"{res.name}: HAProxy backend {route.get('backend')} does not verify the apiserver "
                       "(insecureBackend: true); remove insecureBackend so it checks the cluster CA")
    extra = res.get("extra")
    if isinstance(extra, str) and hx.has_verify_none(hx.lines(extra)):
        out.append(f"{res.name}: the extra HAProxy config has a `verify none` server line; verify against a CA instead")
    return out


def dcos_https(res: Resource, stack: str, exempt_stacks: list[str]) -> list[str]:
    """DC/OS credentials only ever travel over HTTPS."""
    if not res.is_kexpose or stack in exempt_stacks:
        return []
    url = res.get("connection", "url")
    if isinstance(url, str) and url.lower().startswith("http://"):
        return [f"{res.name}: the DC/OS connection uses plain http://, which sends the login and token in clear; "
                "set kexpose:dcos url to the cluster's https:// address"]
    return []


# -- HAProxy stats ------------------------------------------------------------------------------
def public_stats(res: Resource) -> list[str]:
    """An HAProxy stats page reachable from other hosts without authentication."""
    if not res.is_kexpose:
        return []
    out = []
    stats = res.get("pool", "haproxy", "stats")
    if isinstance(stats, Mapping):
        address = stats.get("bindAddress")
        if known(address) or "bindAddress" not in stats:
            shown = address if known(address) else "0.0.0.0 (Edge-LB's default)"
            if not hx.is_loopback(str(address or "")):
                out.append(f"{res.name}: Edge-LB pool serves HAProxy stats on {shown}:{whole(stats.get('bindPort'))} and "
                           "Edge-LB cannot put a password on it; set statsBindAddress: 127.0.0.1 (the default)")
    extra = res.get("extra")
    for section in hx.sections(extra) if isinstance(extra, str) else []:
        public = [a or "*" for a in section.bind_addresses() if not hx.is_loopback(a)]
        if section.serves_stats and public and not section.has_auth:
            out.append(f"{res.name}: HAProxy {section.kind} {section.name} serves stats on {', '.join(public)} without "
                       "`stats auth`; bind it to 127.0.0.1 or add `stats auth <user>:<password>` from a secret")
    return out


# -- certificates -------------------------------------------------------------------------------
def _provided(res: Resource) -> x509.Certificate | None:
    pem = res.get("cert_pem")
    if not (res.is_kexpose and isinstance(pem, str) and "BEGIN CERTIFICATE" in pem):
        return None
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        return None  # the resource's own check reports unreadable PEM


def certificate_lifetime(res: Resource, min_days: int, now: dt.datetime | None = None) -> list[str]:
    """Certificates must stay valid for at least ``min_days``."""
    days = whole(res.get("validity_days"))
    if res.is_kexpose and days is not None and days < min_days:
        return [f"{res.name}: certificates are issued for {days} days; set validity_days to at least {min_days}"]
    cert = _provided(res)
    if cert is None:
        return []
    now = now or dt.datetime.now(dt.timezone.utc)
    left = (cert.not_valid_after_utc - now).days
    if left < min_days:
        return [f"{res.name}: the provided certificate expires on {cert.not_valid_after_utc:%Y-%m-%d} ({left} days "
                f"left, fewer than {min_days}); renew it and update cert_pem/key_pem"]
    return []


#: NIST curves at least as strong as P-256, by cryptography's names.
STRONG_CURVES = ("secp256r1", "secp384r1", "secp521r1")


def key_strength(res: Resource, min_rsa_bits: int, curves: tuple[str, ...] = STRONG_CURVES) -> list[str]:
    """Keys must be RSA of at least ``min_rsa_bits`` or ECDSA on P-256 or stronger."""
    size = whole(res.get("key_size"))
    if res.is_kexpose and size is not None and size < min_rsa_bits:
        return [f"{res.name}: RSA keys of {size} bits are too weak; set key_size to {min_rsa_bits} or more"]
    cert = _provided(res)
    if cert is None:
        return []
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < min_rsa_bits:
            return [f"{res.name}: the provided certificate has a {key.key_size}-bit RSA key; reissue it with "
                    f"{min_rsa_bits} bits or more, or an ECDSA P-256 key"]
        return []
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in curves:
            return [f"{res.name}: the provided certificate's key is on curve {key.curve.name}; reissue it on "
                    f"P-256 or stronger ({', '.join(curves)})"]
        return []
    return [f"{res.name}: the provided certificate's key is {type(key).__name__}; use RSA ({min_rsa_bits}+ bits) "
            "or ECDSA P-256, which every Kubernetes client accepts"]


# -- timeouts -----------------------------------------------------------------------------------
def _too_short(value: Any, min_seconds: int) -> bool:
    seconds = hx.duration_seconds(value) if known(value) else None
    return seconds is not None and seconds < min_seconds


def tunnel_timeout(res: Resource, min_seconds: int) -> list[str]:
    """`timeout tunnel` long enough that ``kubectl exec`` / ``logs -f`` sessions survive."""
    if not res.is_kexpose:
        return []
    want = f"at least {min_seconds}s"
    labels = _marathon_lb_labels(res)
    if labels:
        values = [v for text in labels.values() for v in hx.directive_values(hx.lines(text), "timeout tunnel")]
        if not values:
            return [f"{res.name}: the Marathon-LB labels set no `timeout tunnel`, so long kubectl sessions are cut at "
                    f"the server timeout; set timeouts.tunnel ({want})"]
        if any(_too_short(v, min_seconds) for v in values):
            return [f"{res.name}: Marathon-LB `timeout tunnel {values[0]}` cuts kubectl exec/logs -f; "
                    f"set timeouts.tunnel to {want}"]
    out = []
    for backend in _edgelb_backends(res):
        values = hx.directive_values(_misc_lines(backend), "timeout tunnel")
        if not values or any(_too_short(v, min_seconds) for v in values):
            shown = f"`timeout tunnel {values[0]}`" if values else "no `timeout tunnel`"
            out.append(f"{res.name}: Edge-LB backend {backend.get('name')} has {shown}, which cuts kubectl exec/logs -f; "
                       f"set timeouts.tunnel to {want}")
    tunnel = _mapping(res.get("model", "timeouts")).get("tunnel")
    if _too_short(tunnel, min_seconds):
        out.append(f"{res.name}: HAProxy `timeout tunnel {tunnel}` cuts kubectl exec/logs -f; set timeouts.tunnel to {want}")
    return out
