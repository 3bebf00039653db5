"""Marathon's app reader: the RAML schema as Play reads JSON (422 ``Invalid JSON``).

Errors use Play's keys (``error.min``, ``error.expected.jsstring`` …) and render array indices as
``(n)`` in paths. Like Marathon's generated Play readers, the schema reads the fields it knows and
drops everything else, and a JSON ``null`` means "not given".
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable

from kexpose_sim.marathon.exceptions import Errors

SEGMENT = re.compile(r"^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])$|^(\.|\.\.)$")
PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
HEALTH_PROTOCOLS = ("HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP")
NETWORK_MODES = ("host", "container", "container/bridge")
PORT_PROTOCOLS = ("tcp", "udp", "udp,tcp")
INT32_MAX = 2**31 - 1


class _Schema:
    """One Play reader: ``check`` reports what Play would reject, ``clean`` returns what it reads."""

    def check(self, errors: Errors, path: str, value: Any) -> None:
        raise NotImplementedError

    def clean(self, value: Any) -> Any:
        return value


class _Str(_Schema):
    def __init__(self, min_length: int = 0, valid: Callable[[str], Any] | None = None,
                 enum: Iterable[str] | None = None):
        self.min_length, self.valid = min_length, valid
        self.enum = None if enum is None else frozenset(enum)

    def check(self, errors: Errors, path: str, value: Any) -> None:
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

    def check(self, errors: Errors, path: str, value: Any) -> None:
        if not _is_number(value):
            errors.add(path, "error.expected.jsnumber")
        else:
            self._range(errors, path, value)

    def _range(self, errors: Errors, path: str, value: float) -> None:
        if self.lo is not None and value < self.lo:
            errors.add(path, "error.min")
        elif self.hi is not None and value > self.hi:
            errors.add(path, "error.max")

    def clean(self, value: Any) -> Any:
        return float(value)


class _Int(_Num):
    """A 32-bit int; Play accepts ``1.0`` but not ``1.5`` or a number beyond Int range."""

    def check(self, errors: Errors, path: str, value: Any) -> None:
        if not _is_number(value):
            errors.add(path, "error.expected.jsnumber")
        elif abs(value) > INT32_MAX or value != int(value):
            errors.add(path, "error.expected.int")
        else:
            self._range(errors, path, value)

    def clean(self, value: Any) -> Any:
        return int(value)


class _Bool(_Schema):
    def check(self, errors: Errors, path: str, value: Any) -> None:
        if not isinstance(value, bool):
            errors.add(path, "error.expected.jsboolean")


class _Opaque(_Schema):
    """An object Marathon passes through without the simulator modelling its insides."""

    def check(self, errors: Errors, path: str, value: Any) -> None:
        if not isinstance(value, dict):
            errors.add(path, "error.expected.jsobject")


class _Arr(_Schema):
    """An array whose every item ``item`` reads (``_Map`` reads an object's values the same way)."""

    json_type: type = list
    expected = "error.expected.jsarray"

    def __init__(self, item: _Schema):
        self.item = item

    @staticmethod
    def _items(value: Any) -> Iterable[tuple[str, Any]]:
        return ((f"({i})", v) for i, v in enumerate(value))

    def check(self, errors: Errors, path: str, value: Any) -> None:
        if not isinstance(value, self.json_type):
            errors.add(path, self.expected)
            return
        for suffix, v in self._items(value):
            self.item.check(errors, f"{path}{suffix}", v)

    def clean(self, value: Any) -> Any:
        return [self.item.clean(v) for v in value]


class _Map(_Arr):
    json_type = dict
    expected = "error.expected.jsobject"

    @staticmethod
    def _items(value: Any) -> Iterable[tuple[str, Any]]:
        return ((f"/{k}", v) for k, v in value.items())

    def clean(self, value: Any) -> Any:
        return {k: self.item.clean(v) for k, v in value.items()}


class _Obj(_Schema):
    """Named fields only; ``null`` counts as absent; unknown fields are dropped by ``clean``."""

    def __init__(self, fields: dict[str, _Schema], required: tuple[str, ...] = ()):
        self.fields, self.required = fields, required

    def check(self, errors: Errors, path: str, value: Any, required: tuple[str, ...] | None = None) -> None:
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
            probe = Errors()
            alternative.check(probe, "", value)
            if not probe.items:
                return alternative
        return None

    def check(self, errors: Errors, path: str, value: Any) -> None:
        if self._matching(value) is None:
            self.alternatives[0].check(errors, path, value)

    def clean(self, value: Any) -> Any:
        return self._matching(value).clean(value)


class _Volume(_Obj):
    """A host volume needs ``hostPath`` and ``mode``; secret, persistent and external ones do not."""

    def check(self, errors: Errors, path: str, value: Any, required: tuple[str, ...] | None = None) -> None:
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
    errors = Errors()
    _APP.check(errors, "", body, ("id",) if require_id else ())
    errors.raise_if_any("Invalid JSON")
    return _APP.clean(body)
