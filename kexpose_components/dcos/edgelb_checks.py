"""Checks of an Edge-LB V2 pool before anything is sent, mirroring Edge-LB's own validation; each
problem names the field (``pool.haproxy.frontends[0].bindPort``) and shows a right value."""

from __future__ import annotations

import re
from typing import Any

from kexpose_components.resources.inputs import whole

NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
CERTIFICATE = re.compile(r"(^\$AUTOCERT$|^(\$ENVFILE|\$SECRETS)/[a-zA-Z0-9_-]+$)")
PROTOCOLS = ("HTTP", "HTTPS", "TCP", "TLS")

Failure = tuple[str, str]


def _port(v: Any) -> bool:
    return whole(v) is not None and 0 <= v <= 65535


def check_pool(pool: Any, field: str = "pool") -> list[Failure]:
    if not isinstance(pool, dict):
        return [(field, 'must be an Edge-LB V2 pool (an object), e.g. {"apiVersion": "V2", "name": "kubectl-proxy", ...}')]
    failures: list[Failure] = []
    if pool.get("apiVersion", "V2") != "V2":
        failures.append((f"{field}.apiVersion", 'must be "V2"'))
    name = pool.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        failures.append((f"{field}.name", 'must be lowercase letters, digits and "-", e.g. "kubectl-proxy"'))
    namespace = pool.get("namespace")
    if namespace is not None and (not isinstance(namespace, str) or not all(NAME.match(s) for s in namespace.split("/"))):
        failures.append((f"{field}.namespace", 'segments must be lowercase letters, digits and "-", e.g. "dcos-edgelb/pools"'))
    count = pool.get("count")
    if count is not None and (not _port(count) or count < 0):
        failures.append((f"{field}.count", "must be a whole number >= 0, e.g. 1"))
    for flag in ("autoCertificate",):
        if flag in pool and not isinstance(pool[flag], bool):
            failures.append((f"{field}.{flag}", "must be true or false"))
    ports = pool.get("ports")
    if ports is not None and (not isinstance(ports, list) or not all(_port(p) for p in ports)):
        failures.append((f"{field}.ports", "must be a list of ports from 0 to 65535, e.g. [6443, 6090]"))
        ports = None
    haproxy = pool.get("haproxy", {})
    if not isinstance(haproxy, dict):
        return failures + [(f"{field}.haproxy", "must be an object with frontends, backends and stats")]
    shape = [(f"{field}.haproxy.{k}", "must be a list") for k in ("frontends", "backends")
             if not isinstance(haproxy.get(k, []), list)]
    if "stats" in haproxy and not isinstance(haproxy["stats"], dict):
        shape.append((f"{field}.haproxy.stats", 'must be an object, e.g. {"bindPort": 6090}'))
    if shape:
        return failures + shape
    failures += _check_ports(haproxy, ports, f"{field}")
    backends = haproxy.get("backends", [])
    failures += _check_backends(backends, f"{field}.haproxy.backends")
    names = {b["name"] for b in backends if isinstance(b, dict) and isinstance(b.get("name"), str)}
    failures += _check_frontends(haproxy.get("frontends", []), names, f"{field}.haproxy.frontends")
    return failures


def _check_ports(haproxy: dict, ports: Any, field: str) -> list[Failure]:
    failures: list[Failure] = []
    stats = haproxy.get("stats", {})
    if isinstance(stats, dict) and "bindPort" in stats and not _port(stats["bindPort"]):
        failures.append((f"{field}.haproxy.stats.bindPort", "must be a port from 0 to 65535, e.g. 6090"))
    stats_port = stats.get("bindPort", 9090) if isinstance(stats, dict) else None
    bound = [] if ports else [stats_port] if _port(stats_port) else []
    for i, fe in enumerate(haproxy.get("frontends", [])):
        if isinstance(fe, dict):
            if not _port(fe.get("bindPort", -1)):
                failures.append((f"{field}.haproxy.frontends[{i}].bindPort", "is required: a port from 0 to 65535, e.g. 6443"))
            else:
                bound.append(fe["bindPort"])
    seen: set = set()
    for port in ports or bound:
        if port in seen:
            failures.append((f"{field}.haproxy", f"port {int(port)} is bound twice (Edge-LB: duplicate bindPort)"))
        seen.add(port)
    return failures


