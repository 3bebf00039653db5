"""DC/OS and kubeconfig naming rules, in one place.

- VIP: ``apiserver.<service without slashes>.l4lb.thisdcos.directory:6443``
  (``dev/kubernetes01`` -> ``apiserver.devkubernetes01…``);
- task ids: slashes become dots (``dev.kubernetes01__kube-control-plane-0-instance``);
- kubeconfig context names: derived from the URL as ``dcos kubernetes kubeconfig`` does
  (``https://kube-apiserver.example.com:6443`` -> ``kube-apiserver-example-com6443``), or given.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse


def service_name(name: str) -> str:
    """``/dev/kubernetes01/`` -> ``dev/kubernetes01``."""
    return "/".join(p for p in name.strip().split("/") if p)


def flat_name(service: str) -> str:
    """``dev/kubernetes01`` -> ``devkubernetes01`` (how the VIP and the seeds' file names spell it)."""
    return service_name(service).replace("/", "")


def vip_host(service: str) -> str:
    return f"apiserver.{flat_name(service)}.l4lb.thisdcos.directory"


def vip(service: str, port: int = 6443) -> str:
    return f"{vip_host(service)}:{port}"


def task_prefix(service: str) -> str:
    """``dev/kubernetes01`` -> ``dev.kubernetes01`` (Mesos task ids of SDK services)."""
    return service_name(service).replace("/", ".")


def control_plane_task(service: str) -> str:
    return f"{task_prefix(service)}__kube-control-plane-0-instance"


def context_name(url: str) -> str:
    """The kubeconfig context name ``dcos kubernetes kubeconfig`` derives from an API URL:
    the host with dots as dashes, then the port (``kube-apiserver-example-com6443``)."""
    parsed = urlparse(url)
    host = (parsed.hostname or "").replace(".", "-")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return re.sub(r"[^A-Za-z0-9-]", "-", host) + str(port)



#: The zone of names the quick-mode wildcard certificate covers (``*.kexpose.internal``, a name
#: under the reserved private ``.internal`` TLD): clients pin the certificate and verify one of them.
QUICK_ZONE = "kexpose.internal"


def quick_server_name(service: str) -> str:
    """The name a quick-mode client verifies (as ``tls-server-name``): ``kubernetes.kexpose.internal``."""
    return f"{flat_name(service)}.{QUICK_ZONE}"
