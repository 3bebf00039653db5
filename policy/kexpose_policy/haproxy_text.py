"""Reading what kexpose's resources hand to HAProxy: durations and config text.

The policy pack sees HAProxy configuration in three forms: Marathon-LB labels (fragments of
config text), Edge-LB ``miscStrs`` (one directive per string) and the standalone HAProxy's model
plus its raw ``extra`` text. These helpers turn each into lines and sections the rules can test.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

#: HAProxy's time units; a bare number is milliseconds.
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^(\d+)(us|ms|s|m|h|d)?$")
_SECTION = re.compile(r"^(global|defaults|frontend|backend|listen|userlist|peers|resolvers|cache|program)\b")


def duration_seconds(text: str) -> float | None:
    """Seconds in an HAProxy duration (``30s``, ``1h``, ``5000`` = 5 s), None if it is not one."""
    match = _DURATION.match(str(text).strip())
    if not match:
        return None
    return int(match.group(1)) * _UNITS[match.group(2) or "ms"]


def lines(text: str) -> list[str]:
    """Non-empty config lines without comments or surrounding blanks."""
    out = []
    for raw in str(text).splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def directive_values(config_lines: Iterable[str], directive: str) -> list[str]:
    """The arguments of every ``<directive> <value>`` line, e.g. ``timeout tunnel`` -> ``["1h"]``."""
    words = directive.split()
    found = []
    for line in config_lines:
        parts = line.split()
        if parts[: len(words)] == words and len(parts) > len(words):
            found.append(parts[len(words)])
    return found


def has_verify_none(config_lines: Iterable[str]) -> bool:
    """Whether a ``server`` (or ``default-server``) line turns certificate verification off."""
    for line in config_lines:
        parts = line.split()
        if parts and parts[0] in ("server", "default-server") and "verify" in parts:
            i = parts.index("verify")
            if i + 1 < len(parts) and parts[i + 1] == "none":
                return True
    return False


@dataclass
class Section:
    """One ``listen``/``frontend``/... block of a config text."""

    kind: str
    name: str
    lines: list[str] = field(default_factory=list)

    @property
    def serves_stats(self) -> bool:
        return any(line.split()[:2] in (["stats", "enable"], ["stats", "uri"]) for line in self.lines)

    @property
    def has_auth(self) -> bool:
        return any(line.startswith(("stats auth", "stats http-request auth")) or
                   (line.startswith("http-request auth")) for line in self.lines)

    def bind_addresses(self) -> list[str]:
        """The address part of each ``bind`` line (``""`` for ``:port``, i.e. every address)."""
        out = []
        for line in self.lines:
            parts = line.split()
            if parts[0] == "bind" and len(parts) > 1:
                out.append(parts[1].rsplit(":", 1)[0] if ":" in parts[1] else parts[1])
        return out


def sections(text: str) -> list[Section]:
    """Split config text into its sections (lines before the first header are dropped)."""
    found: list[Section] = []
    for line in lines(text):
        if _SECTION.match(line):
            parts = line.split()
            found.append(Section(parts[0], parts[1] if len(parts) > 1 else ""))
        elif found:
            found[-1].lines.append(line)
    return found


def is_loopback(address: str) -> bool:
    """Whether HAProxy bound to ``address`` is reachable from this host only."""
    host = address.strip().strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # "", "*", "0.0.0.0"-like wildcards and names: reachable from elsewhere
