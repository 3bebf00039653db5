"""Reading the Kubernetes protobuf bodies kubectl sends to the access-review endpoints.

kubectl's typed clients POST ``SelfSubjectAccessReview`` / ``SelfSubjectRulesReview`` as
``application/vnd.kubernetes.protobuf`` (``kubectl auth can-i``), not JSON, and accept JSON
back. The envelope is the magic ``k8s\\0`` and a ``runtime.Unknown`` whose ``raw`` field holds
the object; only the review specs' string fields are read (field numbers from
k8s.io/api/authorization/v1/generated.proto), with a minimal reader of the protobuf wire format.
"""

from __future__ import annotations

from typing import Any

MAGIC = b"k8s\x00"
RESOURCE_ATTRIBUTES = {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource", 6: "subresource", 7: "name"}
NON_RESOURCE_ATTRIBUTES = {1: "path", 2: "verb"}


class ProtobufError(ValueError):
    """The body is not a Kubernetes protobuf object."""


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[i]
        value |= (byte & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if not byte & 0x80:
            return value, i


def fields(data: bytes) -> dict[int, list[bytes | int]]:
    """Field number -> values (bytes for length-delimited fields, ints for varints)."""
    out: dict[int, list[bytes | int]] = {}
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 2:
            size, i = _varint(data, i)
            if i + size > len(data):
                raise ProtobufError("truncated field")
            value, i = data[i:i + size], i + size
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, i = data[i:i + size], i + size
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        out.setdefault(number, []).append(value)
    return out


def _strings(data: bytes, names: dict[int, str]) -> dict[str, str]:
    found = fields(data)
    return {name: found[n][-1].decode() for n, name in names.items() if n in found and isinstance(found[n][-1], bytes)}


def review_spec(body: bytes, kind: str) -> dict[str, Any]:
    """The JSON-shaped ``spec`` of a protobuf-encoded review."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf magic")
    raw = fields(body[len(MAGIC):]).get(2, [b""])[-1]
    spec_bytes = fields(raw).get(2, [b""])[-1] if isinstance(raw, bytes) else b""
    if not isinstance(spec_bytes, bytes):
        raise ProtobufError("spec is not a message")
    spec = fields(spec_bytes)
    if kind == "SelfSubjectRulesReview":
        return _strings(spec_bytes, {1: "namespace"})
    out: dict[str, Any] = {}
    if 1 in spec and isinstance(spec[1][-1], bytes):
        out["resourceAttributes"] = _strings(spec[1][-1], RESOURCE_ATTRIBUTES)
    if 2 in spec and isinstance(spec[2][-1], bytes):
        out["nonResourceAttributes"] = _strings(spec[2][-1], NON_RESOURCE_ATTRIBUTES)
    return out
