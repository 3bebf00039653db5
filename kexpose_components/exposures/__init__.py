"""One component per exposure method, each ending in an ExposureProbe per cluster it serves.

:data:`COMPONENTS` is the dispatch table: the settings type (parsed from the stack file's
``method``) picks the component, and every component is built with the same signature.
"""

from __future__ import annotations

from typing import Callable

import pulumi

from kexpose_components.config import ClusterSettings, EdgeLbSettings, HaproxySettings, MarathonLbSettings
from kexpose_components.exposures.edge_lb import edge_lb_exposure
from kexpose_components.exposures.endpoint import Endpoint, Exposure
from kexpose_components.exposures.marathon_lb import MarathonLbExposure
from kexpose_components.exposures.shared import SharedInputs
from kexpose_components.exposures.standalone import HaproxyExposure

Constructor = Callable[..., Exposure]  # (settings, clusters, shared, opts=None) -> Exposure

COMPONENTS: dict[type, Constructor] = {
    HaproxySettings: HaproxyExposure,
    MarathonLbSettings: MarathonLbExposure,
    EdgeLbSettings: edge_lb_exposure,
}


def build(settings: HaproxySettings | MarathonLbSettings | EdgeLbSettings, clusters: list[ClusterSettings],
          shared: SharedInputs, opts: pulumi.ResourceOptions | None = None) -> Exposure:
    return COMPONENTS[type(settings)](settings, clusters, shared, opts)


__all__ = ["COMPONENTS", "Endpoint", "Exposure", "SharedInputs", "build"]
