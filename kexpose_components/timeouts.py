"""Proxy timeouts, shared by all three exposure methods (standalone HAProxy, Marathon-LB, Edge-LB).

Every method ends in an HAProxy, so one type and one duration syntax serve them all. A duration
must carry its unit: HAProxy reads a bare number as milliseconds, which nobody who writes
``timeout tunnel 3600`` means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: HAProxy's time units (``us`` … ``d``); the unit is required (see the module docstring).
DURATION = re.compile(r"^\d+(us|ms|s|m|h|d)$")
DURATION_EXAMPLE = '"30s", "15m" or "86400s"'

_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}


def is_duration(text: object) -> bool:
    return isinstance(text, str) and DURATION.match(text) is not None


def seconds(text: str) -> float:
    """``"15m"`` → 900.0 (the text must be a duration)."""
    match = DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like {DURATION_EXAMPLE}")
    return int(text[: match.start(1)]) * _SECONDS[match.group(1)]


@dataclass(frozen=True)
class Timeouts:
    """HAProxy timeouts, each rendered where HAProxy honours it. The long defaults keep
    ``kubectl exec`` and ``logs -f`` open for a day."""

    connect: str = "10s"
    client: str = "86400s"
    server: str = "86400s"
    tunnel: str = "86400s"
    client_fin: str = "30s"
    http_request: str = "30s"

    def problems(self) -> list[tuple[str, str]]:
        """(field, fix) for every value that is not a duration."""
        return [(k, f"{v!r} is not a duration like {DURATION_EXAMPLE}") for k, v in vars(self).items()
                if not is_duration(v)]
