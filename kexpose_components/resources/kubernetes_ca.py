"""``KubernetesCA``: a DC/OS Kubernetes service's CA, fetched from its control-plane task.

The seeds fetch it by hand with ``dcos task exec <service>.kube-control-plane-0-instance cat
ca-crt.pem`` (grouped names with dots). As a resource it is read on ``up`` and on ``refresh``, so
a rotated CA shows as drift and the HAProxy backends that trust it are updated by the next ``up``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from cryptography import x509
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from kexpose_components import naming
from kexpose_components.dcos.mesos import task_file
from kexpose_components.errors import KexposeError
from kexpose_components.resources.connection import secret_connection, session
from kexpose_components.resources.inputs import Inputs
from kexpose_components.resources.provider import KexposeProvider


class KubernetesCAError(KexposeError):
    """The service's CA could not be read; the message names the task and file."""


@dataclass(frozen=True)
class KubernetesCAInputs(Inputs):
    """Which service's CA to fetch, and how to reach its cluster."""

    connection: Any = None
    service: str = ""


def _fetch(props: dict[str, Any]) -> dict[str, Any]:
    inputs = KubernetesCAInputs.parse(props)
    task = naming.control_plane_task(inputs.service)
    pem = task_file(session(inputs.connection), task, "ca-crt.pem")
    try:
        x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        raise KubernetesCAError(f"ca-crt.pem of {task} is not a PEM certificate") from None
    return {**props, "ca_pem": pem}


class KubernetesCAProvider(KexposeProvider):
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=KubernetesCAInputs.parse(olds) != KubernetesCAInputs.parse(news), replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(naming.service_name(KubernetesCAInputs.parse(props).service), _fetch(props))

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
