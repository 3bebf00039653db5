"""Marathon app definitions: id rules, validation and the defaults Marathon fills in on read-back.

Validation answers like Marathon: schema problems are 422 ``Invalid JSON`` with Play-style error
keys (``error.min``, ``error.expected.jsstring`` …), semantic problems are 422 ``Object is not
valid``; paths render array indices as ``(n)``. Like Marathon's generated Play readers, the schema
reads the fields it knows and drops everything else, and a JSON ``null`` means "not given".
Normalisation reproduces what a GET returns that the client never sent (``cpus: 1.0``,
``networks: [{"mode": "host"}]``, upgradeStrategy …), which is exactly what a naive client diff
trips over.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Callable, Iterable

SEGMENT = re.compile(r"^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])$|^(\.|\.\.)$")
PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
RESERVED_LAST_SEGMENTS = ("restart", "tasks", "versions", ".", "..")
CONSTRAINT_OPS = ("UNIQUE", "CLUSTER", "GROUP_BY", "LIKE", "UNLIKE", "MAX_PER", "IS")
HEALTH_PROTOCOLS = ("HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP")
NETWORK_MODES = ("host", "container", "container/bridge")
PORT_PROTOCOLS = ("tcp", "udp", "udp,tcp")
SERVICE_PORT_RANGE = (10000, 20000)  # --local_port_min / --local_port_max
DEFAULT_NETWORK_NAME = "dcos"  # --default_network_name on DC/OS
INT32_MAX = 2**31 - 1

#: Fields Marathon computes; they are never part of a stored definition.
RUNTIME_FIELDS = (
    "version", "versionInfo", "tasks", "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy",
    "deployments", "lastTaskFailure", "taskStats", "readinessCheckResults", "counts",
)


class ValidationFailure(Exception):
    """A 4xx Marathon answer: ``status``, ``message`` and ``details`` (a list or a string)."""

    def __init__(self, status: int, message: str, details: Any = None, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.status, self.message, self.details, self.extra = status, message, details, extra or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return {**body, **self.extra}


class _Errors:
    """Collects (path, error) pairs and renders Marathon's grouped ``details``."""

    def __init__(self) -> None:
        self.items: dict[str, list[str]] = {}

    def add(self, path: str, error: str) -> None:
        self.items.setdefault(path or "/", []).append(error)

    def raise_if_any(self, message: str) -> None:
        if self.items:
            raise ValidationFailure(422, message, [{"path": p, "errors": e} for p, e in self.items.items()])


# -- the schema (422 "Invalid JSON") ---------------------------------------------------------------
class _Schema:
    """One Play reader: ``check`` reports what Play would reject, ``clean`` returns what it reads."""

    def check(self, errors: _Errors, path: str, value: Any) -> None:
        raise NotImplementedError

    def clean(self, value: Any) -> Any:
        return value


class _Str(_Schema):
    def __init__(self, min_length: int = 0, valid: Callable[[str], Any] | None = None,
                 enum: Iterable[str] | None = None):
        self.min_length, self.valid = min_length, valid
        self.enum = None if enum is None else frozenset(enum)

    def check(self, errors: _Errors, path: str, value: Any) -> None:
        if not isinstance(value, str):
            errors.add(path, "error.expected.jsstring")
        elif self.enum is not None and value not in self.enum:
            errors.add(path, "error.unknown.enum.literal")
        elif len(value) < self.min_length:
            errors.add(path, "error.minLength")
        elif self.valid is not None and not self.valid(value):
            errors.add(path, "error.pattern")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Num(_Schema):
    """A double (Jackson writes it back with a decimal point: ``128.0``)."""

    def __init__(self, lo: float | None = None, hi: float | None = None):
        self.lo, self.hi = lo, hi

    def check(self, errors: _Errors, path: str, value: Any) -> None:
        if not _is_number(value):
            errors.add(path, "error.expected.jsnumber")
        else:
            self._range(errors, path, value)

    def _range(self, errors: _Errors, path: str, value: float) -> None:
        if self.lo is not None and value < self.lo:
            errors.add(path, "error.min")
        elif self.hi is not None and value > self.hi:
            errors.add(path, "error.max")

    def clean(self, value: Any) -> Any:
        return float(value)


class _Int(_Num):
    """A 32-bit int; Play accepts ``1.0`` but not ``1.5`` or a number beyond Int range."""

    def check(self, errors: _Errors, path: str, value: Any) -> None:
        if not _is_number(value):
            errors.add(path, "error.expected.jsnumber")
        elif abs(value) > INT32_MAX or value != int(value):
            errors.add(path, "error.expected.int")
        else:
            self._range(errors, path, value)

    def clean(self, value: Any) -> Any:
        return int(value)


class _Bool(_Schema):
    def check(self, errors: _Errors, path: str, value: Any) -> None:
        if not isinstance(value, bool):
            errors.add(path, "error.expected.jsboolean")


class _Opaque(_Schema):
    """An object Marathon passes through without the simulator modelling its insides."""

    def check(self, errors: _Errors, path: str, value: Any) -> None:
        if not isinstance(value, dict):
            errors.add(path, "error.expected.jsobject")


