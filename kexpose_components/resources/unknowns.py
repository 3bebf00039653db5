"""Values not known yet during a preview (they depend on resources that do not exist yet).

The dynamic-provider host hands them to ``check`` and ``diff`` as ``pulumi.output.Unknown``
objects (the raw engine sentinel is recognised too). Providers validate what is known and leave
the rest to ``check`` at ``up`` time, when everything is known.
"""

from __future__ import annotations

from typing import Any

from pulumi.output import Unknown
from pulumi.runtime import rpc


def contains_unknown(value: Any) -> bool:
    if isinstance(value, Unknown) or value == rpc.UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_unknown(v) for v in value)
    return False
