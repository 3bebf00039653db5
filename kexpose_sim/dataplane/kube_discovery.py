"""API discovery of the simulated kube-apiserver, in both forms clients use.

kubectl resolves what a user types (``ns``, ``po``, ``no``, ``svc``) through discovery before it
sends a single list call. Current clients (kubectl >= 1.26) first ask ``/api`` and ``/apis`` for
the *aggregated* form (``Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList``)
and fall back to the legacy one (``APIVersions`` / ``APIGroupList`` plus one ``APIResourceList``
per group version) when the server answers plain JSON. Both are built from one table of
resources here, so they cannot disagree. ``verbs`` list what the simulator really answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
READ = ("get", "list")


@dataclass(frozen=True)
class Resource:
    name: str  # plural, as in the URL
    singular: str
    kind: str
    namespaced: bool
    group: str = ""  # "" = the core (legacy) group under /api
    version: str = "v1"
    verbs: tuple[str, ...] = READ
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> verbs

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


RESOURCES = (
    Resource("namespaces", "namespace", "Namespace", False, short_names=("ns",)),
    Resource("nodes", "node", "Node", False, short_names=("no",)),
    Resource("pods", "pod", "Pod", True, short_names=("po",), categories=("all",), subresources={"log": ("get",), "exec": ("create", "get")}),
    Resource("services", "service", "Service", True, short_names=("svc",), categories=("all",)),
    Resource("selfsubjectaccessreviews", "selfsubjectaccessreview", "SelfSubjectAccessReview", False,
             group="authorization.k8s.io", verbs=("create",)),
    Resource("selfsubjectrulesreviews", "selfsubjectrulesreview", "SelfSubjectRulesReview", False,
             group="authorization.k8s.io", verbs=("create",)),
)
GROUPS = tuple(dict.fromkeys(r.group for r in RESOURCES if r.group))


def find(group: str, name: str) -> Resource | None:
    return next((r for r in RESOURCES if r.group == group and r.name == name), None)


def wants_aggregated(accept: str) -> bool:
    """Whether the client offers the v2 aggregated form (it lists it first when it does)."""
    return any(part.replace(" ", "") == AGGREGATED_V2 for part in accept.split(","))


def api_versions(server_address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group_version(group: str) -> dict[str, str]:
    return {"groupVersion": f"{group}/v1", "version": "v1"}


def api_group(group: str) -> dict[str, Any]:
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": [_group_version(group)],
            "preferredVersion": _group_version(group)}


def api_group_list() -> dict[str, Any]:
    groups = [api_group(g) for g in GROUPS]
    for g in groups:
        del g["kind"], g["apiVersion"]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def resource_list(group: str) -> dict[str, Any]:
    """The legacy ``APIResourceList`` of one group version (``/api/v1``, ``/apis/<group>/v1``)."""
    items = []
    for r in (r for r in RESOURCES if r.group == group):
        entry: dict[str, Any] = {"name": r.name, "singularName": r.singular, "namespaced": r.namespaced,
                                 "kind": r.kind, "verbs": list(r.verbs)}
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        items.append(entry)
        items += [{"name": f"{r.name}/{sub}", "singularName": "", "namespaced": r.namespaced, "kind": r.kind,
                   "verbs": list(verbs)} for sub, verbs in r.subresources.items()]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/v1" if group else "v1",
            "resources": items}


def _discovered(r: Resource) -> dict[str, Any]:
    kind = {"group": r.group, "version": r.version, "kind": r.kind}
    entry: dict[str, Any] = {"resource": r.name, "responseKind": kind, "scope": "Namespaced" if r.namespaced else "Cluster",
                             "singularResource": r.singular, "verbs": list(r.verbs)}
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    if r.categories:
        entry["categories"] = list(r.categories)
    if r.subresources:
        entry["subresources"] = [{"subresource": sub, "responseKind": kind, "verbs": list(verbs)}
                                 for sub, verbs in r.subresources.items()]
    return entry


def aggregated(legacy: bool) -> dict[str, Any]:
    """``APIGroupDiscoveryList``: the core group for ``/api`` (legacy), the named groups for ``/apis``."""
    groups = [""] if legacy else list(GROUPS)
    items = [{"metadata": {"name": g, "creationTimestamp": None},
              "versions": [{"version": "v1", "freshness": "Current",
                            "resources": [_discovered(r) for r in RESOURCES if r.group == g]}]} for g in groups]
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}
