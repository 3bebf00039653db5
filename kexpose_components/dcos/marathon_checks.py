"""Checks of a Marathon app definition before anything is sent: each problem names the field
(``app.portDefinitions[1].port``) and says what a right value looks like, so `pulumi preview`
fails with a fix instead of a 422 halfway through an `up`."""

from __future__ import annotations

import re
from typing import Any, Callable

from kexpose_components.resources.inputs import is_number, whole

SEGMENT = re.compile(r"^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])$")
PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
OPERATORS = ("UNIQUE", "CLUSTER", "GROUP_BY", "LIKE", "UNLIKE", "MAX_PER", "IS")

Failure = tuple[str, str]


def canonical_app_id(raw: str) -> str:
    """``kubectl-proxy`` / ``/dev//proxy/`` -> ``/kubectl-proxy`` / ``/dev/proxy``."""
    return "/" + "/".join(p for p in raw.split("/") if p)


def check_app(app: Any, field: str = "app") -> list[Failure]:
    if not isinstance(app, dict):
        return [(field, 'must be a Marathon app definition (an object), e.g. {"id": "/kubectl-proxy", "cmd": "..."}')]
    failures: list[Failure] = []
    failures += _check_id(app.get("id"), f"{field}.id")
    if not any(app.get(k) for k in ("cmd", "args", "container")):
        failures.append((field, "needs one of 'cmd', 'args' or 'container' (Marathon refuses an app with none)"))
    for key, minimum, example in (("instances", 0, "1"), ("cpus", 0.001, "0.1"), ("mem", 0, "128"), ("disk", 0, "0")):
        value = app.get(key)
        if value is not None and (not is_number(value) or value < minimum or (key == "instances" and whole(value) is None)):
            failures.append((f"{field}.{key}", f"must be a number >= {minimum}, e.g. {example}"))
    failures += _check_ports(app, field)
    failures += _check_roles(app.get("acceptedResourceRoles"), f"{field}.acceptedResourceRoles")
    for key, kind, hint, check in _PARTS:
        value = app.get(key)
        if value is not None:
            failures += check(value, f"{field}.{key}") if isinstance(value, kind) else [(f"{field}.{key}", hint)]
    failures += _check_types(app, field)
    failures += _check_non_empty(app, field)
    return failures


def _check_types(app: dict, field: str) -> list[Failure]:
    """Plain type mistakes Marathon would refuse with 422 halfway through an `up`."""
    failures: list[Failure] = []
    if "cmd" in app and not isinstance(app["cmd"], str):
        failures.append((f"{field}.cmd", 'must be a string: a shell command line, e.g. "tail -F /dev/null"'))
    elif app.get("cmd") == "":
        failures.append((f"{field}.cmd", 'must not be empty: a shell command line, e.g. "tail -F /dev/null" '
                                         "(or leave cmd out and give args)"))
    elif app.get("cmd") and app.get("args"):
        failures.append((field, "takes 'cmd' or 'args', not both (Marathon refuses an app with both)"))
    args = app.get("args")
    if args is not None and (not isinstance(args, list) or not all(isinstance(a, str) for a in args)):
        failures.append((f"{field}.args", 'must be a list of strings, e.g. ["sse", "--group", "external"]'))
    if "requirePorts" in app and not isinstance(app["requirePorts"], bool):
        failures.append((f"{field}.requirePorts", "must be true or false"))
    return failures


def _check_non_empty(app: dict, field: str) -> list[Failure]:
    """The other strings Marathon's RAML gives ``minLength: 1`` (id, cmd and docker.image have their
    own checks): an empty one is a 422 ``error.minLength`` halfway through an `up`."""
    container = app.get("container") if isinstance(app.get("container"), dict) else {}
    places = [(f"{field}.role", app.get("role"), '"slave_public"')]
    places += _items(app.get("networks"), f"{field}.networks", "name", '"dcos"')
    places += _items(app.get("fetch"), f"{field}.fetch", "uri", '"https://downloads.example.com/app.tgz"')
    places += _items(container.get("volumes"), f"{field}.container.volumes", "secret", '"tls-key"')
    secrets = app.get("secrets")
    if isinstance(secrets, dict):
        places += [(f"{field}.secrets.{name}.source", s.get("source"), '"kexpose/tls-key"')
                   for name, s in secrets.items() if isinstance(s, dict)]
    return [(where, f"must be a non-empty string, e.g. {example}") for where, value, example in places
            if value is not None and (not isinstance(value, str) or not value)]


