"""``EdgeLbExposure``: clusters exposed through an Edge-LB V2 pool whose backends select each
framework's ``kube-apiserver`` task by port name ``apiserver``; stats bound to 127.0.0.1 unless
exposed on purpose.

quick (the seeds' pool): one cluster, ``$AUTOCERT`` (Edge-LB's own self-signed certificate), which
clients cannot verify.
trusted: per cluster domain a certificate from kexpose's CA (or the user's own), bundled as HAProxy
reads it (certificate, key, chain) and stored as the DC/OS secret ``<secretsPath>/<service>``; the
pool names every bundle in ``secrets`` and on one HTTPS frontend (HAProxy picks the certificate by
SNI) and routes each domain to its cluster with ``linkBackend.map`` ``hostEq``, which Edge-LB
renders for an HTTPS frontend as ``use_backend … if { ssl_fc_sni <domain> }``. A renewed
certificate changes only a secret's value, never the pool (its ``secrets`` list names paths), so
Edge-LB takes it up by reloading HAProxy: open streams stay, and the probe waits for the new
certificate's fingerprint.
"""

from __future__ import annotations

from typing import Any

import pulumi

from kexpose_components import naming
from kexpose_components.config import ClusterSettings, EdgeLbSettings, Mode
from kexpose_components.exposures.balancer import Balancer, BalancerExposure, digest
from kexpose_components.exposures.endpoint import Exposure, probed_endpoint
from kexpose_components.exposures.shared import SharedInputs, deployment_options
from kexpose_components.exposures.trust import Issuer, trusted_certificate
from kexpose_components.ownership import label_pool, pool_name_of
from kexpose_components.resources.dcos_secret import DcosSecret
from kexpose_components.resources.edgelb_pool import EdgeLBPool

TYPE_TOKEN = "kexpose:exposure:EdgeLb"


def _backend(name: str, service: str, settings: EdgeLbSettings) -> dict[str, Any]:
    t = settings.timeouts
    return {"name": name, "protocol": "HTTPS",
            "services": [{"mesos": {"frameworkName": service, "taskNamePattern": "kube-apiserver"},
                          "endpoint": {"portName": "apiserver"}}],
            "miscStrs": [f"timeout server {t.server}", f"timeout tunnel {t.tunnel}"]}


def _pool(settings: EdgeLbSettings, frontend: dict[str, Any], backends: list[dict[str, Any]],
          **pool_level: Any) -> dict[str, Any]:
    return {
        "apiVersion": "V2", "name": pool_name_of(settings), "count": 1, **pool_level,
        "haproxy": {
            "frontends": [{"bindPort": settings.port, "protocol": "HTTPS",
                           "miscStrs": [f"timeout client {settings.timeouts.client}"], **frontend}],
            "backends": backends,
            "stats": {"bindPort": settings.stats_port, "bindAddress": settings.stats_bind_address},
        },
    }


def edgelb_pool(settings: EdgeLbSettings, service: str) -> dict[str, Any]:
    """quick mode's pool: ``$AUTOCERT`` and one backend."""
    return _pool(settings, {"certificates": ["$AUTOCERT"], "linkBackend": {"defaultBackend": "kubernetes-apiserver"}},
                 [_backend("kubernetes-apiserver", service, settings)], autoCertificate=True)


def secrets_path(settings: EdgeLbSettings) -> str:
    """Where the exposure's certificate bundles live in the secret store: ``secretsPath`` or ``kexpose/<name>``."""
    return (settings.secrets_path or f"kexpose/{settings.name}").strip("/")


def trusted_pool(settings: EdgeLbSettings, clusters: list[ClusterSettings]) -> dict[str, Any]:
    """trusted mode's pool: a secret per cluster, every certificate on one frontend, SNI routing."""
    files = [naming.flat_name(c.service) for c in clusters]
    return _pool(
        settings,
        {"certificates": [f"$SECRETS/{f}" for f in files],
         "linkBackend": {"map": [{"hostEq": c.domain.lower(), "backend": f"apiserver-{f}"} for c, f in zip(clusters, files)]}},
        [_backend(f"apiserver-{f}", c.service, settings) for c, f in zip(clusters, files)],
        autoCertificate=False, secrets=[{"secret": f"{secrets_path(settings)}/{f}", "file": f} for f in files])


class EdgeLbExposure(BalancerExposure):
    balancer = Balancer(TYPE_TOKEN, edgelb_pool, label_pool, EdgeLBPool, "pool", pool_name_of)


class TrustedEdgeLbExposure(Exposure):
    """Certificates -> one DcosSecret per cluster -> the pool (after its secrets) -> a probe per
    cluster that verifies the chain and the certificate's fingerprint."""

    def __init__(self, settings: EdgeLbSettings, clusters: list[ClusterSettings], shared: SharedInputs,
                 opts: pulumi.ResourceOptions | None = None):
        name = settings.name
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        issuer = Issuer(name, settings.issuing_ca, child)
        definition = label_pool(trusted_pool(settings, clusters), shared.owner)
        leaves, trusts, stored = [], [], []
        for cluster, item in zip(clusters, definition["secrets"]):
            leaf, trust = trusted_certificate(name, cluster, child, issuer, settings.renew_before_days)
            stored.append(DcosSecret(f"{name}-{item['file']}-secret", connection=shared.connection, path=item["secret"],
                                     value=leaf.bundle_pem, adopt=settings.adopt, setting=f"{settings.key}.secretsPath",
                                     opts=child))
            leaves.append(leaf)
            trusts.append(trust)
        self.pool = EdgeLBPool(f"{name}-pool", connection=shared.connection, adopt=settings.adopt, pool=definition,
                               opts=deployment_options(settings, self, depends_on=stored,
                                                       **shared.takeover(settings, pool_name_of(settings))))
        probe_opts = pulumi.ResourceOptions(parent=self, depends_on=[self.pool, *stored])
        revision = digest(definition)
        self._register([probed_endpoint(f"{name}-{naming.flat_name(c.service)}-probe", settings, c, t.ca_pem, revision,
                                        probe_opts, system_trust=t.system, fingerprint=leaf.fingerprint_sha256)
                        for c, leaf, t in zip(clusters, leaves, trusts)])


def edge_lb_exposure(settings: EdgeLbSettings, clusters: list[ClusterSettings], shared: SharedInputs,
                     opts: pulumi.ResourceOptions | None = None) -> Exposure:
    """The component for the exposure's mode."""
    component = TrustedEdgeLbExposure if settings.mode is Mode.TRUSTED else EdgeLbExposure
    return component(settings, clusters, shared, opts)
