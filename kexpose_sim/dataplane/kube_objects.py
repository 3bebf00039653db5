"""What one simulated Kubernetes service's apiserver holds, and how it prints it.

A DC/OS Kubernetes service runs its control plane and kubelets as Mesos tasks, and its nodes
carry the task's Mesos-DNS name (``kube-control-plane-0-instance.<service>.mesos``,
``kube-node-0-kubelet.<service>.mesos``, the service name without slashes) and the agent's
address as their ``InternalIP``. Namespaces, the demo pods (``hello``, ``silent``, ``ticker``
in ``default``; CoreDNS in ``kube-system``) and the two services every cluster has
(``default/kubernetes``, ``kube-system/kube-dns`` labelled ``kubernetes.io/cluster-service``
for ``kubectl cluster-info``) are fixed. ``Table`` renderings use kube-apiserver's own columns
(``-o wide`` shows the priority-1 ones), with ``Age`` computed at request time as the server does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

from kexpose_sim import naming

KUBERNETES_VERSION = "v1.24.9"
CREATED = "2026-01-01T00:00:00Z"
NAMESPACES = ("default", "kube-public", "kube-system")
PODS = {"default": ("hello", "silent", "ticker"), "kube-system": ("coredns-0",)}


@dataclass(frozen=True)
class KubeCluster:
    """The facts a service's objects derive from."""

    service: str
    node_address: str  # the DC/OS agent running the service's tasks

    @property
    def domain(self) -> str:
        return naming.normalize_service_name(self.service).replace("/", "")

    @property
    def control_plane_node(self) -> str:
        return f"kube-control-plane-0-instance.{self.domain}.mesos"

    @property
    def worker_node(self) -> str:
        return f"kube-node-0-kubelet.{self.domain}.mesos"


def _meta(name: str, namespace: str | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "creationTimestamp": CREATED, "resourceVersion": "1"}
    if namespace is not None:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = labels
    return meta


def namespace(name: str) -> dict[str, Any]:
    return {"kind": "Namespace", "apiVersion": "v1",
            "metadata": _meta(name, labels={"kubernetes.io/metadata.name": name}),
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def node(cluster: KubeCluster, name: str, control_plane: bool) -> dict[str, Any]:
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
    return {"kind": "Node", "apiVersion": "v1", "metadata": _meta(name, labels=labels),
            "spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]} if control_plane else {},
            "status": {
                "addresses": [{"type": "InternalIP", "address": cluster.node_address}, {"type": "Hostname", "address": name}],
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                "message": "kubelet is posting ready status", "lastTransitionTime": CREATED}],
                "nodeInfo": {"kubeletVersion": KUBERNETES_VERSION, "kubeProxyVersion": KUBERNETES_VERSION,
                             "osImage": "CentOS Linux 7 (Core)", "kernelVersion": "3.10.0-1160.el7.x86_64",
                             "containerRuntimeVersion": "containerd://1.6.15", "operatingSystem": "linux",
                             "architecture": "amd64"}}}


def pod(cluster: KubeCluster, ns: str, name: str) -> dict[str, Any]:
    """A Pod as kubectl needs it (``kubectl logs`` picks the container from ``spec.containers``)."""
    ip = f"10.244.1.{2 + sorted(p for pods in PODS.values() for p in pods).index(name)}"
    return {"kind": "Pod", "apiVersion": "v1", "metadata": _meta(name, ns),
            "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}], "nodeName": cluster.worker_node},
            "status": {"phase": "Running", "hostIP": cluster.node_address, "podIP": ip, "startTime": CREATED,
                       "containerStatuses": [{"name": "main", "ready": True, "restartCount": 0, "image": "busybox:1.36",
                                              "started": True, "state": {"running": {"startedAt": CREATED}}}]}}


def _service(name: str, ns: str, ip: str, ports: list[dict[str, Any]], labels: dict[str, str] | None = None,
             selector: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip], "ports": ports}
    if selector:
        spec["selector"] = selector
    return {"kind": "Service", "apiVersion": "v1", "metadata": _meta(name, ns, labels), "spec": spec,
            "status": {"loadBalancer": {}}}


