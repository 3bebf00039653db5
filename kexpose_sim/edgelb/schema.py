"""Edge-LB's V2 pool schema and its codec, as Edge-LB's go-swagger generated Go code behaves.

- every model's ``UnmarshalJSON`` overlays the request on a defaults object, recursively, so a
  read-back carries defaults the client never sent; unknown keys are dropped and keys match
  case-insensitively (``encoding/json``);
- output uses ``omitempty``: a zero value in a non-pointer field disappears, and a later read
  refills the default (``"cpus": 0`` comes back as 0.9);
- a body that does not fit the Go types fails with the ``encoding/json`` message (400).
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from typing import Any

from kexpose_sim.edgelb.exceptions import EdgeLBError, parse_error

_ABSENT = object()


@dataclass(frozen=True)
class Field:
    """One JSON field of a Go model.

    ``omitempty`` is true for non-pointer ``omitempty`` fields, whose zero value vanishes on output;
    pointer fields and slices keep whatever value they hold."""

    kind: str  # string | int32 | float64 | bool | map | list | model
    default: Any = _ABSENT
    omitempty: bool = True
    of: str = ""  # list: item kind or model name; model: model name
    go_type: str = ""  # the Go type named in decode errors, when not derivable from kind
    since: tuple[int, ...] = ()  # Edge-LB version that introduced the field


@dataclass(frozen=True)
class Model:
    go_name: str
    fields: dict[str, Field]
    #: the Go type has an UnmarshalJSON that starts from defaults (and names ``<go_name>Alias``
    #: in decode errors); other models merge into what is there
    overlays_defaults: bool = True

    @property
    def struct(self) -> str:
        return f"{self.go_name}Alias" if self.overlays_defaults else self.go_name


def _str(default: Any = _ABSENT, ptr: bool = False, **kw: Any) -> Field:
    return Field("string", default, omitempty=not ptr, **kw)


def _int(default: Any = _ABSENT, ptr: bool = False, **kw: Any) -> Field:
    return Field("int32", default, omitempty=not ptr, **kw)


def _float(default: Any = _ABSENT) -> Field:
    return Field("float64", default)


def _bool(default: Any = _ABSENT, ptr: bool = False) -> Field:
    return Field("bool", default, omitempty=not ptr)


def _list(of: str) -> Field:
    return Field("list", [], omitempty=False, of=of)


def _model(name: str, default: Any = _ABSENT) -> Field:
    return Field("model", default, omitempty=False, of=name)


PROTOCOLS = ("HTTP", "HTTPS", "TCP", "TLS")
ENDPOINT_TYPES = ("AUTO_IP", "AGENT_IP", "CONTAINER_IP", "ADDRESS")

MODELS: dict[str, Model] = {
    "V2Pool": Model("V2Pool", {
        "apiVersion": _str("V2", go_type="models.APIVersion"),
        "autoCertificate": _bool(),
        "constraints": _str("hostname:UNIQUE", ptr=True),
        "count": _int(1, ptr=True),
        "cpus": _float(0.9),
        "cpusAdminOverhead": _float(0.1),
        "disk": _int(256),
        "environmentVariables": Field("map"),
        "haproxy": _model("V2Haproxy", {}),
        "mem": _int(992),
        "memAdminOverhead": _int(32),
        "name": _str(),
        "namespace": _str("dcos-edgelb/pools", ptr=True),
        "packageName": _str("edgelb-pool"),
        "packageVersion": _str(),  # default: the Edge-LB version (see PoolCodec)
        "poolHealthcheckGracePeriod": _int(180, since=(1, 2, 3)),
        "poolHealthcheckInterval": _int(12, since=(1, 2, 3)),
        "poolHealthcheckMaxFail": _int(5, since=(1, 2, 3)),
        "poolHealthcheckTimeout": _int(60, since=(1, 2, 3)),
        "ports": _list("int32"),
        "principal": _str(ptr=True),
        "role": _str("slave_public"),
        "secretName": _str(ptr=True),
        "secrets": _list("V2PoolSecretsItems0"),
        "type": _str("static", since=(1, 3)),
        "virtualNetworks": _list("V2PoolVirtualNetworksItems0"),
    }),
    "V2PoolSecretsItems0": Model("V2PoolSecretsItems0", {"file": _str(), "secret": _str()}, False),
    "V2PoolVirtualNetworksItems0": Model("V2PoolVirtualNetworksItems0", {
        "labels": Field("map"), "name": _str()}, False),
    "V2Haproxy": Model("V2Haproxy", {
        "backends": _list("V2Backend"),
        "frontends": _list("V2Frontend"),
        "stats": _model("V2Stats", {}),
    }),
    "V2Stats": Model("V2Stats", {"bindAddress": _str("0.0.0.0"), "bindPort": _int(9090)}),
    "V2Frontend": Model("V2Frontend", {
        "bindAddress": _str("0.0.0.0"),
        "bindModifier": _str(),
        "bindPort": _int(-1, ptr=True),
        "certificates": _list("string"),
        "linkBackend": _model("V2FrontendLinkBackend", {}),
        "miscStrs": _list("string"),
        "name": _str(),  # filled with frontend_<bindAddress>_<bindPort> (Edge-LB 1.5 returns it)
        "protocol": _str(go_type="models.V2Protocol"),
        "redirectToHttps": _model("V2FrontendRedirectToHTTPS"),
    }),
    "V2FrontendLinkBackend": Model("V2FrontendLinkBackend", {
        "defaultBackend": _str(), "map": _list("V2FrontendLinkBackendMapItems0")}),
    "V2FrontendLinkBackendMapItems0": Model("V2FrontendLinkBackendMapItems0", {
        key: _str() for key in ("backend", "hostEq", "hostReg", "pathBeg", "pathEnd", "pathReg")}, False),
    "V2FrontendRedirectToHTTPS": Model("V2FrontendRedirectToHTTPS", {
        "except": _list("V2FrontendRedirectToHTTPSExceptItems0")}),
    "V2FrontendRedirectToHTTPSExceptItems0": Model("V2FrontendRedirectToHTTPSExceptItems0", {
        "host": _str(), "pathBeg": _str()}, False),
    "V2Backend": Model("V2Backend", {
        "balance": _str("roundrobin"),
        "customCheck": _model("V2BackendCustomCheck"),
        "miscStrs": _list("string"),
        "name": _str(),
        "protocol": _str(go_type="models.V2Protocol"),
        "rewriteHttp": _model("V2RewriteHTTP", {}),
        "services": _list("V2Service"),
    }),
    "V2BackendCustomCheck": Model("V2BackendCustomCheck", {
        "httpchk": _bool(), "httpchkMiscStr": _str(), "miscStr": _str(), "sslHelloChk": _bool()}, False),
    "V2RewriteHTTP": Model("V2RewriteHTTP", {
        "host": _str(),
        "path": _model("V2RewriteHTTPPath"),
        "request": _model("V2RewriteHTTPRequest", {}),
        "response": _model("V2RewriteHTTPResponse", {}),
        "sticky": _model("V2RewriteHttpsticky"),
    }),
    "V2RewriteHTTPPath": Model("V2RewriteHTTPPath", {"fromPath": _str("", ptr=True), "toPath": _str("", ptr=True)}),
    "V2RewriteHttpsticky": Model("V2RewriteHttpsticky", {"customStr": _str(), "enabled": _bool(True, ptr=True)}),
    "V2RewriteHTTPRequest": Model("V2RewriteHTTPRequest", {
        key: _bool(True, ptr=True)
        for key in ("forwardfor", "rewritePath", "setHostHeader", "xForwardedPort", "xForwardedProtoHttpsIfTls")}),
    "V2RewriteHTTPResponse": Model("V2RewriteHTTPResponse", {"rewriteLocation": _bool(True, ptr=True)}),
    "V2Service": Model("V2Service", {
        "endpoint": _model("V2Endpoint", {}),
        "marathon": _model("V2ServiceMarathon", {}),
        "mesos": _model("V2ServiceMesos", {}),
    }),
    "V2ServiceMarathon": Model("V2ServiceMarathon", {
        key: _str() for key in ("containerName", "containerNamePattern", "serviceID", "serviceIDPattern")}, False),
    "V2ServiceMesos": Model("V2ServiceMesos", {
        key: _str() for key in ("frameworkID", "frameworkIDPattern", "frameworkName", "frameworkNamePattern",
                                "taskID", "taskIDPattern", "taskName", "taskNamePattern")}, False),
    "V2Endpoint": Model("V2Endpoint", {
        "address": _str(),
        "allPorts": _bool(),
        "check": _model("V2EndpointCheck", {}),
        "miscStr": _str(),
        "port": _int(-1),
        "portName": _str(),
        "type": _str("AUTO_IP"),
    }),
    "V2EndpointCheck": Model("V2EndpointCheck", {"customStr": _str(), "enabled": _bool(True, ptr=True)}),
}

_INT32 = (-(2**31), 2**31 - 1)


def version_tuple(version: str) -> tuple[int, ...]:
    """``"1.5.1"`` -> ``(1, 5, 1)``; a version without numbers counts as the newest."""
    numbers = [int(n) for n in re.findall(r"\d+", version)]
    return tuple(numbers) if numbers else (999,)


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _go_type(f: Field) -> str:
    if f.go_type:
        return f.go_type
    if f.kind == "list":
        return f"[]*models.{MODELS[f.of].go_name}" if f.of in MODELS else f"[]{f.of}"
    if f.kind == "model":
        return f"models.{MODELS[f.of].go_name}"
    return "map[string]string" if f.kind == "map" else f.kind


def _go_number(value: float) -> int | float:
    """Go prints an integral float64 without a fraction (``1``, not ``1.0``)."""
    return int(value) if float(value).is_integer() and abs(value) < 1e21 else value


@dataclass(frozen=True)
class _Where:
    """Where a decode error happened, as ``encoding/json`` reports it: the innermost struct and
    the field path since the last custom ``UnmarshalJSON``."""

    struct: str
    path: tuple[str, ...] = ()

    def error(self, value: Any, go_type: str, literal: bool = False) -> EdgeLBError:
        what = f"number {value!r}" if literal else _json_kind(value)
        return parse_error(f"json: cannot unmarshal {what} into Go struct field "
                           f"{self.struct}.{'.'.join(self.path)} of type {go_type}")


class PoolCodec:
    """Decodes request bodies into V2 pools and encodes pools as Edge-LB returns them."""

    def __init__(self, edgelb_version: str):
        self.version = version_tuple(edgelb_version)
        self.package_version = edgelb_version

    def fields(self, model: Model) -> dict[str, Field]:
        return {k: f for k, f in model.fields.items() if not f.since or f.since <= self.version}

    # -- decoding: JSON value -> pool (defaults filled, Go types enforced) ------------------------
    def decode(self, body: Any) -> dict[str, Any]:
        pool = self._model(body if body is not None else {}, "V2Pool", None)
        if not pool.get("packageVersion"):
            pool["packageVersion"] = self.package_version
        return pool

    def _model(self, raw: Any, name: str, where: _Where | None) -> dict[str, Any]:
        model = MODELS[name]
        if model.overlays_defaults or where is None:
            if not isinstance(raw, dict):
                raise parse_error(f"json: cannot unmarshal {_json_kind(raw)} "
                                  f"into Go value of type models.{model.struct}")
            where = _Where(model.struct)
        elif not isinstance(raw, dict):
            raise where.error(raw, f"models.{model.go_name}")
        else:
            where = _Where(model.go_name, where.path)
        fields = self.fields(model)
        values = {k: self._default(f) for k, f in fields.items() if f.default is not _ABSENT}
        lookup = {k.lower(): k for k in fields}
        for key, value in raw.items():
            known = key if key in fields else lookup.get(key.lower())
            if known is None or value is None:  # Go drops unknown keys; null keeps the default
                continue
            values[known] = self._value(value, fields[known], _Where(where.struct, where.path + (known,)))
        if name == "V2Frontend" and not values.get("name"):
            values["name"] = f"frontend_{values.get('bindAddress', '')}_{values['bindPort']}"
        return {k: values[k] for k in fields if k in values}

    def _default(self, f: Field) -> Any:
        if f.kind == "model":
            return self._model(f.default, f.of, None)
        return copy.deepcopy(f.default)

    def _value(self, value: Any, f: Field, where: _Where) -> Any:
        if f.kind == "model":
            return self._model(value, f.of, where)
        if f.kind == "list":
            if not isinstance(value, list):
                raise where.error(value, _go_type(f))
            return [self._item(v, f.of, where) for v in value]
        if f.kind == "map":
            if not isinstance(value, dict):
                raise where.error(value, "map[string]string")
            for v in value.values():
                if not isinstance(v, str):
                    raise where.error(v, "string")
            return dict(value)
        return self._scalar(value, f.kind, _go_type(f), where)

    def _item(self, value: Any, kind: str, where: _Where) -> Any:
        if kind in MODELS:
            return self._model(value, kind, where)
        return self._scalar(value, kind, kind, where)

    @staticmethod
    def _scalar(value: Any, kind: str, go_type: str, where: _Where) -> Any:
        if kind == "bool":
            if not isinstance(value, bool):
                raise where.error(value, go_type)
            return value
        if kind == "string":
            if not isinstance(value, str):
                raise where.error(value, go_type)
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise where.error(value, go_type)
        if kind == "float64":
            if not math.isfinite(value):  # 1e400: Python reads infinity, Go refuses the number
                raise where.error(value, go_type, literal=True)
            return _go_number(value)
        if not isinstance(value, int) or not _INT32[0] <= value <= _INT32[1]:
            raise where.error(value, go_type, literal=True)
        return value

    # -- encoding: pool -> JSON as Edge-LB writes it ----------------------------------------------
    def encode(self, pool: dict[str, Any]) -> dict[str, Any]:
        return self._encode(pool, "V2Pool")

    def _encode(self, values: dict[str, Any], name: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, f in self.fields(MODELS[name]).items():
            if key not in values:
                continue
            value = values[key]
            if f.omitempty and value in ("", 0, False, {}) and not isinstance(value, list):
                continue
            if f.kind == "model":
                value = self._encode(value, f.of)
            elif f.kind == "list" and f.of in MODELS:
                value = [self._encode(v, f.of) for v in value]
            out[key] = value
        return out

    def read_back(self, pool: dict[str, Any]) -> dict[str, Any]:
        """What a later GET returns: Edge-LB stores the encoded pool and decodes it again."""
        return self.encode(self.decode(self.encode(pool)))