def _items(items: Any, where: str, key: str, example: str) -> list[tuple[str, Any, str]]:
    """``(field, value, example)`` of ``key`` in each object of a list (other shapes are checked elsewhere)."""
    if not isinstance(items, list):
        return []
    return [(f"{where}[{i}].{key}", item.get(key), example) for i, item in enumerate(items) if isinstance(item, dict)]


def _check_networks(networks: list, field: str) -> list[Failure]:
    return [(f"{field}[{i}].mode", 'must be "host", "container" or "container/bridge"')
            for i, n in enumerate(networks)
            if not isinstance(n, dict) or n.get("mode", "container") not in ("host", "container", "container/bridge")]


def _check_id(app_id: Any, field: str) -> list[Failure]:
    if not isinstance(app_id, str) or not app_id.strip("/"):
        return [(field, 'is required: an absolute path such as "/kubernetes-haproxy" or "/dev/kubectl-proxy"')]
    segments = [s for s in app_id.split("/") if s]
    bad = [s for s in segments if not SEGMENT.match(s)]
    if bad:
        return [(field, f"segment {bad[0]!r} is not allowed: use lowercase letters, digits, '-' and '.', "
                        "not starting or ending with '-' (e.g. /dev/kubectl-proxy)")]
    if segments[-1] in ("restart", "tasks", "versions"):
        return [(field, f"must not end with the reserved word {segments[-1]!r}")]
    return []


def _check_labels(labels: dict, field: str) -> list[Failure]:
    return [(f"{field}.{k}", f'must be a string (quote it: "{v}")') for k, v in labels.items() if not isinstance(v, str)]


def _host_networking(app: dict) -> bool:
    """Whether Marathon runs the app on the agent's network, as it decides: by ``networks``, else
    by the deprecated ``ipAddress`` or ``container.docker.network``, else host."""
    networks = app.get("networks")
    if networks is not None:  # [] is Marathon's default (host); another type fails its own check
        return not isinstance(networks, list) or not networks or \
            any(isinstance(n, dict) and n.get("mode") == "host" for n in networks)
    if isinstance(app.get("ipAddress"), dict):
        return False
    container = app.get("container")
    docker = container.get("docker") if isinstance(container, dict) else None
    return not isinstance(docker, dict) or docker.get("network") in (None, "HOST")


def _check_ports(app: dict, field: str) -> list[Failure]:
    defs = app.get("portDefinitions")
    if defs is None:
        return []
    if not isinstance(defs, list):
        return [(f"{field}.portDefinitions", 'must be a list, e.g. [{"port": 6443, "protocol": "tcp"}]')]
    if defs and not _host_networking(app):
        return [(f"{field}.portDefinitions", 'are only allowed with host networking: use networks [{"mode": "host"}], '
                                             "or container.portMappings for a container network")]
    failures: list[Failure] = []
    seen_ports: set[int] = set()
    seen_names: set[str] = set()
    for i, pd in enumerate(defs):
        where = f"{field}.portDefinitions[{i}]"
        if not isinstance(pd, dict):
            failures.append((where, 'must be an object, e.g. {"port": 6443, "protocol": "tcp"}'))
            continue
        port = pd.get("port", 0)
        if whole(port) is None or not 0 <= port <= 65535:
            failures.append((f"{where}.port", "must be a whole number from 0 to 65535 (0 lets Marathon pick), e.g. 6443"))
        elif port and port in seen_ports:
            failures.append((f"{where}.port", f"port {port} is listed twice"))
        else:
            seen_ports.add(port)
        if pd.get("protocol", "tcp") not in ("tcp", "udp", "udp,tcp"):
            failures.append((f"{where}.protocol", 'must be "tcp", "udp" or "udp,tcp"'))
        name = pd.get("name")
        if name is not None:
            if not isinstance(name, str) or not PORT_NAME.match(name):
                failures.append((f"{where}.name", 'must be lowercase letters, digits and "-", e.g. "apiserver"'))
            elif name in seen_names:
                failures.append((f"{where}.name", f"port name {name!r} is listed twice"))
            else:
                seen_names.add(name)
    if app.get("requirePorts") and not seen_ports - {0}:
        failures.append((f"{field}.requirePorts", "needs at least one fixed port in portDefinitions, e.g. 6443"))
    return failures


