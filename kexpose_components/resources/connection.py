"""The DC/OS ``connection`` input every cluster-facing resource takes: kept secret, checked once,
and turned into the provider process's shared session for that cluster."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure

from kexpose_components.dcos.client import DcosConnection, DcosSession, shared_session
from kexpose_components.resources.deadline import DEFAULT_TIMEOUT
from kexpose_components.resources.inputs import Inputs, is_unknown


def secret_connection(connection: pulumi.Input[Any]) -> pulumi.Output[dict]:
    """A :class:`DcosConnection` or its dict, as a secret Output of the dict (credentials inside)."""
    return pulumi.Output.secret(pulumi.Output.from_input(connection).apply(
        lambda c: c.to_dict() if isinstance(c, DcosConnection) else c))


def connection_failures(connection: Any) -> list[CheckFailure]:
    """Reported against the resource, not the property: the engine prints the value of a failing
    property, and the connection carries credentials."""
    if is_unknown(connection) or (isinstance(connection, dict) and connection.get("url")):
        return []
    return [CheckFailure("", "connection.url is required: the DC/OS URL, e.g. https://dcos.example.com")]


def session(connection: dict[str, Any]) -> DcosSession:
    """The session for a (parsed) ``connection`` input, reused by every call in this process."""
    return shared_session(DcosConnection.from_dict(connection))


@dataclass(frozen=True)
class ClusterInputs(Inputs):
    """What every resource kept in a DC/OS service has: the connection, ``adopt``, the ``timeout``
    from its custom timeouts, and ``live``, the object as last read (an output, from the state)."""

    connection: Any = None
    adopt: bool = False
    timeout: float = DEFAULT_TIMEOUT
    live: dict | None = None

    def session(self) -> DcosSession:
        return session(self.connection)
