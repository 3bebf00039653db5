"""Reading Marathon requests: JSON bodies as Jackson reads them, query flags, ``embed`` and label selectors."""

from __future__ import annotations

import json
import math
import re
from typing import Any, Callable

from werkzeug.wrappers import Request

from kexpose_sim.marathon.exceptions import ValidationFailure

MAX_NESTING = 100
EMBED_PREFIXES = ("group.apps.", "apps.", "app.")
LabelPredicate = Callable[[dict[str, str]], bool]
#: A label selector term: letters, digits, ``-_.``, or any backslash-escaped character.
LABEL_TERM = r"(?:\\.|[-A-Za-z0-9_.])+"
LABEL_SELECTOR = re.compile(
    rf"\s*(?P<key>{LABEL_TERM})\s*(?:(?P<eq>==|!=)\s*(?P<value>{LABEL_TERM})"
    rf"|(?P<set>in|notin)\s*\(\s*(?P<values>(?:{LABEL_TERM}\s*(?:,\s*{LABEL_TERM}\s*)*)?)\))?\s*(?:,|$)")


def flag(request: Request, name: str, default: bool) -> bool:
    """A boolean query parameter: ``true`` (any case) is true, anything else false."""
    value = request.args.get(name)
    return default if value is None else value.lower() == "true"


def _reject_constant(token: str) -> float:
    raise ValueError(f"Non-standard token '{token}'")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"Numeric value ({text}) out of range")
    return value


def _bounded_int(text: str) -> int:
    """Integers beyond a double's range cannot be any Marathon field (and break ``float()``)."""
    if len(text.lstrip("-")) > 308:
        raise ValueError(f"Numeric value ({text[:20]}...) out of range")
    return int(text)


def _nesting_depth(value: Any) -> int:
    """How deeply objects and arrays nest (iteratively: the point is not to recurse)."""
    depth, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            depth = max(depth, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return depth


def json_body(request: Request) -> Any:
    """The request's JSON: 400 for an empty or unparsable body (``details`` a string, as
    Jackson's message is); NaN, Infinity and out-of-range numbers are syntax errors too, and so is
    nesting deeper than MAX_NESTING (Jackson has a limit too; this one keeps copies of opaque
    fields within Python's recursion limit)."""
    text = request.get_data(as_text=True)
    if not text.strip():
        raise ValidationFailure(400, "Please specify data in JSON format",
                                "No content to map due to end-of-input\n at [Source: (org.eclipse.jetty.server."
                                "HttpInputOverHTTP); line: 1, column: 0]")
    try:
        body = json.loads(text, parse_constant=_reject_constant, parse_float=_finite, parse_int=_bounded_int)
    except (ValueError, RecursionError) as exc:
        raise ValidationFailure(400, "Invalid JSON", f"Unexpected character: {exc}") from None
    depth = _nesting_depth(body)
    if depth > MAX_NESTING:
        raise ValidationFailure(400, "Invalid JSON", f"Document nesting depth ({depth}) exceeds the maximum "
                                                     f"allowed ({MAX_NESTING})")
    return body


def embeds(request: Request) -> set[str]:
    """``embed`` values without their prefix (Marathon accepts ``apps.``, ``app.``, ``group.apps.``
    or none)."""
    out = set()
    for value in request.args.getlist("embed"):
        out.add(next((value[len(p):] for p in EMBED_PREFIXES if value.startswith(p)), value))
    return out


def parse_label_selector(text: str) -> list[LabelPredicate]:
    """Marathon's label selector (``a==b``, ``a!=b``, ``a in (b, c)``, ``a notin (b)``, ``a``;
    comma-separated, all must match) as predicates over labels. 422 if it does not parse."""
    selectors, pos = [], 0
    while pos < len(text):
        match = LABEL_SELECTOR.match(text, pos)
        if match is None or match.end() == pos:
            raise ValidationFailure(422, f"Can not parse label selector {text}. Reason: unexpected input at {pos}")
        selectors.append(_label_predicate(match))
        pos = match.end()
    return selectors


def _unescape(term: str) -> str:
    return re.sub(r"\\(.)", r"\1", term)


def _label_predicate(match: re.Match) -> LabelPredicate:
    key = _unescape(match["key"])
    if match["eq"]:
        value, equal = _unescape(match["value"]), match["eq"] == "=="
        return lambda labels: key in labels and (labels[key] == value) == equal
    if match["set"]:
        values = {_unescape(v.strip()) for v in match["values"].split(",") if v.strip()}
        inside = match["set"] == "in"
        return lambda labels: key in labels and (labels[key] in values) == inside
    return lambda labels: key in labels

