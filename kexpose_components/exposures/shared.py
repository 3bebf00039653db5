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


def deployment_options(settings: Any, parent: pulumi.Resource, **extra: Any) -> pulumi.ResourceOptions:
    """Options of a resource that waits for a deployment: the exposure's ``deploymentTimeout``
    bounds it (the resources undo a create or roll back an update that does not finish)."""
    t = settings.deployment_timeout
    return pulumi.ResourceOptions(parent=parent, custom_timeouts=pulumi.CustomTimeouts(create=t, update=t, delete=t),
                                  **extra)
