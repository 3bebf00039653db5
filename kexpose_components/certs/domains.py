"""Host names a certificate is for: normalising what users write, and matching a name the way
a TLS client does (RFC 6125)."""

from __future__ import annotations

import ipaddress
import re
from typing import Iterable

from kexpose_components.certs.model import CertificateInfo

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def normalize_domain(name: str) -> str:
    """Lower-case, no trailing dot; an IP address or a DNS name (a leading ``*.`` label allowed).

    Raises ValueError with a message that says what is wrong with the name.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{name!r} is not a host name; use e.g. devkubernetes01.example.com")
    text = name.strip().lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if not text.isascii():
        raise ValueError(f"{name!r} has non-ASCII characters; write it in punycode (xn--...)")
    if len(text) > 253:
        raise ValueError(f"{name!r} is longer than 253 characters")
    labels = text.split(".")
    if labels[0] == "*":
        if len(labels) < 3:
            raise ValueError(f"{name!r}: a wildcard needs at least two labels after '*.', e.g. *.example.com")
        labels = labels[1:]
    for label in labels:
        if not _LABEL.match(label):
            raise ValueError(f"{name!r}: label {label!r} is not a valid DNS label (letters, digits, '-'; "
                             "at most 63 characters; '*' only as the whole first label)")
    return text


def normalize_domains(domains: Iterable[str]) -> tuple[str, ...]:
    """Normalised, de-duplicated domains in the order given (the first one becomes the CN)."""
    seen: dict[str, None] = {}
    for name in domains:
        seen.setdefault(normalize_domain(name), None)
    return tuple(seen)


def _name_matches(pattern: str, domain: str) -> bool:
    """RFC 6125 matching: exact, or a ``*.`` wildcard standing for exactly one leftmost label.

    ``CN=*`` (the quick-mode certificate) is treated as matching any name: that is what it was
    made for, and clients using it are told to skip verification anyway.
    """
    pattern, domain = pattern.lower().rstrip("."), domain.lower().rstrip(".")
    if pattern == "*" or pattern == domain:
        return True
    if pattern.startswith("*.") and not domain.startswith("*."):
        head, _, rest = domain.partition(".")
        return bool(head) and rest == pattern[2:]
    return False


def covers(info: CertificateInfo, domain: str) -> bool:
    """Whether a client connecting to ``domain`` would accept this certificate's names."""
    return any(_name_matches(name, domain) for name in info.names)
