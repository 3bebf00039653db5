"""The baseline resource: the lightest possible Python dynamic resource.

Next to native random.RandomId resources (the engine floor), the second baseline is a dynamic
resource whose provider does nothing. It pays exactly what every kexpose resource pays
for the engine and the dynamic-provider machinery (plugin start, gRPC, pickled provider), but no
HTTP and no waiting — so kexpose/baseline isolates what kexpose's providers add.
It lives in an importable module so the provider is serialized by reference, as kexpose's are.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider


class NoopProvider(ResourceProvider):
    """Create returns at once; diff compares inputs; read echoes the state."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(str(props["key"]), props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=olds.get("key") != news.get("key"))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)


class Noop(Resource, module="bench", name="Noop"):
    """One no-op resource with a single input (``key``)."""

    key: pulumi.Output[str]

    def __init__(self, name: str, key: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__(NoopProvider(), name, {"key": key}, opts)