class _Arr(_Schema):
    def __init__(self, item: _Schema):
        self.item = item

    def check(self, errors: _Errors, path: str, value: Any) -> None:
        if not isinstance(value, list):
            errors.add(path, "error.expected.jsarray")
            return
        for i, v in enumerate(value):
            self.item.check(errors, f"{path}({i})", v)

    def clean(self, value: Any) -> Any:
        return [self.item.clean(v) for v in value]


class _Map(_Schema):
    def __init__(self, value: _Schema):
        self.value = value

    def check(self, errors: _Errors, path: str, value: Any) -> None:
        if not isinstance(value, dict):
            errors.add(path, "error.expected.jsobject")
            return
        for k, v in value.items():
            self.value.check(errors, f"{path}/{k}", v)

    def clean(self, value: Any) -> Any:
        return {k: self.value.clean(v) for k, v in value.items()}


class _Obj(_Schema):
    """Named fields only; ``null`` counts as absent; unknown fields are dropped by ``clean``."""

    def __init__(self, fields: dict[str, _Schema], required: tuple[str, ...] = ()):
        self.fields, self.required = fields, required

    def check(self, errors: _Errors, path: str, value: Any, required: tuple[str, ...] | None = None) -> None:
        if not isinstance(value, dict):
            errors.add(path, "error.expected.jsobject")
            return
        for key in self.required if required is None else required:
            if value.get(key) is None:
                errors.add(f"{path}/{key}", "error.path.missing")
        for key, schema in self.fields.items():
            if value.get(key) is not None:
                schema.check(errors, f"{path}/{key}", value[key])

    def clean(self, value: Any) -> Any:
        return {k: self.fields[k].clean(v) for k, v in value.items() if k in self.fields and v is not None}


class _OneOf(_Schema):
    """A RAML union: the first alternative that reads the value wins."""

    def __init__(self, *alternatives: _Schema):
        self.alternatives = alternatives

    def _matching(self, value: Any) -> _Schema | None:
        for alternative in self.alternatives:
            probe = _Errors()
            alternative.check(probe, "", value)
            if not probe.items:
                return alternative
        return None

    def check(self, errors: _Errors, path: str, value: Any) -> None:
        if self._matching(value) is None:
            self.alternatives[0].check(errors, path, value)

    def clean(self, value: Any) -> Any:
        return self._matching(value).clean(value)


class _Volume(_Obj):
    """A host volume needs ``hostPath`` and ``mode``; secret, persistent and external ones do not."""

    def check(self, errors: _Errors, path: str, value: Any, required: tuple[str, ...] | None = None) -> None:
        special = isinstance(value, dict) and any(value.get(k) is not None
                                                  for k in ("secret", "persistent", "external"))
        super().check(errors, path, value, self.required if special else self.required + ("hostPath", "mode"))


def valid_path(raw: str) -> bool:
    """Every segment of a path id fully matches Marathon's segment pattern (lowercase, digits,
    ``-``; Java's ``matches()``, so no trailing newline either)."""
    return all(SEGMENT.fullmatch(seg) for seg in raw.split("/") if seg)


_PORT = _Int(0, 65535)
_PORT_NAME = _Str(valid=PORT_NAME.fullmatch)
_PORT_PROTOCOL = _Str(enum=PORT_PROTOCOLS)
_PORT_DEFINITION = _Obj({"port": _PORT, "protocol": _PORT_PROTOCOL, "name": _PORT_NAME, "labels": _Map(_Str())})
_PORT_MAPPING = _Obj({"containerPort": _PORT, "hostPort": _PORT, "servicePort": _PORT, "protocol": _PORT_PROTOCOL,
                      "name": _PORT_NAME, "labels": _Map(_Str()), "networkNames": _Arr(_Str())})
_DOCKER = _Obj({
    "image": _Str(min_length=1), "forcePullImage": _Bool(), "privileged": _Bool(),
    "parameters": _Arr(_Obj({"key": _Str(), "value": _Str()}, required=("key", "value"))),
    "credential": _Opaque(), "pullConfig": _Opaque(),
    "network": _Str(enum=("BRIDGE", "HOST", "USER", "NONE")), "portMappings": _Arr(_PORT_MAPPING),  # deprecated
}, required=("image",))
_VOLUME = _Volume({"containerPath": _Str(min_length=1), "hostPath": _Str(min_length=1), "mode": _Str(enum=("RO", "RW")),
                   "secret": _Str(min_length=1), "persistent": _Opaque(), "external": _Opaque()},
                  required=("containerPath",))
_CONTAINER = _Obj({"type": _Str(enum=("DOCKER", "MESOS")), "docker": _DOCKER, "volumes": _Arr(_VOLUME),
                   "portMappings": _Arr(_PORT_MAPPING), "linuxInfo": _Opaque()})
