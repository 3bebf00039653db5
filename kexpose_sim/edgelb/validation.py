"""Edge-LB's validation of a decoded pool: the swagger enums (go-openapi, 422) and
``V2CheckPool``'s semantic checks (400), in Edge-LB's order and with its messages."""

from __future__ import annotations

import re
from typing import Any, Iterator

from kexpose_sim.edgelb.exceptions import EdgeLBError, empty, invalid
from kexpose_sim.edgelb.schema import ENDPOINT_TYPES, PROTOCOLS


def check_enums(pool: dict[str, Any]) -> None:
    """The swagger enums, in the order go-swagger validates them; the first failure wins."""
    for name, value, allowed in _enum_values(pool):
        if value and value not in allowed:
            raise EdgeLBError(422, f"{name} in body should be one of [{' '.join(allowed)}]", code=603)


def _enum_values(pool: dict[str, Any]) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    yield "apiVersion", pool.get("apiVersion", ""), ("V1", "V2")
    haproxy = pool["haproxy"]
    for backend in haproxy["backends"]:
        yield "protocol", backend.get("protocol", ""), PROTOCOLS
        for service in backend["services"]:
            yield "type", service["endpoint"]["type"], ENDPOINT_TYPES
    for frontend in haproxy["frontends"]:
        yield "protocol", frontend.get("protocol", ""), PROTOCOLS


NAME_RE = "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
NAMESPACE_RE = "^[a-z0-9](.*[a-z0-9])?$"
SECRET_FILE_RE = "^[a-zA-Z0-9][a-zA-Z0-9_-]*$"
CERTIFICATE_RE = r"(^\$AUTOCERT$|^(\$ENVFILE|\$SECRETS)/[a-zA-Z0-9_-]+$)"
_CERTIFICATE = re.compile(r"\$AUTOCERT|(\$ENVFILE|\$SECRETS)/[a-zA-Z0-9_-]+")  # Go's $ is Python's \Z


def _matches(pattern: str, value: str) -> bool:
    """Go's ``^…$`` patterns: the whole string, with no trailing newline allowed."""
    return re.fullmatch(pattern.lstrip("^").rstrip("$"), value) is not None


def _name_error(name: str) -> str | None:
    return None if _matches(NAME_RE, name) else f"{name} invalid: did not match {NAME_RE}"


def _namespace_error(namespace: str) -> str | None:
    if namespace == "":
        return None
    if not _matches(NAMESPACE_RE, namespace):
        return f"{namespace} invalid: did not match {NAMESPACE_RE}"
    return next((e for e in map(_name_error, namespace.split("/")) if e), None)


def bind_ports(pool: dict[str, Any]) -> list[int]:
    """The ports each pool instance allocates: ``ports`` if set, else stats plus frontends."""
    if pool["ports"]:
        return list(pool["ports"])
    haproxy = pool["haproxy"]
    return [haproxy["stats"]["bindPort"], *(fe["bindPort"] for fe in haproxy["frontends"])]


def check_pool(pool: dict[str, Any]) -> None:
    """Edge-LB's semantic checks (``V2CheckPool``), in its order, with its messages."""
    name = pool.get("name", "")
    if name == "":
        raise empty("pool.name")
    if error := _name_error(name):
        raise invalid(f"pool.name: {error}")
    if error := _namespace_error(pool["namespace"]):
        raise invalid(f"pool.namespace: {error}")
    _check_bind_ports(pool)
    _check_secrets(pool["secrets"])
    _check_virtual_networks(pool["virtualNetworks"])
    _check_haproxy(pool["haproxy"])


def _check_bind_ports(pool: dict[str, Any]) -> None:
    seen: set[int] = set()
    for port in bind_ports(pool):
        if not 0 <= port <= 65535:
            raise invalid(f"invalid bindPort: {port}")
        if port in seen:
            raise invalid(f"duplicate bindPort: {port}")
        seen.add(port)


def _check_secrets(secrets: list[dict[str, Any]]) -> None:
    names: set[str] = set()
    files: set[str] = set()
    for item in secrets:
        secret, file = item.get("secret", ""), item.get("file", "")
        if secret == "":
            raise empty("pool.secrets.secret")
        if file == "":
            raise empty("pool.secrets.file")
        if not _matches(SECRET_FILE_RE, file):
            raise invalid(f"pool.secrets.file: {file} invalid: did not match {SECRET_FILE_RE}")
        if secret in names:
            raise invalid(f"duplicate secret name: {secret}")
        if file in files:
            raise invalid(f"duplicate secret file: {file}")
        names.add(secret)
        files.add(file)


def _check_virtual_networks(networks: list[dict[str, Any]]) -> None:
    names: set[str] = set()
    for network in networks:
        name = network.get("name", "")
        if name == "":
            raise empty("pool.virtualNetworks.name")
        if name in names:
            raise invalid(f"duplicate virtualNetwork name: {name}")
        names.add(name)


