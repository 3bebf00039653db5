"""The part Marathon-LB and Edge-LB exposures share: one cluster, one definition handed to an
existing load balancer (a dummy Marathon app, an Edge-LB pool), then a probe of the result."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable

import pulumi

from kexpose_components.config import ClusterSettings, ExposureBase
from kexpose_components.exposures.endpoint import Exposure, probed_endpoint
from kexpose_components.exposures.shared import SharedInputs, deployment_options


def digest(definition: Any) -> str:
    """A short hash of a definition: the probe's revision, so it re-runs when the definition changes."""
    return hashlib.sha256(json.dumps(definition, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Balancer:
    """What makes one load balancer's exposure: its component type, its definition
    (``definition(settings, service)``, marked by ``label(definition, owner)``) and the resource
    that carries it, created as ``<name>-<suffix>`` with the definition as its ``suffix`` input."""

    type_token: str
    definition: Callable[[Any, str], dict[str, Any]]
    label: Callable[[dict[str, Any], str], dict[str, Any]]
    resource_type: type[pulumi.CustomResource]
    suffix: str  # "app" | "pool"
    object_id: Callable[[Any], str]  # the app id or pool name the exposure manages (ownership.py)


class BalancerExposure(Exposure):
    """Subclasses name their :class:`Balancer`; the rest — registration, the endpoint, the probe
    after the resource — is here."""

    balancer: Balancer

    def __init__(self, settings: ExposureBase, clusters: list[ClusterSettings], shared: SharedInputs,
                 opts: pulumi.ResourceOptions | None = None):
        name = settings.name
        b = self.balancer
        super().__init__(b.type_token, name, None, opts)
        cluster = clusters[0]
        definition = b.label(b.definition(settings, cluster.service), shared.owner)
        opts = deployment_options(settings, self, **shared.takeover(settings, b.object_id(settings)))
        self.resource = b.resource_type(f"{name}-{b.suffix}", connection=shared.connection, adopt=settings.adopt,
                                        **{b.suffix: definition}, opts=opts)
        endpoint = probed_endpoint(f"{name}-probe", settings, cluster, None, digest(definition),
                                   pulumi.ResourceOptions(parent=self, depends_on=[self.resource]))
        self._register([endpoint])
