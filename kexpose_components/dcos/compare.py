"""Drift-aware comparison of a desired definition with what an API returns for it.

This is the heart of a quiet ``pulumi preview``: Marathon and Edge-LB return many fields nobody
sent (``cpus: 1.0``, ``networks: [{"mode": "host"}]``, a pool's ``mem: 992`` …). A live object
*matches* a desired one when every field the user set means the same live, and every field the
user did not set still has the API's default (or is written only by the server). So a definition
never diffs against its own read-back, while a label someone added by hand does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kexpose_components.resources.inputs import is_number


def _generic(path: str) -> str:
    return ".".join("*" if p.isdigit() else p for p in path.split("."))


@dataclass(frozen=True)
class Defaults:
    """What one API fills in. Paths are dotted; ``*`` stands for any list index."""

    server_fields: frozenset[str]  # top-level fields only the server writes: never compared
    top: dict[str, tuple[Any, ...]]  # top-level field -> the values it reads back as when not sent
    nested: dict[str, tuple[Any, ...]]  # nested path -> read-back values when not sent
    assigned_when_zero: frozenset[str] = frozenset()  # 0 asks the server to assign a value
    exact: frozenset[str] = frozenset()  # maps compared as wholes (labels: an added key is drift)
    derived: frozenset[str] = field(default_factory=frozenset)  # server-derived when not sent (any value)

    def values_match(self, desired: Any, live: Any, path: str = "") -> bool:
        generic = _generic(path)
        if generic in self.assigned_when_zero and is_number(desired) and desired == 0:
            return is_number(live)
        if isinstance(desired, dict) and isinstance(live, dict):
            if generic in self.exact:
                return len(desired) == len(live) and all(k in live and v == live[k] for k, v in desired.items())
            for key in set(desired) | set(live):
                sub = f"{path}.{key}" if path else key
                if key in desired and key in live:
                    if not self.values_match(desired[key], live[key], sub):
                        return False
                elif not self._is_default(sub, desired[key] if key in desired else live[key]):
                    return False
            return True
        if isinstance(desired, list) and isinstance(live, list):
            return len(desired) == len(live) and all(
                self.values_match(d, v, f"{path}.{i}" if path else str(i)) for i, (d, v) in enumerate(zip(desired, live)))
        return desired == live  # numbers by value: 6443 == 6443.0

    def _is_default(self, path: str, value: Any) -> bool:
        generic = _generic(path)
        if generic in self.derived:
            return True
        defaults = self.nested.get(generic)
        if defaults is None:
            return value in (None, [], {}, "")
        return any(self.values_match(d, value, path) for d in defaults)

    def changed_fields(self, desired: dict[str, Any], live: dict[str, Any]) -> list[str]:
        """Top-level fields where the live object differs from the desired one."""
        changed = []
        for key in sorted(set(desired) | set(live)):
            if key in self.server_fields:
                continue
            if key in desired and key in live:
                same = self.values_match(desired[key], live[key], key)
            elif key in desired:
                same = any(self.values_match(desired[key], d, key) for d in self.top.get(key, ()))
            elif key in self.top:
                same = any(self.values_match(d, live[key], key) for d in self.top[key])
            else:
                same = live[key] in (None, [], {}, "")  # set by someone else, e.g. by hand
            if not same:
                changed.append(key)
        return changed

    def project_live(self, desired: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
        """The live object in the shape of the desired one: matching fields keep the user's
        spelling, drifted fields carry the live value. Used as the refreshed *inputs*, so the
        next preview shows exactly what drifted and nothing else."""
        drifted = set(self.changed_fields(desired, live))
        projected = {k: v for k, v in desired.items() if k not in drifted}
        projected.update({k: live[k] for k in drifted if k in live})
        return {k: projected[k] for k in sorted(projected)}
