"""``labelSelector`` and ``fieldSelector`` on list calls, as kube-apiserver filters them.

``kubectl cluster-info`` lists ``kube-system`` services with
``labelSelector=kubernetes.io/cluster-service=true``; ``-l`` and ``--field-selector`` reach here
too. Supported: equality-based requirements (``k=v``, ``k==v``, ``k!=v``) and, for labels,
existence (``k``, ``!k``); fields ``metadata.name``, ``metadata.namespace`` and, on pods,
``spec.nodeName`` and ``status.phase``. Anything else is refused with a 400, never ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

POD_FIELDS = {"spec.nodeName": ("spec", "nodeName"), "status.phase": ("status", "phase")}
COMMON_FIELDS = {"metadata.name": ("metadata", "name"), "metadata.namespace": ("metadata", "namespace")}
_REQUIREMENT = re.compile(r"^\s*(!?)([A-Za-z0-9._/-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9._-]*))?\s*$")


class SelectorError(ValueError):
    """The selector cannot be parsed or names an unsupported field; the message is the server's."""


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "exists", "!exists"
    value: str = ""

    def matches(self, values: dict[str, str]) -> bool:
        if self.op == "exists":
            return self.key in values
        if self.op == "!exists":
            return self.key not in values
        if self.op == "=":
            return values.get(self.key) == self.value
        return values.get(self.key) != self.value


def parse(selector: str, allow_existence: bool) -> list[Requirement]:
    requirements = []
    for part in filter(None, (p.strip() for p in selector.split(","))):
        m = _REQUIREMENT.match(part)
        if not m or (m.group(1) and m.group(3)) or (not m.group(3) and not allow_existence):
            raise SelectorError(f"unable to parse requirement: {part!r}")
        negate, key, op, value = m.groups()
        if op is None:
            requirements.append(Requirement(key, "!exists" if negate else "exists"))
        else:
            requirements.append(Requirement(key, "!=" if op == "!=" else "=", value or ""))
    return requirements


def _known_fields(resource: str, keys: list[str]) -> dict[str, tuple[str, str]]:
    known = {**COMMON_FIELDS, **(POD_FIELDS if resource == "pods" else {})}
    for key in keys:
        if key not in known:
            raise SelectorError(f'"{key}" is not a known field selector: only "{", ".join(sorted(known))}"')
    return {key: known[key] for key in keys}


def _fields(obj: dict[str, Any], paths: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {key: str(obj.get(section, {}).get(name, "")) for key, (section, name) in paths.items()}


def select(resource: str, items: list[dict[str, Any]], label_selector: str, field_selector: str) -> list[dict[str, Any]]:
    labels = parse(label_selector, allow_existence=True)
    fields = parse(field_selector, allow_existence=False)
    paths = _known_fields(resource, [r.key for r in fields])
    return [o for o in items
            if all(r.matches(o["metadata"].get("labels", {})) for r in labels)
            and all(r.matches(_fields(o, paths)) for r in fields)]
