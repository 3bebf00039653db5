"""``ExposureProbe``: proves an exposure works at the end of ``up`` (see ``kexpose_components.probe``).

It runs when it is created and whenever what it checks changes (endpoint, expected CA, or the
``revision`` its exposure hands it, e.g. a config hash). Refresh keeps the last result, so a
``pulumi refresh`` stays clean. A failed probe fails the ``up`` naming the hop that failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, UpdateResult

from kexpose_components.errors import KexposeError
from kexpose_components.probe import ProbeFailed, probe
from kexpose_components.resources.inputs import Inputs
from kexpose_components.resources.provider import KexposeProvider

class ExposureProbeError(KexposeError):
    """The exposure does not work; the message names the hop."""


@dataclass(frozen=True)
class ProbeInputs(Inputs):
    """What an ExposureProbe checks: ``https://<server_name>:<port>`` reached at ``host``."""

    host: str = ""
    port: int = 0
    server_name: str = ""
    ca_pem: str = ""
    revision: str = ""
    wait: float = 60.0
    fingerprint: str = ""  # the certificate that must be served ("": any that verifies)

    @property
    def id(self) -> str:
        return f"{self.host}:{self.port}/{self.server_name}"


class ExposureProbeProvider(KexposeProvider):
    def _run(self, props: dict[str, Any]) -> dict[str, Any]:
        inputs = ProbeInputs.parse(props)
        try:
            result = probe(inputs.host, inputs.port, inputs.server_name, inputs.ca_pem or None, inputs.wait or 60.0,
                           inputs.fingerprint or None)
        except ProbeFailed as exc:
            raise ExposureProbeError(f"exposure check of https://{inputs.server_name}:{inputs.port} "
                                     f"(via {inputs.host}) failed at {exc}") from None
        return {**props, "latency_ms": result.latency_ms, "verified": result.verified,
                "not_after": result.not_after, "subject": result.subject}

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old, new = ProbeInputs.parse(olds), ProbeInputs.parse(news)
        return DiffResult(changes=old != new, replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(ProbeInputs.parse(props).id, self._run(props))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._run(news))


class ExposureProbe(Resource, module="exposure", name="Probe"):
    """Checks ``https://<server_name>:<port>`` reached at ``host``; outputs ``latency_ms``,
    ``verified`` (chain checked against ``ca_pem``), ``not_after`` and ``subject``."""

    latency_ms: pulumi.Output[float]
    verified: pulumi.Output[bool]
    not_after: pulumi.Output[str]

    def __init__(self, name: str, host: pulumi.Input[str], port: int, server_name: pulumi.Input[str],
                 ca_pem: pulumi.Input[str] | None = None, revision: pulumi.Input[str] = "", wait: float = 60.0,
                 fingerprint: pulumi.Input[str] | None = None, opts: pulumi.ResourceOptions | None = None):
        expected = {"fingerprint": fingerprint} if fingerprint is not None else {}  # absent: older states unchanged
        props = {"host": host, "port": port, "server_name": server_name, "ca_pem": ca_pem or "", "revision": revision,
                 "wait": wait, **expected, "latency_ms": None, "verified": None, "not_after": None, "subject": None}
        super().__init__(ExposureProbeProvider(), name, props, opts)
