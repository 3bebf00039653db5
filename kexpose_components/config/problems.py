"""Turn pydantic's validation errors into kexpose's: one line per problem, naming the
``kexpose:`` key (``kexpose:exposures[1].port``) and a right value, every problem at once."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from kexpose_components.config.models import METHODS
from kexpose_components.errors import KexposeError


class ConfigError(KexposeError):
    """Wrong or missing stack config; the message lists every problem with a fix."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("the stack configuration has problems:\n  - " + "\n  - ".join(problems))


def key_of(loc: tuple[Any, ...]) -> str:
    """``("exposures", 1, "port")`` → ``exposures[1].port``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _inner(annotation: Any) -> Any:
    """The model or item type inside ``Annotated[...]``, ``X | None`` and ``tuple[X, ...]``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return args  # a tagged union: resolved by the tag in the location
            annotation = args[0]
        else:
            return annotation


def _walk(root: type[BaseModel], loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], FieldInfo | None, type[BaseModel] | None]:
    """The user-facing location (union tags dropped), the field at its end, and the model holding it."""
    shown: list[Any] = []
    current: Any = root
    field: FieldInfo | None = None
    holder: type[BaseModel] | None = None
    for part in loc:
        if isinstance(current, list):  # tagged union member, named by its tag in ``loc``
            current = next((m for m in current if m.model_fields["method"].default == part), None)
            continue
        shown.append(part)
        if isinstance(part, int):
            current = _inner(typing.get_args(current)[0]) if typing.get_origin(current) is tuple else None
            continue
        if current is None:
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            holder = current
            field = next((f for n, f in current.model_fields.items() if part in (n, f.alias)), None)
            current = _inner(field.annotation) if field else None
    return tuple(shown), field, holder


def _known_keys(holder: type[BaseModel] | None) -> list[str]:
    return sorted(f.alias or n for n, f in holder.model_fields.items()) if holder else []


def _message(err: dict[str, Any], field: FieldInfo | None, holder: type[BaseModel] | None, key: str) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    hint = field.description if field and field.description else None
    if kind.startswith("kexpose"):
        return err["msg"]
    if kind == "missing":
        return f"is required: {hint}" if hint else "is required"
    if kind == "extra_forbidden":
        known = _known_keys(holder)
        name = key.rsplit(".", 1)[-1]
        close = difflib.get_close_matches(name, known, n=1)
        method = f" for method {holder.model_fields['method'].default}" if holder and "method" in holder.model_fields else ""
        return (f"is not a known key{method}" + (f"; did you mean {close[0]!r}?" if close else "")
                + f" (known: {', '.join(known)})")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return f'must be one of {", ".join(METHODS)}, e.g. "{METHODS[0]}"'
    if kind in ("literal_error", "enum"):
        return f"must be one of {ctx.get('expected', '')}"
    if kind in ("too_short", "tuple_type", "list_type"):
        return f"must list {hint}" if hint else "must be a list"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be {hint}" if hint else "must be an object"
    return f"must be {hint}" if hint else err["msg"]


def problems_of(root: type[BaseModel], error: ValidationError) -> list[str]:
    errors = error.errors()
    out = []
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "too_short" and any(tuple(e["loc"][:len(loc)]) == loc and len(e["loc"]) > len(loc) for e in errors):
            continue  # pydantic's echo of an item that failed: the item's own error says it
        shown, field, holder = _walk(root, loc)
        key = key_of(shown)
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            key += ".method"
        if err["type"].startswith("kexpose:"):  # a model's rule about one of its keys names that key
            key = f"{key}.{err['type'].split(':', 1)[1]}"
        message = _message(err, field, holder, key)
        out.append(f"kexpose:{key}: {message}")
    return out