def objects(cluster: KubeCluster) -> dict[str, list[dict[str, Any]]]:
    """Every object, by resource name."""
    dns_labels = {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"}
    return {
        "namespaces": [namespace(n) for n in NAMESPACES],
        "nodes": [node(cluster, cluster.control_plane_node, True), node(cluster, cluster.worker_node, False)],
        "pods": [pod(cluster, ns, p) for ns, pods in PODS.items() for p in pods],
        "services": [
            _service("kubernetes", "default", "10.100.0.1", [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": 6443}],
                     {"component": "apiserver", "provider": "kubernetes"}),
            _service("kube-dns", "kube-system", "10.100.0.10",
                     [{"name": "dns", "protocol": "UDP", "port": 53, "targetPort": 53},
                      {"name": "dns-tcp", "protocol": "TCP", "port": 53, "targetPort": 53},
                      {"name": "metrics", "protocol": "TCP", "port": 9153, "targetPort": 9153}],
                     dns_labels, {"k8s-app": "kube-dns"}),
        ],
    }


def human_duration(seconds: int) -> str:
    """kube-apiserver's ``Age`` format (k8s.io/apimachinery ``duration.HumanDuration``)."""
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 730:
        return f"{days}d"
    if days < 2920:
        return f"{days // 365}y{days % 365}d" if days % 365 else f"{days // 365}y"
    return f"{days // 365}y"


def age(obj: dict[str, Any], now: dt.datetime) -> str:
    created = dt.datetime.fromisoformat(obj["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
    return human_duration(max(0, int((now - created).total_seconds())))


def _ports(svc: dict[str, Any]) -> str:
    return ",".join(f"{p['port']}/{p['protocol']}" for p in svc["spec"]["ports"])


def _address(n: dict[str, Any], kind: str) -> str:
    return next((a["address"] for a in n["status"]["addresses"] if a["type"] == kind), "<none>")


Column = tuple[str, int, Callable[[dict[str, Any], dt.datetime], Any]]  # name, priority, cell
_NONE = "<none>"
COLUMNS: dict[str, list[Column]] = {
    "namespaces": [("Status", 0, lambda o, _: o["status"]["phase"]), ("Age", 0, age)],
    "nodes": [("Status", 0, lambda o, _: "Ready"),
              ("Roles", 0, lambda o, _: ",".join(sorted(k.split("/", 1)[1] for k in o["metadata"]["labels"]
                                                      if k.startswith("node-role.kubernetes.io/"))) or _NONE),
              ("Age", 0, age), ("Version", 0, lambda o, _: o["status"]["nodeInfo"]["kubeletVersion"]),
              ("Internal-IP", 1, lambda o, _: _address(o, "InternalIP")),
              ("External-IP", 1, lambda o, _: _address(o, "ExternalIP")),
              ("OS-Image", 1, lambda o, _: o["status"]["nodeInfo"]["osImage"]),
              ("Kernel-Version", 1, lambda o, _: o["status"]["nodeInfo"]["kernelVersion"]),
              ("Container-Runtime", 1, lambda o, _: o["status"]["nodeInfo"]["containerRuntimeVersion"])],
    "pods": [("Ready", 0, lambda o, _: "1/1"), ("Status", 0, lambda o, _: o["status"]["phase"]),
             ("Restarts", 0, lambda o, _: 0), ("Age", 0, age), ("IP", 1, lambda o, _: o["status"]["podIP"]),
             ("Node", 1, lambda o, _: o["spec"]["nodeName"]), ("Nominated Node", 1, lambda o, _: _NONE),
             ("Readiness Gates", 1, lambda o, _: _NONE)],
    "services": [("Type", 0, lambda o, _: o["spec"]["type"]), ("Cluster-IP", 0, lambda o, _: o["spec"]["clusterIP"]),
                 ("External-IP", 0, lambda o, _: _NONE), ("Port(s)", 0, lambda o, _: _ports(o)), ("Age", 0, age),
                 ("Selector", 1, lambda o, _: ",".join(f"{k}={v}" for k, v in o["spec"].get("selector", {}).items()) or _NONE)],
}


def table(resource: str, items: list[dict[str, Any]], now: dt.datetime) -> dict[str, Any]:
    """The meta.k8s.io/v1 ``Table`` that ``kubectl get`` asks for (server-side printing)."""
    columns = [("Name", 0, lambda o, _: o["metadata"]["name"])] + COLUMNS[resource]
    definitions = [{"name": name, "type": "integer" if name == "Restarts" else "string",
                    "format": "name" if name == "Name" else "", "description": name, "priority": priority}
                   for name, priority, _ in columns]
    rows = [{"cells": [cell(o, now) for _, _, cell in columns],
             "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}}
            for o in items]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": "1"},
            "columnDefinitions": definitions, "rows": rows}
