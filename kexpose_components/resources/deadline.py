"""Pulumi ``customTimeouts`` for dynamic resources.

The engine does not hand customTimeouts to dynamic providers, so each resource class reads them
from its options and passes the longest one to its provider as the ``timeout`` input (seconds).
"""

from __future__ import annotations

import re

import pulumi

DEFAULT_TIMEOUT = 600.0  # seconds; what Terraform's DC/OS provider allows a create/update
_PART = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")


def parse_duration(text: str | None) -> float | None:
    """Go-style durations as Pulumi takes them: "10m", "1h30m", "45s", "1.5m"."""
    if not text:
        return None
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"custom timeout {text!r} is not a duration like '10m' or '1h30m'")
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def timeout_seconds(opts: pulumi.ResourceOptions | None) -> float:
    timeouts = getattr(opts, "custom_timeouts", None)
    if timeouts is None:
        return DEFAULT_TIMEOUT
    seconds = [parse_duration(getattr(timeouts, k, None)) for k in ("create", "update", "delete")]
    seconds = [s for s in seconds if s]
    return max(seconds) if seconds else DEFAULT_TIMEOUT
