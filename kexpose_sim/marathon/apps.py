"""Marathon app definitions: id rules, the defaults Marathon fills in on read-back, semantic checks.

Normalisation reproduces what a GET returns that the client never sent (``cpus: 1.0``,
``networks: [{"mode": "host"}]``, upgradeStrategy …), which is exactly what a naive client diff
trips over. Semantic problems are 422 ``Object is not valid`` (the reader, 422 ``Invalid JSON``,
is ``schema``).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from kexpose_sim.marathon.exceptions import Errors
from kexpose_sim.marathon.schema import valid_path

RESERVED_LAST_SEGMENTS = ("restart", "tasks", "versions", ".", "..")
CONSTRAINT_OPS = ("UNIQUE", "CLUSTER", "GROUP_BY", "LIKE", "UNLIKE", "MAX_PER", "IS")
SERVICE_PORT_RANGE = (10000, 20000)  # --local_port_min / --local_port_max
DEFAULT_NETWORK_NAME = "dcos"  # --default_network_name on DC/OS

#: Fields Marathon computes; they are never part of a stored definition.
RUNTIME_FIELDS = (
    "version", "versionInfo", "tasks", "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy",
    "deployments", "lastTaskFailure", "taskStats", "readinessCheckResults", "counts",
)



# -- ids --------------------------------------------------------------------------------------------
def canonical_id(raw: str, base: str = "/") -> str:
    """Absolute, normalised path id: relative ids resolve against ``base``; ``.``/``..`` resolve;
    duplicate and trailing slashes go."""
    parts = [] if raw.startswith("/") else [p for p in base.split("/") if p]
    for seg in raw.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if parts:
                parts.pop()
            continue
        parts.append(seg)
    return "/" + "/".join(parts)


def id_errors(app_id: str) -> list[str]:
    """Why an (already canonical) id is invalid, in Marathon's words."""
    segments = [s for s in app_id.split("/") if s]
    if not segments:
        return ["Path must contain at least one path element"]
    if not valid_path(app_id):
        return ["error.pattern"]
    if segments[-1] in RESERVED_LAST_SEGMENTS:
        return ["must not end with any of the following reserved keywords: " + ", ".join(RESERVED_LAST_SEGMENTS)]
    return []


# -- normalisation (what a GET returns) ------------------------------------------------------------
def network_kind(app: dict[str, Any]) -> str:
    """``host``, ``container/bridge`` or ``container`` for a normalised app."""
    modes = {n["mode"] for n in app["networks"]}
    return "host" if "host" in modes else "container/bridge" if "container/bridge" in modes else "container"


def normalize(app: dict[str, Any], role: str) -> dict[str, Any]:
    """The definition as Marathon stores and returns it (no runtime fields). ``app`` is what
    ``read_app`` returned (or a stored definition)."""
    a = {k: copy.deepcopy(v) for k, v in app.items() if k not in RUNTIME_FIELDS}
    _translate_deprecated(a)
    for key, default in (("instances", 1), ("gpus", 0), ("backoffSeconds", 1), ("maxLaunchDelaySeconds", 300)):
        a.setdefault(key, default)
    for key, default in (("cpus", 1.0), ("mem", 128.0), ("disk", 0.0), ("backoffFactor", 1.15)):
        a[key] = float(a.get(key, default))
    a.setdefault("executor", "")
    a.setdefault("labels", {})
    a.setdefault("killSelection", "YOUNGEST_FIRST")
    a.setdefault("role", role)
    a["networks"] = [_normalize_network(n) for n in a.get("networks") or [{"mode": "host"}]]
    kind = network_kind(a)
    a["requirePorts"] = bool(a.get("requirePorts", False)) and kind == "host"
    if kind == "host":
        defs = a.get("portDefinitions")
        if defs is None:
            defs = [{"port": 0, "name": "default", "protocol": "tcp"}]
        a["portDefinitions"] = [_normalize_port_definition(pd) for pd in defs]
    elif not a.get("portDefinitions"):
        a.pop("portDefinitions", None)  # non-empty ones are a semantic error (check_semantics)
    if "container" in a:
        a["container"] = _normalize_container(a["container"], kind)
    strategy = a.get("upgradeStrategy") or {}
    a["upgradeStrategy"] = {"minimumHealthCapacity": float(strategy.get("minimumHealthCapacity", 1.0)),
                            "maximumOverCapacity": float(strategy.get("maximumOverCapacity", 1.0))}
    unreachable = a.get("unreachableStrategy", {})
    a["unreachableStrategy"] = unreachable if unreachable == "disabled" else {
        "inactiveAfterSeconds": unreachable.get("inactiveAfterSeconds", 0),
        "expungeAfterSeconds": unreachable.get("expungeAfterSeconds", 0)}
    if "healthChecks" in a:
        a["healthChecks"] = [_normalize_health_check(h) for h in a["healthChecks"]]
    if "fetch" in a:
        a["fetch"] = [{"extract": True, "executable": False, "cache": False, **f} for f in a["fetch"]]
    for key in ("args", "env", "secrets", "constraints", "dependencies", "healthChecks", "readinessChecks", "fetch"):
        if key in a and not a[key]:
            del a[key]  # (pragma.omitEmpty)
    return a


