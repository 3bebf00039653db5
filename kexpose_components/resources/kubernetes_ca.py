"""``KubernetesCA``: a DC/OS Kubernetes service's CA, fetched from its control-plane task.

The seeds fetch it by hand with ``dcos task exec <service>.kube-control-plane-0-instance cat
ca-crt.pem`` (grouped names with dots). As a resource it is read on ``up`` and on ``refresh``, so
a rotated CA shows as drift and the HAProxy backends that trust it are updated by the next ``up``.
"""

from __future__ import annotations

from typing import Any

import pulumi
from cryptography import x509
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from kexpose_components import naming
from kexpose_components.dcos.client import DcosConnection, DcosSession
from kexpose_components.dcos.mesos import task_file
from kexpose_components.resources.connection import secret_connection


def _fetch(props: dict[str, Any]) -> dict[str, Any]:
    session = DcosSession(DcosConnection.from_dict(props["connection"]))
    pem = task_file(session, naming.control_plane_task(props["service"]), "ca-crt.pem")
    try:
        x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        raise ValueError(f"ca-crt.pem of {naming.control_plane_task(props['service'])} is not a PEM certificate") from None
    return {**props, "ca_pem": pem}


class KubernetesCAProvider(ResourceProvider):
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=olds.get("service") != news.get("service") or olds.get("connection") != news.get("connection"),
                          replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(naming.service_name(props["service"]), _fetch(props))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(_fetch(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        fresh = _fetch(props)
        return ReadResult(id_, fresh, {k: props[k] for k in ("connection", "service") if k in props})


class KubernetesCA(Resource, module="kubernetes", name="CA"):
    ca_pem: pulumi.Output[str]

    def __init__(self, name: str, connection: pulumi.Input[Any], service: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__(KubernetesCAProvider(), name, {"connection": secret_connection(connection), "service": service,
                                                        "ca_pem": None}, opts)