_SECONDS = _Int(0)
_HEALTH_CHECK = _Obj({
    "protocol": _Str(enum=HEALTH_PROTOCOLS), "ipProtocol": _Str(enum=("IPv4", "IPv6")), "path": _Str(),
    "portIndex": _Int(0), "port": _PORT, "command": _Obj({"value": _Str()}, required=("value",)),
    "gracePeriodSeconds": _SECONDS, "intervalSeconds": _SECONDS, "timeoutSeconds": _SECONDS,
    "maxConsecutiveFailures": _SECONDS, "delaySeconds": _SECONDS, "ignoreHttp1xx": _Bool(),
})
_FETCH = _Obj({"uri": _Str(min_length=1), "extract": _Bool(), "executable": _Bool(), "cache": _Bool(),
               "destPath": _Str()}, required=("uri",))
_APP = _Obj({
    "id": _Str(min_length=1, valid=valid_path),
    "cmd": _Str(min_length=1), "args": _Arr(_Str()), "user": _Str(), "executor": _Str(),
    "instances": _Int(0), "cpus": _Num(0.001), "mem": _Num(0), "disk": _Num(0), "gpus": _Int(0),
    "backoffSeconds": _SECONDS, "backoffFactor": _Num(1.0), "maxLaunchDelaySeconds": _SECONDS,
    "taskKillGracePeriodSeconds": _SECONDS,
    "labels": _Map(_Str()),
    "env": _Map(_OneOf(_Str(), _Obj({"secret": _Str()}, required=("secret",)))),
    "secrets": _Map(_Obj({"source": _Str(min_length=1)}, required=("source",))),
    "acceptedResourceRoles": _Arr(_Str()), "constraints": _Arr(_Arr(_Str())), "dependencies": _Arr(_Str()),
    "portDefinitions": _Arr(_PORT_DEFINITION), "requirePorts": _Bool(),
    "networks": _Arr(_Obj({"mode": _Str(enum=NETWORK_MODES), "name": _Str(min_length=1), "labels": _Map(_Str())})),
    "container": _CONTAINER,
    "healthChecks": _Arr(_HEALTH_CHECK), "readinessChecks": _Arr(_Opaque()), "check": _Opaque(),
    "fetch": _Arr(_FETCH),
    "upgradeStrategy": _Obj({"minimumHealthCapacity": _Num(0, 1), "maximumOverCapacity": _Num(0, 1)}),
    "unreachableStrategy": _OneOf(_Obj({"inactiveAfterSeconds": _SECONDS, "expungeAfterSeconds": _SECONDS}),
                                  _Str(enum=("disabled",))),
    "killSelection": _Str(enum=("YOUNGEST_FIRST", "OLDEST_FIRST")), "role": _Str(min_length=1),
    "residency": _Opaque(), "tty": _Bool(), "executorResources": _Opaque(), "resourceLimits": _Opaque(),
    "ports": _Arr(_PORT), "uris": _Arr(_Str()), "ipAddress": _Opaque(),  # deprecated, translated
    "version": _Str(),  # read for rollbacks, never stored
})


def read_app(body: Any, require_id: bool) -> dict[str, Any]:
    """Check a client's app JSON like Marathon's reader and return the fields it reads.

    Raises 422 ``Invalid JSON`` for type, range, enum, pattern and missing-field problems."""
    errors = _Errors()
    _APP.check(errors, "", body, ("id",) if require_id else ())
    errors.raise_if_any("Invalid JSON")
    return _APP.clean(body)


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
    errors = _Errors()
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


def _check_ports(errors: _Errors, app: dict[str, Any]) -> None:
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


def _check_networks(errors: _Errors, app: dict[str, Any]) -> None:
    modes = [n["mode"] for n in app["networks"]]
    if ("host" in modes or "container/bridge" in modes) and len(modes) > 1:
        errors.add("/networks", "May specify a single host network, single bridge network, "
                                "or else 1-to-n container networks")
    for i, n in enumerate(app["networks"]):
        if n["mode"] == "host" and ("name" in n or "labels" in n):
            errors.add(f"/networks({i})", "Host networks may not have names or labels")
        if n["mode"] == "container/bridge" and "name" in n:
            errors.add(f"/networks({i})", "Bridge networks may not have names")


def _check_container(errors: _Errors, app: dict[str, Any]) -> None:
    container = app.get("container")
    if container is None:
        return
    if container["type"] == "DOCKER" and "docker" not in container:
        errors.add("/container/docker", "not defined")
    if container["type"] == "MESOS" and container.get("docker", {}).get("parameters"):
        errors.add("/container/docker/parameters", "must be empty")


def _check_roles(errors: _Errors, app: dict[str, Any], role: str) -> None:
    if app["role"] != role:
        errors.add("/role", f'got "{app["role"]}", expected one of: [{role}]')
    roles = app.get("acceptedResourceRoles")
    if roles is None:
        return
    if not roles:
        errors.add("/acceptedResourceRoles", "must not be empty")
    elif any(r not in ("*", role) for r in roles):
        errors.add("/acceptedResourceRoles", f"acceptedResourceRoles can only contain * and {role}")


def _check_secrets(errors: _Errors, app: dict[str, Any], features: tuple[str, ...]) -> None:
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
