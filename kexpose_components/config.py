"""The stack configuration (``stacks/Pulumi.<stack>.yaml``, namespace ``kexpose:``), typed and validated.

Every problem names the key and shows a right value, and all problems are reported at once, before
any resource is registered. Secrets (``dcosPassword``, ``dcosToken``, ``dcosPrivateKey``) are read
only as secret Outputs; see the README's config reference for every key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from kexpose_components import naming
from kexpose_components.haproxy_config import Timeouts

MARATHON_LB_PORTS = {80, 443, 9090, 9091, *range(10000, 10151)}
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
HOST = re.compile(r"^[A-Za-z0-9.:-]+$")
DURATION = re.compile(r"^\d+(ms|s|m|h|d)$")
METHODS = ("haproxy", "marathon-lb", "edge-lb")
TIMEOUT_KEYS = ("connect", "client", "server", "tunnel")


class ConfigError(Exception):
    """Wrong or missing stack config; the message lists every problem with a fix."""


@dataclass(frozen=True)
class DcosSettings:
    url: str
    uid: str | None = None
    verify: bool = True
    ca_bundle_file: str | None = None
    marathon_path: str = "/service/marathon"
    edgelb_path: str = "/service/edgelb"


@dataclass(frozen=True)
class ClusterSettings:
    service: str
    domain: str | None = None
    ca_source: str = "cluster"  # cluster | file
    ca_file: str | None = None


@dataclass(frozen=True)
class SshSettings:
    user: str = "core"
    port: int = 22
    private_key_file: str = ""
    known_hosts_file: str = ""


@dataclass(frozen=True)
class ExposureSettings:
    name: str
    method: str
    clusters: tuple[str, ...]
    port: int
    agents: tuple[str, ...] = ()  # public agents the exposure is reached on
    # standalone HAProxy
    mode: str = "trusted"  # quick | trusted
    directory: str = "/opt/kexpose/haproxy"
    ssh: SshSettings | None = None
    insecure_backend: bool = False
    image: str = "haproxy:2.8"
    bind_options: str = ""
    # Marathon-LB
    group: str = "external"
    verify_backend: bool = True
    ca_bundle_path: str = "/mnt/mesos/sandbox/.ssl/ca-bundle.crt"
    # Edge-LB
    pool_name: str | None = None
    stats_port: int | None = None
    stats_bind_address: str = "127.0.0.1"
    timeouts: Timeouts = field(default_factory=Timeouts)
    context_name: str | None = None
    insecure_skip_tls_verify: bool = False
    url_host: str = "domain"  # domain: https://<domain>:<port>; agent: https://<agent>:<port> + tls-server-name


@dataclass(frozen=True)
class KubeconfigSettings:
    path: str | None = None
    activate: bool = False


@dataclass(frozen=True)
class StackSettings:
    dcos: DcosSettings
    clusters: dict[str, ClusterSettings]
    exposures: tuple[ExposureSettings, ...]
    kubeconfig: KubeconfigSettings
    auth: str  # token | password | service-account | none


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(f"kexpose:{key}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError("the stack configuration has problems:\n  - " + "\n  - ".join(self.items))


def _obj(value: Any, key: str, problems: _Problems, example: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(key, f"must be an object, e.g. {example}")
        return {}
    return value


def _int(value: Any, key: str, problems: _Problems, example: int, lo: int = 1, hi: int = 65535) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        problems.add(key, f"must be a whole number from {lo} to {hi}, e.g. {example}")
        return example
    return value


def _unknown(data: dict[str, Any], allowed: set[str], key: str, problems: _Problems) -> None:
    for k in sorted(set(data) - allowed):
        problems.add(f"{key}.{k}", f"is not a known key (known: {', '.join(sorted(allowed))})")


def parse(raw: dict[str, Any], secrets_present: set[str]) -> StackSettings:
    """Validate raw config values (``kexpose:`` keys without the prefix)."""
    problems = _Problems()
    dcos = _parse_dcos(raw.get("dcos"), problems)
    auth = _auth_mode(dcos, secrets_present, problems)
    clusters = _parse_clusters(raw.get("clusters"), problems)
    exposures = _parse_exposures(raw.get("exposures"), clusters, problems)
    kube = _obj(raw.get("kubeconfig"), "kubeconfig", problems, '{"path": "~/.kube/config", "activate": false}')
    _unknown(kube, {"path", "activate"}, "kubeconfig", problems)
    problems.raise_if_any()
    return StackSettings(dcos, clusters, exposures, KubeconfigSettings(kube.get("path"), bool(kube.get("activate", False))), auth)


def _parse_dcos(value: Any, problems: _Problems) -> DcosSettings:
    data = _obj(value, "dcos", problems, '{"url": "https://dcos.example.com", "uid": "kexpose"}')
    _unknown(data, {"url", "uid", "verify", "caBundleFile", "marathonPath", "edgelbPath"}, "dcos", problems)
    url = data.get("url")
    if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+", url):
        problems.add("dcos.url", "is required: the DC/OS cluster URL, e.g. https://dcos.example.com")
        url = "http://invalid"
    if url.startswith("http://") and data.get("verify", True) and not re.match(r"^http://(127\.|localhost)", url):
        problems.add("dcos.url", "uses plain http to a remote host: use https (or set dcos.verify: false knowingly)")
    ca_file = data.get("caBundleFile")
    if ca_file is not None and (not isinstance(ca_file, str) or not Path(ca_file).expanduser().is_file()):
        problems.add("dcos.caBundleFile", f"file {ca_file!r} does not exist: give the PEM of the CA that signs the cluster's certificate")
    if not isinstance(data.get("verify", True), bool):
        problems.add("dcos.verify", "must be true or false (false turns TLS verification off)")
    return DcosSettings(url=url, uid=data.get("uid"), verify=data.get("verify", True) is not False,
                        ca_bundle_file=ca_file if isinstance(ca_file, str) else None,
                        marathon_path=data.get("marathonPath", "/service/marathon"),
                        edgelb_path=data.get("edgelbPath", "/service/edgelb"))


def _auth_mode(dcos: DcosSettings, secrets: set[str], problems: _Problems) -> str:
    if "dcosToken" in secrets:
        return "token"
    if "dcosPassword" in secrets or "dcosPrivateKey" in secrets:
        if not dcos.uid:
            problems.add("dcos.uid", "is required with dcosPassword or dcosPrivateKey, e.g. \"kexpose\"")
        return "password" if "dcosPassword" in secrets else "service-account"
    return "none"


def _parse_clusters(value: Any, problems: _Problems) -> dict[str, ClusterSettings]:
    if not isinstance(value, list) or not value:
        problems.add("clusters", 'must list the Kubernetes services to expose, e.g. [{"service": "dev/kubernetes01", "domain": "devkubernetes01.example.com"}]')
        return {}
    out: dict[str, ClusterSettings] = {}
    for i, item in enumerate(value):
        key = f"clusters[{i}]"
        data = _obj(item, key, problems, '{"service": "kubernetes"}')
        _unknown(data, {"service", "domain", "ca", "caFile"}, key, problems)
        service = data.get("service")
        if not isinstance(service, str) or not naming.service_name(service) or not re.match(r"^[a-z0-9/][a-z0-9/.-]*$", service):
            problems.add(f"{key}.service", 'must be a DC/OS service name, e.g. "kubernetes" or "dev/kubernetes01"')
            continue
        service = naming.service_name(service)
        domain = data.get("domain")
        if domain is not None and (not isinstance(domain, str) or not DOMAIN.match(domain)):
            problems.add(f"{key}.domain", f"{domain!r} is not a DNS name, e.g. \"{naming.flat_name(service)}.example.com\"")
        source = data.get("ca", "cluster")
        if source not in ("cluster", "file"):
            problems.add(f"{key}.ca", '"cluster" (fetch ca-crt.pem from the control-plane task) or "file" (with caFile)')
        ca_file = data.get("caFile")
        if source == "file" and (not isinstance(ca_file, str) or not Path(ca_file).expanduser().is_file()):
            problems.add(f"{key}.caFile", f"file {ca_file!r} does not exist: the cluster's CA PEM, e.g. from "
                                           f"`dcos task exec {naming.control_plane_task(service)} cat ca-crt.pem`")
        if service in out:
            problems.add(f"{key}.service", f"{service} is listed twice")
        out[service] = ClusterSettings(service, domain, source, ca_file)
    return out


def _parse_exposures(value: Any, clusters: dict[str, ClusterSettings], problems: _Problems) -> tuple[ExposureSettings, ...]:
    if not isinstance(value, list) or not value:
        problems.add("exposures", 'must list at least one exposure, e.g. [{"name": "public", "method": "haproxy", "clusters": ["kubernetes"], "port": 6443, "agents": ["10.0.0.7"]}]')
        return ()
    out = []
    names: set[str] = set()
    bound: dict[tuple[str, int], str] = {}
    for i, item in enumerate(value):
        exposure = _parse_exposure(item, f"exposures[{i}]", clusters, problems)
        if exposure is None:
            continue
        if exposure.name in names:
            problems.add(f"exposures[{i}].name", f"{exposure.name!r} is used twice")
        names.add(exposure.name)
        for agent in exposure.agents:
            other = bound.get((agent, exposure.port))
            if other:
                problems.add(f"exposures[{i}].port", f"{exposure.port} on {agent} is already used by exposure {other!r}")
            bound[(agent, exposure.port)] = exposure.name
        out.append(exposure)
    return tuple(out)


_EXPOSURE_KEYS = {"name", "method", "clusters", "cluster", "port", "agents", "mode", "directory", "ssh", "insecureBackend",
                  "image", "group", "verifyBackend", "caBundlePath", "poolName", "statsPort", "statsBindAddress", "timeouts",
                  "contextName", "insecureSkipTlsVerify", "urlHost", "bindOptions"}


def _parse_exposure(item: Any, key: str, clusters: dict[str, ClusterSettings], problems: _Problems) -> ExposureSettings | None:
    data = _obj(item, key, problems, '{"name": "public", "method": "haproxy", ...}')
    if not data:
        return None
    _unknown(data, _EXPOSURE_KEYS, key, problems)
    name = data.get("name")
    if not isinstance(name, str) or not re.match(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", name):
        problems.add(f"{key}.name", 'must be lowercase letters, digits and "-", e.g. "public"')
        name = f"exposure-{key}"
    method = data.get("method")
    if method not in METHODS:
        problems.add(f"{key}.method", f'must be one of {", ".join(METHODS)}, e.g. "haproxy"')
        return None
    listed = data.get("clusters", [data["cluster"]] if "cluster" in data else None)
    if not isinstance(listed, list) or not listed or not all(isinstance(c, str) for c in listed):
        problems.add(f"{key}.clusters", 'must list the services this exposure serves, e.g. ["dev/kubernetes01"]')
        listed = []
    services = tuple(naming.service_name(c) for c in listed)
    for c in services:
        if c not in clusters:
            problems.add(f"{key}.clusters", f"{c!r} is not in kexpose:clusters (add it there first)")
    if method != "haproxy" and len(services) > 1:
        problems.add(f"{key}.clusters", f"{method} exposes one cluster per exposure; split it into one exposure each")
    port = _int(data.get("port"), f"{key}.port", problems, 6443)
    if method == "marathon-lb" and port in MARATHON_LB_PORTS:
        problems.add(f"{key}.port", f"{port} is taken by Marathon-LB itself (80, 443, 9090, 9091, 10000-10150); use e.g. 6443")
    agents = data.get("agents", [])
    if not isinstance(agents, list) or not all(isinstance(a, str) and HOST.match(a) for a in agents):
        problems.add(f"{key}.agents", 'must list public agent addresses, e.g. ["10.0.0.7"]')
        agents = []
    if not agents:
        problems.add(f"{key}.agents", 'must list the public agent(s) serving this exposure, e.g. ["10.0.0.7"]')
    mode = data.get("mode", "trusted")
    ssh = None
    if method == "haproxy":
        if mode not in ("quick", "trusted"):
            problems.add(f"{key}.mode", '"quick" (self-signed wildcard, one cluster) or "trusted" (per-domain certificates, SNI)')
        if mode == "quick" and len(services) != 1:
            problems.add(f"{key}.clusters", "quick mode exposes exactly one cluster; use mode: trusted for several behind SNI")
        if mode == "trusted":
            for c in services:
                if c in clusters and not clusters[c].domain:
                    problems.add(f"{key}.clusters", f"trusted mode routes by domain (SNI): set kexpose:clusters[…].domain for {c}")
        directory = data.get("directory", "/opt/kexpose/haproxy")
        if not isinstance(directory, str) or not directory.startswith("/"):
            problems.add(f"{key}.directory", 'must be an absolute path on the agents, e.g. "/opt/kexpose/haproxy"')
        ssh = _parse_ssh(data.get("ssh"), f"{key}.ssh", problems)
    for flag in ("insecureBackend", "verifyBackend", "insecureSkipTlsVerify"):
        if flag in data and not isinstance(data[flag], bool):
            problems.add(f"{key}.{flag}", "must be true or false")
    timeouts = _obj(data.get("timeouts"), f"{key}.timeouts", problems, '{"client": "86400s"}')
    _unknown(timeouts, set(TIMEOUT_KEYS), f"{key}.timeouts", problems)
    for tkey, tval in timeouts.items():
        if not isinstance(tval, str) or not DURATION.match(tval):
            problems.add(f"{key}.timeouts.{tkey}", f'{tval!r} is not a duration like "30s", "15m" or "86400s"')
    url_host = data.get("urlHost", "domain")
    if url_host not in ("domain", "agent"):
        problems.add(f"{key}.urlHost", '"domain" (URL uses the cluster\'s domain; DNS must point it at the agent) or "agent" (URL uses the agent address; kubeconfig sets tls-server-name)')
    stats_port = data.get("statsPort")
    if method == "edge-lb":
        stats_port = _int(stats_port if stats_port is not None else port + 1, f"{key}.statsPort", problems, 6090)
        if stats_port == port:
            problems.add(f"{key}.statsPort", "must differ from port")
    return ExposureSettings(
        name=name, method=method, clusters=services, port=port, agents=tuple(agents), mode=mode,
        directory=data.get("directory", "/opt/kexpose/haproxy"), ssh=ssh, insecure_backend=bool(data.get("insecureBackend", False)),
        image=data.get("image", "haproxy:2.8"), bind_options=str(data.get("bindOptions", "")),
        group=data.get("group", "external"),
        verify_backend=data.get("verifyBackend", True) is not False,
        ca_bundle_path=data.get("caBundlePath", "/mnt/mesos/sandbox/.ssl/ca-bundle.crt"),
        pool_name=data.get("poolName"), stats_port=stats_port, stats_bind_address=data.get("statsBindAddress", "127.0.0.1"),
        timeouts=Timeouts(**{k: v for k, v in timeouts.items() if k in TIMEOUT_KEYS and isinstance(v, str)}),
        context_name=data.get("contextName"), insecure_skip_tls_verify=bool(data.get("insecureSkipTlsVerify", False)),
        url_host=url_host,
    )


def _parse_ssh(value: Any, key: str, problems: _Problems) -> SshSettings:
    data = _obj(value, key, problems, '{"user": "core", "privateKeyFile": "~/.ssh/id_ed25519", "knownHostsFile": "~/.ssh/known_hosts"}')
    _unknown(data, {"user", "port", "privateKeyFile", "knownHostsFile"}, key, problems)
    for k, what in (("privateKeyFile", "the SSH private key for the agents"), ("knownHostsFile", "the agents' host keys (known_hosts)")):
        path = data.get(k)
        if not isinstance(path, str) or not Path(path).expanduser().is_file():
            problems.add(f"{key}.{k}", f"is required: a file with {what}, e.g. \"~/.ssh/{'id_ed25519' if k == 'privateKeyFile' else 'known_hosts'}\"")
    def path(k: str) -> str:
        value = data.get(k)
        return str(Path(value).expanduser()) if isinstance(value, str) else ""

    user = data.get("user", "core")
    if not isinstance(user, str) or not user:
        problems.add(f"{key}.user", 'must be the agents\' SSH user, e.g. "core"')
    return SshSettings(user=user if isinstance(user, str) else "core",
                       port=_int(data.get("port", 22), f"{key}.port", problems, 22),
                       private_key_file=path("privateKeyFile"), known_hosts_file=path("knownHostsFile"))


SECRET_KEYS = ("dcosPassword", "dcosToken", "dcosPrivateKey")


def load() -> StackSettings:
    """Read and validate the current stack's ``kexpose:`` config (raises ConfigError)."""
    config = pulumi.Config("kexpose")
    raw = {k: config.get_object(k) for k in ("dcos", "clusters", "exposures", "kubeconfig")}
    present = {k for k in SECRET_KEYS if pulumi.runtime.get_config(f"kexpose:{k}") is not None}
    return parse(raw, present)


def secret(key: str) -> pulumi.Output[str] | None:
    """A secret config value as a secret Output (never read as plain text)."""
    if pulumi.runtime.get_config(f"kexpose:{key}") is None:
        return None
    return pulumi.Config("kexpose").require_secret(key)
