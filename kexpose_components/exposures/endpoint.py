"""What every exposure hands back: how clients reach one cluster through it (feeds the kubeconfig
and the stack outputs), and the probe that proved it works."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from kexpose_components import naming
from kexpose_components.config import ClusterSettings, ExposureBase
from kexpose_components.probe import SYSTEM_TRUST
from kexpose_components.resources.exposure_probe import ExposureProbe


@dataclass(frozen=True)
class Endpoint:
    """One cluster reached through one exposure."""

    exposure: str
    service: str
    url: str  # https://<domain or agent>:<port> (see urlHost)
    host: str  # where to connect (a public agent)
    server_name: str  # SNI / tls-server-name
    ca_pem: pulumi.Input[str] | None  # what clients should trust; None: see ``insecure``
    context_name: str
    probe: ExposureProbe
    insecure: bool = True  # with no CA: clients skip verification; False: their own trust store verifies

    @property
    def key(self) -> str:
        """``<exposure>/<service>``: how outputs name this endpoint."""
        return f"{self.exposure}/{self.service}"


def probed_endpoint(name: str, settings: ExposureBase, cluster: ClusterSettings, ca_pem: pulumi.Input[str] | None,
                    revision: pulumi.Input[str], opts: pulumi.ResourceOptions, server_name: str | None = None,
                    system_trust: bool = False, fingerprint: pulumi.Input[str] | None = None) -> Endpoint:
    """The endpoint for ``cluster`` with the ExposureProbe that checks it once ``opts``' dependencies are up.
    ``server_name`` is the name clients verify (SNI, ``tls-server-name``): the domain, else the agent.
    ``system_trust``: no CA to hand clients, their trust store verifies the chain (a public CA's).
    ``fingerprint``: the certificate the probe must see served (after a rotation: the new one)."""
    host = settings.agents[0]
    server_name = server_name or cluster.domain or host
    url = f"https://{cluster.domain if cluster.domain and settings.url_host == 'domain' else host}:{settings.port}"
    # Named after what clients verify (the domain), so clusters sharing one address stay apart.
    context = naming.context_name(f"https://{cluster.domain or host}:{settings.port}")
    if settings.context_name:
        several = len(settings.clusters) > 1
        context = f"{settings.context_name}-{naming.flat_name(cluster.service)}" if several else settings.context_name
    probe = ExposureProbe(name, host=host, port=settings.port, server_name=server_name,
                          ca_pem=SYSTEM_TRUST if system_trust else ca_pem, revision=revision, fingerprint=fingerprint,
                          opts=opts)
    return Endpoint(settings.name, cluster.service, url, host, server_name, ca_pem, context, probe,
                    insecure=ca_pem is None and not system_trust)


class Exposure(pulumi.ComponentResource):
    """Base of the exposure components: declared outputs, registered once the endpoints exist."""

    urls: pulumi.Output[dict[str, str]]
    contexts: pulumi.Output[dict[str, str]]
    endpoints: list[Endpoint]
    stats: dict[str, pulumi.Input[str]] | None = None  # a stats page's url, user and secret password, if any

    def _register(self, endpoints: list[Endpoint]) -> None:
        self.endpoints = endpoints
        self.urls = pulumi.Output.from_input({e.service: e.url for e in endpoints})
        self.contexts = pulumi.Output.from_input({e.service: e.context_name for e in endpoints})
        self.register_outputs({"urls": self.urls, "contexts": self.contexts})
