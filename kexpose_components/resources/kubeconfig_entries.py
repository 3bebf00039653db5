"""``KubeconfigEntries``: the clusters, users and contexts kexpose merges into a kubeconfig file,
as a stack resource — so ``destroy`` takes them out again, and a renamed context does not leave
the old one behind. Other entries in the file, and the current context (unless ``activate``),
are never touched. The file lives on the machine that runs ``pulumi up``.
"""

from __future__ import annotations

from typing import Any

import pulumi
import yaml
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from kexpose_components.kubeconfig import entry_names, present_entries, remove_entries, write_merged
from kexpose_components.resources.provider import KexposeProvider

INPUTS = ("path", "config", "activate")


def _write(props: dict[str, Any], drop: set[str] = frozenset()) -> dict[str, Any]:
    config = yaml.safe_load(props["config"])
    names = entry_names(config)
    write_merged(props["path"], config, props.get("activate") or None, drop - names)
    return {**props, "names": sorted(names)}


class KubeconfigEntriesProvider(KexposeProvider):
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in INPUTS if olds.get(k) != news.get(k)]
        # The file is local, so drift is cheap to see: entries someone removed are written again.
        missing = not set(olds.get("names") or []) <= present_entries(olds["path"])
        return DiffResult(changes=bool(changed) or missing, replaces=["path"] if "path" in changed else [],
                          delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(props["path"], _write(props))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(_write(news, set(olds.get("names") or [])))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        remove_entries(props["path"], set(props.get("names") or []))


class KubeconfigEntries(Resource, module="kubeconfig", name="Entries"):
    """kexpose's entries in the kubeconfig at ``path``; ``activate`` names the context to switch to."""

    names: pulumi.Output[list]

    def __init__(self, name: str, path: str, config: pulumi.Input[str], activate: str | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(KubeconfigEntriesProvider(), name,
                         {"path": path, "config": config, "activate": activate or "", "names": None}, opts)
