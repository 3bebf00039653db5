"""``EdgeLbExposure``: a cluster exposed through an Edge-LB V2 pool selecting the framework's
``kube-apiserver`` task by port name ``apiserver`` (``$AUTOCERT``: Edge-LB's own certificate);
stats bound to 127.0.0.1 unless exposed on purpose."""

from __future__ import annotations

from typing import Any

from kexpose_components.config import EdgeLbSettings
from kexpose_components.exposures.balancer import Balancer, BalancerExposure
from kexpose_components.ownership import label_pool, pool_name_of
from kexpose_components.resources.edgelb_pool import EdgeLBPool


def edgelb_pool(settings: EdgeLbSettings, service: str) -> dict[str, Any]:
    t = settings.timeouts
    return {
        "apiVersion": "V2",
        "name": pool_name_of(settings),
        "count": 1,
        "autoCertificate": True,
        "haproxy": {
            "frontends": [{
                "bindPort": settings.port, "protocol": "HTTPS", "certificates": ["$AUTOCERT"],
                "linkBackend": {"defaultBackend": "kubernetes-apiserver"},
                "miscStrs": [f"timeout client {t.client}"],
            }],
            "backends": [{
                "name": "kubernetes-apiserver", "protocol": "HTTPS",
                "services": [{"mesos": {"frameworkName": service, "taskNamePattern": "kube-apiserver"},
                              "endpoint": {"portName": "apiserver"}}],
                "miscStrs": [f"timeout server {t.server}", f"timeout tunnel {t.tunnel}"],
            }],
            "stats": {"bindPort": settings.stats_port, "bindAddress": settings.stats_bind_address},
        },
    }


class EdgeLbExposure(BalancerExposure):
    balancer = Balancer("kexpose:exposure:EdgeLb", edgelb_pool, label_pool, EdgeLBPool, "pool")