def _translate_deprecated(a: dict[str, Any]) -> None:
    """Deprecated input fields are read, translated, and never written back."""
    ports = a.pop("ports", None)
    if ports is not None and "portDefinitions" not in a:
        a["portDefinitions"] = [{"port": p, "protocol": "tcp"} for p in ports]
    uris = a.pop("uris", None)
    if uris is not None and "fetch" not in a:
        a["fetch"] = [{"uri": u} for u in uris]
    ip_address = a.pop("ipAddress", None)
    if ip_address is not None and "networks" not in a:
        name = ip_address.get("networkName")
        a["networks"] = [{"mode": "container", **({"name": name} if isinstance(name, str) and name else {})}]
    docker = a.get("container", {}).get("docker", {})
    network = docker.pop("network", None)
    if network is not None and "networks" not in a:
        a["networks"] = [{"mode": {"BRIDGE": "container/bridge", "USER": "container"}.get(network, "host")}]
    mappings = docker.pop("portMappings", None)
    if mappings is not None:
        a["container"].setdefault("portMappings", mappings)


def _normalize_network(n: dict[str, Any]) -> dict[str, Any]:
    n = dict(n)
    n.setdefault("mode", "container")  # the RAML default
    if n["mode"] == "container":
        n.setdefault("name", DEFAULT_NETWORK_NAME)
    if not n.get("labels"):
        n.pop("labels", None)
    return n


def _normalize_port_definition(pd: dict[str, Any]) -> dict[str, Any]:
    out = {"port": pd.get("port", 0), "protocol": pd.get("protocol", "tcp")}
    if "name" in pd:
        out["name"] = pd["name"]
    if pd.get("labels"):
        out["labels"] = pd["labels"]
    return out


def _normalize_port_mapping(pm: dict[str, Any], kind: str) -> dict[str, Any]:
    """Bridge mappings get a dynamic host port by default; container-network ones none."""
    out = {"containerPort": pm.get("containerPort", 0), "servicePort": pm.get("servicePort", 0),
           "protocol": pm.get("protocol", "tcp"), "labels": pm.get("labels", {})}
    if "hostPort" in pm or kind == "container/bridge":
        out["hostPort"] = pm.get("hostPort", 0)
    for key in ("name", "networkNames"):
        if key in pm:
            out[key] = pm[key]
    return out


def _normalize_container(c: dict[str, Any], kind: str) -> dict[str, Any]:
    out = {k: v for k, v in c.items() if k not in ("docker", "portMappings")}
    out.setdefault("type", "DOCKER")
    out["volumes"] = c.get("volumes", [])
    if "docker" in c:
        d = c["docker"]
        out["docker"] = {"image": d.get("image"), "forcePullImage": d.get("forcePullImage", False),
                         "parameters": d.get("parameters", []), "privileged": d.get("privileged", False),
                         **{k: d[k] for k in ("credential", "pullConfig") if k in d}}
    if kind != "host":
        mappings = c.get("portMappings")
        if mappings is None:
            mappings = [{"containerPort": 0, "name": "default"}]
        out["portMappings"] = [_normalize_port_mapping(pm, kind) for pm in mappings]
    return out


def _normalize_health_check(h: dict[str, Any]) -> dict[str, Any]:
    out = {"gracePeriodSeconds": 300, "intervalSeconds": 60, "timeoutSeconds": 20, "maxConsecutiveFailures": 3,
           "delaySeconds": 15, "ipProtocol": "IPv4", "protocol": "HTTP", **h}
    if out["protocol"] != "COMMAND" and "port" not in out and "portIndex" not in out:
        out["portIndex"] = 0
    if out["protocol"] in ("HTTP", "HTTPS"):
        out.setdefault("ignoreHttp1xx", False)
    return out


