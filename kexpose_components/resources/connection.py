"""The DC/OS ``connection`` input every cluster-facing resource takes: kept secret, checked once."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure

from kexpose_components.dcos.client import DcosConnection
from kexpose_components.resources.unknowns import contains_unknown


def secret_connection(connection: pulumi.Input[Any]) -> pulumi.Output[dict]:
    """A :class:`DcosConnection` or its dict, as a secret Output of the dict (credentials inside)."""
    return pulumi.Output.secret(pulumi.Output.from_input(connection).apply(
        lambda c: c.to_dict() if isinstance(c, DcosConnection) else c))


def connection_failures(news: dict[str, Any]) -> list[CheckFailure]:
    """Reported against the resource, not the property: the engine prints the value of a failing
    property, and the connection carries credentials."""
    connection = news.get("connection")
    if contains_unknown(connection) or (isinstance(connection, dict) and connection.get("url")):
        return []
    return [CheckFailure("", "connection.url is required: the DC/OS URL, e.g. https://dcos.example.com")]
