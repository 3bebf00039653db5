"""The kexpose program: the stack's ``kexpose:`` config in, exposures, kubeconfig and endpoints out."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse
from typing import Any

import pulumi
import yaml

from kexpose_components import config as stack_config
from kexpose_components.config import StackSettings
from kexpose_components.exposures import EdgeLbExposure, Endpoint, MarathonLbExposure
from kexpose_components.kubeconfig import KubeEntry, entries_to_config, write_merged
from kexpose_components.resources.kubernetes_ca import KubernetesCA


def connection(settings: StackSettings) -> pulumi.Output[dict[str, Any]]:
    """The DC/OS connection as one secret Output (credentials never leave secret Outputs)."""
    d = settings.dcos
    base: dict[str, Any] = {"url": d.url, "uid": d.uid, "verify": d.verify, "marathon_path": d.marathon_path,
                            "edgelb_path": d.edgelb_path}
    if d.ca_bundle_file:
        base["ca_bundle"] = Path(d.ca_bundle_file).expanduser().read_text()
    secrets = {"token": stack_config.secret("dcosToken"), "password": stack_config.secret("dcosPassword"),
               "private_key": stack_config.secret("dcosPrivateKey")}
    present = {k: v for k, v in secrets.items() if v is not None}
    if not present:  # an open cluster, or credentials from KEXPOSE_DCOS_* (see DcosConnection.with_environment)
        return pulumi.Output.secret(base)
    return pulumi.Output.secret(pulumi.Output.all(**present).apply(lambda vals: {**base, **vals}))


def cluster_cas(settings: StackSettings, conn: pulumi.Output, services: set[str]) -> dict[str, pulumi.Input[str]]:
    """Each cluster's CA PEM: fetched from its control-plane task, or read from the given file."""
    out: dict[str, pulumi.Input[str]] = {}
    for service in sorted(services):
        cluster = settings.clusters[service]
        if cluster.ca_source == "file":
            out[service] = Path(cluster.ca_file).expanduser().read_text()
        else:
            out[service] = KubernetesCA(f"ca-{service.replace('/', '.')}", connection=conn, service=service).ca_pem
    return out


def kubeconfig_yaml(endpoints: list[Endpoint]) -> pulumi.Output[str]:
    cas = [e.ca_pem if e.ca_pem is not None else "" for e in endpoints]

    def build(resolved: list[str]) -> str:
        entries = []
        for e, ca in zip(endpoints, resolved):
            url_host = urlparse(e.url).hostname
            sni = e.server_name if url_host != e.server_name else None  # URL is an address, cert names a domain
            entries.append(KubeEntry(e.context_name, e.url, ca or None, sni))
        return yaml.safe_dump(entries_to_config(entries), sort_keys=False)

    return pulumi.Output.all(*cas).apply(build)


def run() -> None:
    try:
        settings = stack_config.load()
    except stack_config.ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None
    conn = connection(settings)
    endpoints: list[Endpoint] = []
    haproxy = [e for e in settings.exposures if e.method == "haproxy"]
    cas = cluster_cas(settings, conn, {s for e in haproxy if not e.insecure_backend for s in e.clusters})
    for exposure in settings.exposures:
        clusters = [settings.clusters[s] for s in exposure.clusters]
        if exposure.method == "marathon-lb":
            component = MarathonLbExposure(exposure.name, exposure, clusters[0], conn)
        elif exposure.method == "edge-lb":
            component = EdgeLbExposure(exposure.name, exposure, clusters[0], conn)
        else:
            from kexpose_components.haproxy_exposure import HaproxyExposure

            component = HaproxyExposure(exposure.name, exposure, clusters, conn, cas)
        endpoints.extend(component.endpoints)
    pulumi.export("endpoints", {f"{e.exposure}/{e.service}": e.url for e in endpoints})
    pulumi.export("contexts", {f"{e.exposure}/{e.service}": e.context_name for e in endpoints})
    pulumi.export("probes", {f"{e.exposure}/{e.service}": {"latency_ms": e.probe.latency_ms, "verified": e.probe.verified,
                                                          "not_after": e.probe.not_after} for e in endpoints})
    kubeconfig = kubeconfig_yaml(endpoints)
    pulumi.export("kubeconfig", kubeconfig)
    if settings.kubeconfig.path and not pulumi.runtime.is_dry_run():
        activate = endpoints[0].context_name if settings.kubeconfig.activate and endpoints else None
        kubeconfig.apply(lambda text: write_merged(settings.kubeconfig.path, yaml.safe_load(text), activate))
