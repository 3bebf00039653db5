"""DC/OS naming rules shared by the simulator (kexpose_components.naming mirrors them for users).

- VIP: ``apiserver.<service without slashes>.l4lb.thisdcos.directory`` (``dev/kubernetes01`` ->
  ``apiserver.devkubernetes01...``);
- task ids: slashes become dots (``dev.kubernetes01__kube-control-plane-0-instance``).
"""

from __future__ import annotations


def normalize_service_name(name: str) -> str:
    """``/dev/kubernetes01/`` -> ``dev/kubernetes01``."""
    return "/".join(p for p in name.strip().split("/") if p)


def vip_name(service: str) -> str:
    return f"apiserver.{normalize_service_name(service).replace('/', '')}.l4lb.thisdcos.directory"


def task_prefix(service: str) -> str:
    return normalize_service_name(service).replace("/", ".")