def service_port_slots(app: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """Where an app's service ports live: ``portDefinitions[].port`` with host networking,
    ``container.portMappings[].servicePort`` otherwise."""
    if "portDefinitions" in app:
        return [(pd, "port") for pd in app["portDefinitions"]]
    return [(pm, "servicePort") for pm in app.get("container", {}).get("portMappings", [])]


# -- semantic checks (422 "Object is not valid") --------------------------------------------------
def check_semantics(app: dict[str, Any], features: tuple[str, ...], role: str) -> None:
    """Rules Marathon applies to a normalised definition."""
    errors = Errors()
    for e in id_errors(app["id"]):
        errors.add("/id", e)
    if not app.get("cmd") and not app.get("args") and "container" not in app:
        errors.add("/", "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.")
    if app.get("cmd") and app.get("args"):
        errors.add("/", "AppDefinition must either contain a 'cmd' or a 'args', but not both")
    _check_ports(errors, app)
    _check_networks(errors, app)
    _check_container(errors, app)
    _check_roles(errors, app, role)
    for i, c in enumerate(app.get("constraints", [])):
        msg = constraint_error(c)
        if msg:
            errors.add(f"/constraints({i})", msg)
    _check_secrets(errors, app, features)
    ports = len(service_port_slots(app))
    for i, hc in enumerate(app.get("healthChecks", [])):
        if hc.get("portIndex", 0) >= ports and "port" not in hc and hc["protocol"] != "COMMAND":
            errors.add(f"/healthChecks({i})", "Health check port indices must address an element of the ports "
                                              "array or container port mappings.")
    errors.raise_if_any("Object is not valid")


def _check_ports(errors: Errors, app: dict[str, Any]) -> None:
    if app.get("portDefinitions") and network_kind(app) != "host":
        errors.add("/", "portDefinitions are only allowed with host-networking")
    mappings = app.get("container", {}).get("portMappings", [])
    for path, items, key in (("/portDefinitions", app.get("portDefinitions", []), "port"),
                             ("/container/portMappings", mappings, "servicePort")):
        names = [item["name"] for item in items if "name" in item]
        if len(names) != len(set(names)):
            errors.add(path, "Port names must be unique.")
        ports = [item[key] for item in items if item[key] != 0]
        if len(ports) != len(set(ports)):
            errors.add(path, "Ports must be unique.")


def _check_networks(errors: Errors, app: dict[str, Any]) -> None:
    modes = [n["mode"] for n in app["networks"]]
    if ("host" in modes or "container/bridge" in modes) and len(modes) > 1:
        errors.add("/networks", "May specify a single host network, single bridge network, "
                                "or else 1-to-n container networks")
    for i, n in enumerate(app["networks"]):
        if n["mode"] == "host" and ("name" in n or "labels" in n):
            errors.add(f"/networks({i})", "Host networks may not have names or labels")
        if n["mode"] == "container/bridge" and "name" in n:
            errors.add(f"/networks({i})", "Bridge networks may not have names")


def _check_container(errors: Errors, app: dict[str, Any]) -> None:
    container = app.get("container")
    if container is None:
        return
    if container["type"] == "DOCKER" and "docker" not in container:
        errors.add("/container/docker", "not defined")
    if container["type"] == "MESOS" and container.get("docker", {}).get("parameters"):
        errors.add("/container/docker/parameters", "must be empty")


def _check_roles(errors: Errors, app: dict[str, Any], role: str) -> None:
    if app["role"] != role:
        errors.add("/role", f'got "{app["role"]}", expected one of: [{role}]')
    roles = app.get("acceptedResourceRoles")
    if roles is None:
        return
    if not roles:
        errors.add("/acceptedResourceRoles", "must not be empty")
    elif any(r not in ("*", role) for r in roles):
        errors.add("/acceptedResourceRoles", f"acceptedResourceRoles can only contain * and {role}")


def _check_secrets(errors: Errors, app: dict[str, Any], features: tuple[str, ...]) -> None:
    secrets = app.get("secrets", {})
    env_refs = {name: v["secret"] for name, v in app.get("env", {}).items() if isinstance(v, dict)}
    volume_refs = [v["secret"] for v in app.get("container", {}).get("volumes", []) if "secret" in v]
    if (secrets or env_refs or volume_refs) and "secrets" not in features:
        errors.add("/secrets", "Feature secrets is not enabled. Enable with --enable_features secrets)")
    for name, ref in env_refs.items():
        if ref not in secrets:
            errors.add(f"/env/{name}/secret", "references an undefined secret")
    for i, v in enumerate(app.get("container", {}).get("volumes", [])):
        if "secret" in v and v["secret"] not in secrets:
            errors.add(f"/container/volumes({i})/secret", "references an undefined secret")


def constraint_error(c: list[str]) -> str | None:
    """Marathon's message for a malformed ``[field, OP(, value)]`` constraint, or None."""
    if len(c) not in (2, 3):
        return "Each constraint must have either 2 or 3 fields"
    op = c[1]
    if op not in CONSTRAINT_OPS:
        return "operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS"
    value = c[2] if len(c) == 3 else None
    if op == "UNIQUE" and value is not None:
        return "UNIQUE does not accept a value"
    if op == "MAX_PER" and (value is None or not value.isdigit()):
        return "MAX_PER requires an integer value"
    if op in ("LIKE", "UNLIKE"):
        try:
            if not value:
                raise re.error("empty")
            re.compile(value)
        except re.error:
            return "LIKE and UNLIKE require a non-empty, regular expression value"
    if op == "IS" and not value:
        return "IS requires a non-empty value"
    return None


def config_differs(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """True when anything but ``instances`` changed (that is a restart, not a scale)."""
    def strip(a: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in a.items() if k not in ("instances", "version")}

    return strip(old) != strip(new)


def merge_update(existing: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """A partial update (Marathon's AppUpdate): given top-level fields replace the stored ones,
    omitted fields keep their values. Deprecated inputs replace what they translate to, and a
    networking change drops port definitions meant for the old networking."""
    merged = {k: v for k, v in existing.items() if k not in RUNTIME_FIELDS}
    if "ports" in update:
        merged.pop("portDefinitions", None)
    if "uris" in update:
        merged.pop("fetch", None)
    if "networks" in update and "portDefinitions" not in update:
        merged.pop("portDefinitions", None)
    merged.update(update)
    return merged