def _check_roles(roles: Any, field: str) -> list[Failure]:
    if roles is None:
        return []
    if not isinstance(roles, list) or not roles or any(r not in ("*", "slave_public") for r in roles):
        return [(field, 'must be a non-empty list of "*" and/or "slave_public", e.g. ["slave_public"] for public agents')]
    return []


def _check_constraints(constraints: list, field: str) -> list[Failure]:
    failures = []
    for i, c in enumerate(constraints):
        where = f"{field}[{i}]"
        if not isinstance(c, list) or len(c) not in (2, 3) or not all(isinstance(p, str) for p in c):
            failures.append((where, 'must be [field, OPERATOR] or [field, OPERATOR, value] strings, e.g. ["hostname", "IS", "10.0.0.7"]'))
            continue
        op, value = c[1], c[2] if len(c) == 3 else None
        if op not in OPERATORS:
            failures.append((f"{where}[1]", f"operator must be one of {', '.join(OPERATORS)}"))
        elif op == "UNIQUE" and value is not None:
            failures.append((where, 'UNIQUE takes no value: ["hostname", "UNIQUE"]'))
        elif op == "MAX_PER" and (value is None or not value.isdigit()):
            failures.append((where, 'MAX_PER needs a whole number: ["hostname", "MAX_PER", "1"]'))
        elif op in ("LIKE", "UNLIKE", "IS") and not value:
            failures.append((where, f'{op} needs a value, e.g. ["hostname", "{op}", "10.0.0.7"]'))
        elif op in ("LIKE", "UNLIKE"):
            try:
                re.compile(value)
            except re.error as exc:
                failures.append((where, f"{op} value is not a regular expression: {exc}"))
    return failures


def _check_container(container: dict, field: str) -> list[Failure]:
    failures = []
    if container.get("type", "DOCKER") not in ("DOCKER", "MESOS"):
        failures.append((f"{field}.type", 'must be "MESOS" or "DOCKER"'))
    docker = container.get("docker")
    if docker is not None and (not isinstance(docker, dict) or not isinstance(docker.get("image"), str) or not docker["image"]):
        failures.append((f"{field}.docker.image", 'is required, e.g. "haproxy:2.8"'))
    if container.get("type", "DOCKER") == "DOCKER" and docker is None:
        failures.append((f"{field}.docker", 'a DOCKER container needs docker.image, e.g. {"image": "haproxy:2.8"}'))
    volumes = container.get("volumes")
    if volumes is not None and not isinstance(volumes, list):
        return failures + [(f"{field}.volumes", 'must be a list, e.g. [{"containerPath": "/haproxy", "hostPath": "/opt/haproxy", "mode": "RO"}]')]
    for i, v in enumerate(volumes or []):
        where = f"{field}.volumes[{i}]"
        if not isinstance(v, dict) or not v.get("containerPath"):
            failures.append((f"{where}.containerPath", 'is required, e.g. "/haproxy"'))
            continue
        if "secret" in v or "persistent" in v or "external" in v:
            continue
        if not v.get("hostPath"):
            failures.append((f"{where}.hostPath", 'is required, e.g. "/opt/kexpose/haproxy"'))
        if v.get("mode") not in ("RO", "RW"):
            failures.append((f"{where}.mode", 'must be "RO" or "RW"'))
    return failures


#: Optional parts of an app checked as a whole: absent is fine, the wrong JSON type is one failure
#: with a right example, otherwise the part's own check runs.
_PARTS: tuple[tuple[str, type, str, Callable[[Any, str], list[Failure]]], ...] = (
    ("labels", dict, 'must be an object of strings, e.g. {"HAPROXY_GROUP": "external"}', _check_labels),
    ("constraints", list, 'must be a list of [field, OPERATOR(, value)], e.g. [["hostname", "UNIQUE"]]',
     _check_constraints),
    ("container", dict, 'must be an object, e.g. {"type": "MESOS", "docker": {"image": "haproxy:2.8"}}',
     _check_container),
    ("networks", list, 'must be a list, e.g. [{"mode": "host"}]', _check_networks),
)
