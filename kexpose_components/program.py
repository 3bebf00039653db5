"""The kexpose program: the stack's ``kexpose:`` config in, exposures, kubeconfig and endpoints out."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pulumi
import yaml

from kexpose_components import config as stack_config
from kexpose_components import preflight
from kexpose_components.config import HaproxySettings, StackSettings
from kexpose_components.errors import KexposeError
from kexpose_components.exposures import Endpoint, SharedInputs, build
from kexpose_components.kubeconfig import KubeEntry, entries_to_config
from kexpose_components.ownership import current_owner
from kexpose_components.resources.kubeconfig_entries import KubeconfigEntries
from kexpose_components.resources.kubernetes_ca import KubernetesCA

#: The secret each way of logging in reads, and the connection field it fills.
CREDENTIALS = {"token": ("dcosToken", "token"), "password": ("dcosPassword", "password"),
               "service-account": ("dcosPrivateKey", "private_key")}


def _connection_base(settings: StackSettings) -> dict[str, Any]:
    d = settings.dcos
    base: dict[str, Any] = {"url": d.url, "uid": d.uid, "verify": d.verify, "marathon_path": d.marathon_path,
                            "edgelb_path": d.edgelb_path}
    if d.ca_bundle_file:
        base["ca_bundle"] = Path(d.ca_bundle_file).read_text()
    return base


def connection(settings: StackSettings) -> pulumi.Output[dict[str, Any]]:
    """The DC/OS connection as one secret Output (credentials never leave secret Outputs)."""
    base = _connection_base(settings)
    if settings.auth == "none":  # an open cluster (dcos.auth: none): nothing to log in with
        return pulumi.Output.secret(base)
    key, field = CREDENTIALS[settings.auth]
    secret = stack_config.secret(key)
    if secret is None:  # given as KEXPOSE_DCOS_* instead: the session reads it there, state never holds it
        return pulumi.Output.secret(base)
    return pulumi.Output.secret(secret.apply(lambda value: {**base, field: value}))


def cluster_cas(settings: StackSettings, conn: pulumi.Output, services: set[str]) -> dict[str, pulumi.Input[str]]:
    """Each cluster's CA PEM: fetched from its control-plane task, or read from the given file."""
    out: dict[str, pulumi.Input[str]] = {}
    for service in sorted(services):
        cluster = settings.cluster(service)
        if cluster.ca_source == "file":
            out[service] = Path(cluster.ca_file).read_text()
        else:
            out[service] = KubernetesCA(f"ca-{service.replace('/', '.')}", connection=conn, service=service).ca_pem
    return out


def kubeconfig_yaml(endpoints: list[Endpoint]) -> pulumi.Output[str]:
    cas = [e.ca_pem if e.ca_pem is not None else "" for e in endpoints]

    def build_config(resolved: list[str]) -> str:
        entries = []
        for e, ca in zip(endpoints, resolved):
            url_host = urlparse(e.url).hostname
            sni = e.server_name if url_host != e.server_name else None  # URL is an address, cert names a domain
            entries.append(KubeEntry(e.context_name, e.url, ca or None, sni, insecure=e.insecure))
        return yaml.safe_dump(entries_to_config(entries), sort_keys=False)

    return pulumi.Output.all(*cas).apply(build_config)


def preflight_check(settings: StackSettings, owner: str) -> frozenset[str]:
    """The read-only checks of :mod:`kexpose_components.preflight`, before any resource exists;
    returns the ids of the apps and pools that exist (what ``adopt`` takes over by import).

    The credential is read in plain text here, inside the program, only to log in for the
    checks; it is never printed, exported or put in state this way."""
    plain = _connection_base(settings)
    if settings.auth != "none":
        key, field = CREDENTIALS[settings.auth]
        plain[field] = pulumi.runtime.get_config(f"kexpose:{key}")  # None: KEXPOSE_DCOS_* (the session reads it)
    found, existing = preflight.run(settings, plain, owner, {i: e.adopt for i, e in enumerate(settings.exposures)})
    if found:
        raise pulumi.RunError("the cluster does not fit the stack configuration (preflight):\n  - " + "\n  - ".join(found))
    return existing


def run() -> None:
    try:
        settings = stack_config.load()
    except KexposeError as exc:
        raise pulumi.RunError(str(exc)) from None
    owner = current_owner()
    existing = preflight_check(settings, owner) if settings.preflight else None
    conn = connection(settings)
    verified = {s for e in settings.exposures if isinstance(e, HaproxySettings) and not e.insecure_backend
                for s in e.clusters}
    shared = SharedInputs(conn, cluster_cas(settings, conn, verified), owner, existing)
    components = [build(e, [settings.cluster(s) for s in e.clusters], shared) for e in settings.exposures]
    endpoints = [endpoint for component in components for endpoint in component.endpoints]
    stats = {e.name: c.stats for e, c in zip(settings.exposures, components) if c.stats}
    if stats:
        pulumi.export("stats", stats)  # the passwords stay secret outputs
    pulumi.export("endpoints", {e.key: e.url for e in endpoints})
    pulumi.export("contexts", {e.key: e.context_name for e in endpoints})
    pulumi.export("probes", {e.key: {"latency_ms": e.probe.latency_ms, "verified": e.probe.verified,
                                     "not_after": e.probe.not_after} for e in endpoints})
    kubeconfig = kubeconfig_yaml(endpoints)
    pulumi.export("kubeconfig", kubeconfig)
    if settings.kubeconfig.path:
        activate = endpoints[0].context_name if settings.kubeconfig.activate and endpoints else None
        KubeconfigEntries("kubeconfig", str(Path(settings.kubeconfig.path).expanduser()), kubeconfig, activate)
