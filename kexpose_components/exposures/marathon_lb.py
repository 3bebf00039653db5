"""``MarathonLbExposure``: a cluster exposed through an existing Marathon-LB.

Unlike the seeds' labels, the client-side timeout goes into the *frontend*
(``HAPROXY_0_FRONTEND_HEAD``), where HAProxy honours it; the backend verifies the apiserver
against the DC/OS CA bundle unless ``verifyBackend: false``. Clients meet Marathon-LB's own
self-signed certificate.
"""

from __future__ import annotations

from typing import Any

from kexpose_components import naming
from kexpose_components.config import MarathonLbSettings
from kexpose_components.exposures.balancer import Balancer, BalancerExposure
from kexpose_components.ownership import app_id_of, label_app
from kexpose_components.resources.marathon_app import MarathonApp

#: Marathon-LB's default frontend head, kept so the client timeout can follow it.
FRONTEND_HEAD = "\nfrontend {backend}\n  bind {bindAddr}:{servicePort}{sslCert}{bindOptions}\n  mode {mode}\n"


def marathon_lb_app(settings: MarathonLbSettings, service: str) -> dict[str, Any]:
    """The dummy app Marathon-LB turns into a frontend on ``settings.port``."""
    t = settings.timeouts
    verify = (f"verify required ca-file {settings.ca_bundle_path} verifyhost {naming.vip_host(service)}"
              if settings.verify_backend else "verify none")
    return {
        "id": app_id_of(settings),
        "instances": 1,  # one task: marathon-lb writes the server line once per task
        "cpus": 0.001, "mem": 16, "cmd": "tail -F /dev/null",
        "container": {"type": "MESOS"},
        "portDefinitions": [{"protocol": "tcp", "port": 0}],
        "labels": {
            "HAPROXY_GROUP": settings.group,
            "HAPROXY_0_MODE": "http",
            "HAPROXY_0_PORT": str(settings.port),
            "HAPROXY_0_SSL_CERT": "/etc/ssl/cert.pem",
            "HAPROXY_0_FRONTEND_HEAD": FRONTEND_HEAD + f"  timeout client {t.client}\n",
            "HAPROXY_0_BACKEND_SERVER_OPTIONS": (
                f"  timeout connect {t.connect}\n  timeout server {t.server}\n  timeout tunnel {t.tunnel}\n"
                f"  server kube-apiserver {naming.vip(service)} ssl {verify}\n"),
        },
    }


class MarathonLbExposure(BalancerExposure):
    balancer = Balancer("kexpose:exposure:MarathonLb", marathon_lb_app, label_app, MarathonApp, "app", app_id_of)
