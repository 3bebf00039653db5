"""Exposure components: one per method of the seeds, each ending in an ExposureProbe.

- :class:`MarathonLbExposure` — the dummy app for an existing Marathon-LB. Unlike the seeds' labels,
  client-side timeouts go into the *frontend* (``HAPROXY_0_FRONTEND_HEAD``), where HAProxy honours
  them; the backend verifies the apiserver against the DC/OS CA bundle unless told not to.
- :class:`EdgeLbExposure` — an Edge-LB V2 pool selecting the framework's ``kube-apiserver`` task by
  port name ``apiserver``; stats bound to 127.0.0.1 unless exposed on purpose.
- :class:`HaproxyExposure` (``haproxy_exposure``) — the standalone HAProxy.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

import pulumi

from kexpose_components import naming
from kexpose_components.config import ClusterSettings, ExposureSettings
from kexpose_components.resources.edgelb_pool import EdgeLBPool
from kexpose_components.resources.exposure_probe import ExposureProbe
from kexpose_components.resources.marathon_app import MarathonApp

MLB_FRONTEND_HEAD = "\nfrontend {backend}\n  bind {bindAddr}:{servicePort}{sslCert}{bindOptions}\n  mode {mode}\n"


@dataclass(frozen=True)
class Endpoint:
    """How clients reach one cluster through one exposure (feeds kubeconfig and outputs)."""

    exposure: str
    service: str
    url: str  # https://<domain or agent>:<port> (see urlHost)
    host: str  # where to connect (a public agent)
    server_name: str  # SNI / tls-server-name
    ca_pem: pulumi.Input[str] | None  # what clients should trust; None = insecure-skip-tls-verify
    context_name: str
    probe: Any = None  # the ExposureProbe that checked it (set by the component)


def endpoint_for(settings: ExposureSettings, cluster: ClusterSettings, ca_pem: pulumi.Input[str] | None) -> Endpoint:
    host = settings.agents[0]
    server_name = cluster.domain or host
    url = f"https://{host if settings.url_host == 'agent' else server_name}:{settings.port}"
    # Named after what clients verify (the domain), so clusters sharing one address stay apart.
    context = naming.context_name(f"https://{server_name}:{settings.port}")
    if settings.context_name:
        several = len(settings.clusters) > 1
        context = f"{settings.context_name}-{naming.flat_name(cluster.service)}" if several else settings.context_name
    return Endpoint(settings.name, cluster.service, url, host, server_name, ca_pem, context)


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def marathon_lb_app(settings: ExposureSettings, service: str) -> dict[str, Any]:
    """The dummy app Marathon-LB turns into a frontend on ``settings.port``."""
    t = settings.timeouts
    verify = (f"verify required ca-file {settings.ca_bundle_path} verifyhost {naming.vip_host(service)}"
              if settings.verify_backend else "verify none")
    return {
        "id": f"/kexpose/{settings.name}",
        "instances": 1,  # one task: marathon-lb writes the server line once per task
        "cpus": 0.001, "mem": 16, "cmd": "tail -F /dev/null",
        "container": {"type": "MESOS"},
        "portDefinitions": [{"protocol": "tcp", "port": 0}],
        "labels": {
            "HAPROXY_GROUP": settings.group,
            "HAPROXY_0_MODE": "http",
            "HAPROXY_0_PORT": str(settings.port),
            "HAPROXY_0_SSL_CERT": "/etc/ssl/cert.pem",
            "HAPROXY_0_FRONTEND_HEAD": MLB_FRONTEND_HEAD + f"  timeout client {t.client}\n",
            "HAPROXY_0_BACKEND_SERVER_OPTIONS": (
                f"  timeout connect {t.connect}\n  timeout server {t.server}\n  timeout tunnel {t.tunnel}\n"
                f"  server kube-apiserver {naming.vip(service)} ssl {verify}\n"),
        },
    }


def edgelb_pool(settings: ExposureSettings, service: str) -> dict[str, Any]:
    t = settings.timeouts
    return {
        "apiVersion": "V2",
        "name": settings.pool_name or f"kexpose-{settings.name}",
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


class MarathonLbExposure(pulumi.ComponentResource):
    """A cluster exposed through an existing Marathon-LB (its self-signed certificate: clients
    skip verification, as in the seeds; the backend verifies the apiserver)."""

    def __init__(self, name: str, settings: ExposureSettings, cluster: ClusterSettings, connection: pulumi.Input[Any],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("kexpose:exposure:MarathonLb", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        app = marathon_lb_app(settings, cluster.service)
        self.app = MarathonApp(f"{name}-app", connection=connection, app=app, opts=child)
        self.endpoint = endpoint_for(settings, cluster, None)
        self.probe = ExposureProbe(f"{name}-probe", host=self.endpoint.host, port=settings.port,
                                   server_name=self.endpoint.server_name, revision=_digest(app),
                                   opts=pulumi.ResourceOptions(parent=self, depends_on=[self.app]))
        self.endpoints = [replace(self.endpoint, probe=self.probe)]
        self.register_outputs({"url": self.endpoint.url, "latency_ms": self.probe.latency_ms})


class EdgeLbExposure(pulumi.ComponentResource):
    """A cluster exposed through an Edge-LB pool (``$AUTOCERT``: clients skip verification)."""

    def __init__(self, name: str, settings: ExposureSettings, cluster: ClusterSettings, connection: pulumi.Input[Any],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("kexpose:exposure:EdgeLb", name, None, opts)
        pool = edgelb_pool(settings, cluster.service)
        self.pool = EdgeLBPool(f"{name}-pool", connection=connection, pool=pool, opts=pulumi.ResourceOptions(parent=self))
        self.endpoint = endpoint_for(settings, cluster, None)
        self.probe = ExposureProbe(f"{name}-probe", host=self.endpoint.host, port=settings.port,
                                   server_name=self.endpoint.server_name, revision=_digest(pool),
                                   opts=pulumi.ResourceOptions(parent=self, depends_on=[self.pool]))
        self.endpoints = [replace(self.endpoint, probe=self.probe)]
        self.register_outputs({"url": self.endpoint.url, "latency_ms": self.probe.latency_ms})