def _check_frontends(frontends: Any, backend_names: set, field: str) -> list[Failure]:
    if not isinstance(frontends, list):
        return [(field, "must be a list of frontends")]
    failures: list[Failure] = []
    referenced = set()
    for i, fe in enumerate(frontends):
        where = f"{field}[{i}]"
        if not isinstance(fe, dict):
            failures.append((where, "must be an object"))
            continue
        protocol = fe.get("protocol")
        if protocol not in PROTOCOLS:
            failures.append((f"{where}.protocol", f"must be one of {', '.join(PROTOCOLS)}, e.g. \"HTTPS\""))
        certs = fe.get("certificates")
        if certs is not None and not isinstance(certs, list):
            failures.append((f"{where}.certificates", 'must be a list, e.g. ["$AUTOCERT"] or ["$SECRETS/mycert"]'))
        elif protocol in ("HTTPS", "TLS") and (
                not certs or not all(isinstance(c, str) and CERTIFICATE.match(c) for c in certs)):
            failures.append((f"{where}.certificates", 'HTTPS/TLS need certificates like ["$AUTOCERT"] or ["$SECRETS/mycert"]'))
        link = fe.get("linkBackend", {})
        if not isinstance(link, dict) or not isinstance(link.get("map", []), list):
            failures.append((f"{where}.linkBackend", 'must be an object, e.g. {"defaultBackend": "kubernetes-apiserver"}'))
            continue
        targets = [link.get("defaultBackend")] + [m.get("backend") for m in link.get("map", []) if isinstance(m, dict)]
        targets = [t for t in targets if isinstance(t, str)]
        for t in [t for t in targets if t]:
            referenced.add(t)
            if t not in backend_names:
                failures.append((f"{where}.linkBackend", f"refers to backend {t!r}, which the pool does not define"))
    for name in sorted(n for n in backend_names - referenced if n):
        failures.append((field, f"no frontend links to backend {name!r} (Edge-LB requires every backend to be used)"))
    return failures


def _check_backends(backends: Any, field: str) -> list[Failure]:
    if not isinstance(backends, list):
        return [(field, "must be a list of backends")]
    failures: list[Failure] = []
    for i, be in enumerate(backends):
        where = f"{field}[{i}]"
        if not isinstance(be, dict):
            failures.append((where, "must be an object"))
            continue
        if not isinstance(be.get("name"), str) or not be["name"]:
            failures.append((f"{where}.name", 'is required, e.g. "kubernetes-apiserver"'))
        if be.get("protocol") not in PROTOCOLS:
            failures.append((f"{where}.protocol", f"must be one of {', '.join(PROTOCOLS)}"))
        services = be.get("services")
        if not isinstance(services, list) or not services:
            failures.append((f"{where}.services", "needs at least one service (e.g. a mesos frameworkName + taskNamePattern)"))
            continue
        for j, svc in enumerate(services):
            failures += _check_service(svc, f"{where}.services[{j}]")
    return failures


def _check_service(svc: Any, where: str) -> list[Failure]:
    if not isinstance(svc, dict):
        return [(where, "must be an object")]
    shape = [(f"{where}.{k}", "must be an object") for k in ("endpoint", "mesos", "marathon")
             if k in svc and not isinstance(svc[k], dict)]
    if shape:
        return shape
    endpoint = svc.get("endpoint", {}) or {}
    if endpoint.get("type") == "ADDRESS":
        if not endpoint.get("address") or not _port(endpoint.get("port", -1)):
            return [(f"{where}.endpoint", "type ADDRESS needs address and port")]
        return []
    mesos, marathon = svc.get("mesos", {}) or {}, svc.get("marathon", {}) or {}
    has_mesos = any(mesos.get(k) for k in ("frameworkName", "frameworkNamePattern", "frameworkID", "frameworkIDPattern")) and \
        any(mesos.get(k) for k in ("taskName", "taskNamePattern", "taskID", "taskIDPattern"))
    has_marathon = bool(marathon.get("serviceID") or marathon.get("serviceIDPattern"))
    failures: list[Failure] = []
    if not has_mesos and not has_marathon:
        failures.append((where, 'needs a selector: mesos {frameworkName, taskNamePattern} or marathon {serviceID}'))
    if not (endpoint.get("portName") or endpoint.get("allPorts") or _port(endpoint.get("port", -1))):
        failures.append((f"{where}.endpoint", 'needs portName (e.g. "apiserver"), port, or allPorts: true'))
    return failures
