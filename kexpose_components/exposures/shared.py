"""What the program hands every exposure besides its own settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi


@dataclass(frozen=True)
class SharedInputs:
    connection: pulumi.Input[Any]  # the DC/OS connection, a secret Output
    cluster_cas: dict[str, pulumi.Input[str]] = field(default_factory=dict)  # service -> CA PEM of its apiserver
    owner: str = ""  # <organization>/<project>/<stack>, labelled on what the exposure manages (ownership.py)
    existing: frozenset[str] | None = None  # ids of the cluster's apps and pools (preflight); None: not read

    def takeover(self, settings: Any, object_id: str) -> dict[str, Any]:
        """Resource options for the object an exposure manages: with ``adopt: true``, an ``import``
        of it when it exists (or may: without the preflight's read), so the first preview shows
        kexpose taking it over as an update rather than a create (``tools/provider-host``)."""
        if settings.adopt and (self.existing is None or object_id in self.existing):
            return {"import_": object_id}
        return {}


def deployment_options(settings: Any, parent: pulumi.Resource, **extra: Any) -> pulumi.ResourceOptions:
    """Options of a resource that waits for a deployment: the exposure's ``deploymentTimeout``
    bounds it (the resources undo a create or roll back an update that does not finish)."""
    t = settings.deployment_timeout
    return pulumi.ResourceOptions(parent=parent, custom_timeouts=pulumi.CustomTimeouts(create=t, update=t, delete=t),
                                  **extra)