def _check_haproxy(haproxy: dict[str, Any]) -> None:
    referenced: dict[str, None] = {}  # ordered set
    frontend_names: set[str] = set()
    for fe in haproxy["frontends"]:
        if fe["name"] in frontend_names:
            raise invalid(f"duplicate frontend.name: {fe['name']}")
        frontend_names.add(fe["name"])
        link = fe["linkBackend"]
        for backend in [link.get("defaultBackend", ""), *(m.get("backend", "") for m in link["map"])]:
            if backend:
                referenced[backend] = None
    backend_names: dict[str, None] = {}
    for be in haproxy["backends"]:
        name = be.get("name", "")
        if name in backend_names:
            raise invalid(f"duplicate backend.name: {name}")
        backend_names[name] = None
    for fe in haproxy["frontends"]:
        _check_frontend(fe)
    for be in haproxy["backends"]:
        _check_backend(be)
    missing = [b for b in referenced if b not in backend_names]
    if missing:
        raise invalid(f"frontends refer to nonexistent backends: {', '.join(missing)}")
    unused = [b for b in backend_names if b not in referenced]
    if unused:
        raise invalid(f"frontends do not refer to these backends: {', '.join(unused)}")


def _check_frontend(fe: dict[str, Any]) -> None:
    bad = next((c for c in fe.get("bindAddress", "") if c in "*[]"), None)
    if bad:
        raise invalid(f"frontend.bindAddress invalid character: '{bad}'")
    protocol = fe.get("protocol", "")
    if protocol == "":
        raise empty("frontend.protocol")
    if protocol in ("HTTPS", "TLS"):
        if not fe["certificates"]:
            raise invalid(f"frontend.protocol {protocol} must have non-empty frontend.certificates")
        for cert in fe["certificates"]:
            if not _CERTIFICATE.fullmatch(cert):
                raise invalid(f"frontend.certificates: {cert} invalid: did not match {CERTIFICATE_RE}")
    if "redirectToHttps" in fe and protocol != "HTTP":
        raise invalid(f"frontend.redirectToHttps cannot be set with frontend.protocol {protocol}")
    for item in fe["linkBackend"]["map"]:
        if not item.get("backend"):
            raise empty("frontend.linkBackend.map.backend")
        if not any(item.get(k) for k in ("hostEq", "hostReg", "pathBeg", "pathEnd", "pathReg")):
            raise invalid("frontend.linkBackend.map.backend: at least one of the condition fields must be filled out")


def _check_backend(be: dict[str, Any]) -> None:
    if not be.get("name"):
        raise empty("backend.name")
    if not be.get("protocol"):
        raise empty("backend.protocol")
    path = be["rewriteHttp"].get("path")
    if path is not None and path["fromPath"].endswith("/") != path["toPath"].endswith("/"):
        raise invalid(f"backend.rewriteHttp.path: fromPath '{path['fromPath']}' toPath '{path['toPath']}' "
                       "ending mismatch: either both end with '/' or neither end with '/'")
    if not be["services"]:
        raise invalid("backend.services: must have at least 1")
    for service in be["services"]:
        _check_service(service)


def _check_service(service: dict[str, Any]) -> None:
    endpoint = service["endpoint"]
    kind = endpoint["type"]
    if kind == "ADDRESS":
        if not endpoint.get("address"):
            raise empty("server.endpoint.address")
        if endpoint["port"] < 0:
            raise invalid("server.endpoint.type ADDRESS must have valid server.port specified")
        return
    if not endpoint.get("portName") and not endpoint.get("allPorts") and not 0 <= endpoint["port"] <= 65535:
        raise invalid(f"server.endpoint.type {kind} must have valid port, portName, portNamePattern, or true allPorts")
    marathon_error = _marathon_selector_error(service["marathon"])
    mesos_error = _mesos_selector_error(service["mesos"])
    if marathon_error and mesos_error:
        raise invalid(f"server.marathon or server.mesos must be specified, {marathon_error}, {mesos_error}")


def _marathon_selector_error(sel: dict[str, str]) -> str | None:
    if not sel.get("serviceID") and not sel.get("serviceIDPattern"):
        return "server.marathon.serviceID cannot be empty or the empty string"
    return None


def _mesos_selector_error(sel: dict[str, str]) -> str | None:
    if not any(sel.get(k) for k in ("frameworkName", "frameworkNamePattern", "frameworkID", "frameworkIDPattern")):
        return "server.mesos.FrameworkName and server.mesos.FrameworkID cannot be empty or the empty string"
    if not any(sel.get(k) for k in ("taskName", "taskNamePattern", "taskID", "taskIDPattern")):
        return "server.mesos.TaskName and server.mesos.TaskID cannot be empty or the empty string"
    return None


def namespace_change_error(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    if old["namespace"] == new["namespace"]:
        return None
    return (f"changing namespace currently not supported: please uninstall pool {old['name']} with namespace "
            f"{old['namespace']}, wait for the pool to completely uninstall, and then re-install pool "
            f"{new['name']} with the new namespace {new['namespace']}")

