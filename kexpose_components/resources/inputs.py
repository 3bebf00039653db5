"""What the engine hands a dynamic provider, made plain once, at the edge.

Every provider method receives its properties as the engine serialised them, which differs from
what the user wrote in three ways; :func:`plain` undoes them, and each resource parses its
properties into a typed ``…Inputs`` dataclass with :meth:`Inputs.parse` at the top of ``check``,
``diff``, ``create``, ``update``, ``read`` and ``delete``, so nothing below re-handles them:

- **numbers**: protobuf carries every number as a double, so ``6443`` arrives as ``6443.0``.
  Whole floats become ints again (booleans stay booleans); ``0.1`` stays a float.
- **unknowns**: in a preview, values computed by resources that do not exist yet arrive as
  ``pulumi.output.Unknown`` (or the engine's raw ``UNKNOWN`` marker). They are kept, and
  :func:`is_unknown` finds them at any depth: providers check what is known and leave the rest
  to ``check`` at ``up`` time.
- **secrets**: the provider host tells the engine it does not accept secrets, so values arrive
  unwrapped; a wrapped secret is unwrapped anyway (the safety net costs nothing).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import pulumi
from pulumi.output import Unknown
from pulumi.runtime import rpc

T = TypeVar("T", bound="Inputs")


def is_unknown(value: Any) -> bool:
    """True while any part of ``value`` is still unknown (a preview before its source exists)."""
    if isinstance(value, (Unknown, pulumi.Output)) or (isinstance(value, str) and value == rpc.UNKNOWN):
        return True
    if isinstance(value, dict):
        return any(is_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(is_unknown(v) for v in value)
    return False


def is_number(value: Any) -> bool:
    """A JSON number (``True`` is not one, although Python counts it as an int)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def whole(value: Any) -> int | None:
    """The int a whole number stands for (``6443`` or ``6443.0``); None for anything else."""
    if not is_number(value) or not float(value).is_integer():
        return None
    return int(value)


def plain(value: Any) -> Any:
    """``value`` as the user wrote it: secrets unwrapped, whole floats back to ints, at any depth."""
    value = rpc.unwrap_rpc_secret(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@dataclasses.dataclass(frozen=True)
class Inputs:
    """Base of each resource's typed properties: one field per property, named as in the state
    (existing stacks keep working), with the default an absent property means."""

    @classmethod
    def parse(cls: type[T], props: dict[str, Any] | None) -> T:
        """The properties the engine sent, made plain; unknown values are kept as they are."""
        props = props or {}
        values = {f.name: plain(props[f.name]) for f in dataclasses.fields(cls) if props.get(f.name) is not None}
        return cls(**values)

    def known(self, *names: str) -> bool:
        """Whether the named properties (all of them when none is named) are known yet."""
        return not any(is_unknown(getattr(self, n)) for n in names or [f.name for f in dataclasses.fields(self)])

    def props(self, *names: str) -> dict[str, Any]:
        """The named properties (all of them when none is named) as the state keeps them."""
        return {n: getattr(self, n) for n in names or [f.name for f in dataclasses.fields(self)]}
