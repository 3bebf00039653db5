"""A TLS endpoint per simulated Kubernetes service that answers like kube-apiserver.

Enough of the API for what users do through an exposure: anonymous requests get the 403
``Status`` naming ``system:anonymous`` (the seeds' ``curl -k`` check); with the service's bearer
token: ``/version``, discovery (``/api``, ``/api/v1``, ``/apis``), namespaces and pods (plain and
as ``Table`` for ``kubectl get``), and pod logs with ``follow=true`` — pod ``silent`` keeps the
stream open without a byte for as long as the client stays (what tunnel timeouts cut), pod
``ticker`` writes a line every second.
"""

from __future__ import annotations

import json
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from kexpose_sim.dataplane.pki import KeyPair

VERSION = {"major": "1", "minor": "24", "gitVersion": "v1.24.9", "gitCommit": "9710807c82740b9799453677c977758becf0acbb",
           "gitTreeState": "clean", "buildDate": "2022-12-08T10:08:06Z", "goVersion": "go1.18.9", "compiler": "gc",
           "platform": "linux/amd64"}
NAMESPACES = ("default", "kube-public", "kube-system")
PODS = {"default": ("hello", "silent", "ticker"), "kube-system": ("coredns-0",)}
CREATED = "2026-01-01T00:00:00Z"


def status(code: int, reason: str, message: str, details: dict | None = None) -> Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "details": details or {}, "code": code}
    return Response(json.dumps(body, indent=2), status=code, content_type="application/json")


def _json(body: Any) -> Response:
    return Response(json.dumps(body), content_type="application/json")


def _table(kind: str, names: list[str], extra: list[tuple[str, list[str]]]) -> dict[str, Any]:
    """The meta.k8s.io/v1 Table ``kubectl get`` asks for (server-side printing)."""
    columns = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    columns += [{"name": c, "type": "string", "format": "", "description": c, "priority": 0} for c, _ in extra]
    rows = [{"cells": [n] + [vals[i] for _, vals in extra],
             "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                        "metadata": {"name": n, "creationTimestamp": CREATED}}} for i, n in enumerate(names)]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": "1"},
            "columnDefinitions": columns, "rows": rows}


def _pod(namespace: str, name: str) -> dict[str, Any]:
    """A Pod as kubectl needs it (``kubectl logs`` picks the container from ``spec.containers``)."""
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": CREATED},
            "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "main", "ready": True, "restartCount": 0, "image": "busybox:1.36", "started": True}]}}


def _resource_list() -> dict[str, Any]:
    def res(name: str, kind: str, namespaced: bool, verbs: list[str]) -> dict[str, Any]:
        return {"name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": verbs}

    return {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        res("namespaces", "Namespace", False, ["get", "list"]),
        res("pods", "Pod", True, ["get", "list"]),
        res("pods/log", "Pod", True, ["get"]),
    ]}


@dataclass
class ApiServerIdentity:
    service: str
    ca: KeyPair
    server: KeyPair
    token: str


class KubeApiApp:
    """The WSGI app behind every listening address of one service's apiserver."""

    def __init__(self, identity: ApiServerIdentity):
        self.identity = identity

    def __call__(self, environ, start_response):
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        header = request.headers.get("Authorization", "")
        if not header:
            verb = "get" if request.method == "GET" else request.method.lower()
            return status(403, "Forbidden", f'forbidden: User "system:anonymous" cannot {verb} path "{request.path}"')
        if header != f"Bearer {self.identity.token}":
            return status(401, "Unauthorized", "Unauthorized")
        return self.route(request)

    def route(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        table = "as=Table" in request.headers.get("Accept", "")
        parts = path.strip("/").split("/")
        if path == "/":
            return _json({"paths": ["/api", "/api/v1", "/apis", "/version"]})
        if path == "/version":
            return _json(VERSION)
        if path == "/api":
            return _json({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": request.host}]})
        if path == "/apis":
            return _json({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
        if path == "/api/v1":
            return _json(_resource_list())
        if parts[:3] == ["api", "v1", "namespaces"]:
            return self.namespaces(request, parts[3:], table)
        return status(404, "NotFound", "the server could not find the requested resource")

    def namespaces(self, request: Request, rest: list[str], table: bool) -> Response:
        if not rest:
            if table:
                return _json(_table("Namespace", list(NAMESPACES), [("Status", ["Active"] * len(NAMESPACES)),
                                                                   ("Age", ["320d"] * len(NAMESPACES))]))
            return _json({"kind": "NamespaceList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
                          "items": [{"metadata": {"name": n, "creationTimestamp": CREATED}, "spec": {"finalizers": ["kubernetes"]},
                                     "status": {"phase": "Active"}} for n in NAMESPACES]})
        namespace = rest[0]
        if namespace not in NAMESPACES:
            return status(404, "NotFound", f'namespaces "{namespace}" not found', {"name": namespace, "kind": "namespaces"})
        if len(rest) == 1:
            return _json({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": namespace, "creationTimestamp": CREATED},
                          "status": {"phase": "Active"}})
        if rest[1] != "pods":
            return status(404, "NotFound", "the server could not find the requested resource")
        pods = PODS.get(namespace, ())
        if len(rest) == 2:
            if table:
                return _json(_table("Pod", list(pods), [("Ready", ["1/1"] * len(pods)), ("Status", ["Running"] * len(pods))]))
            return _json({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
                          "items": [_pod(namespace, p) for p in pods]})
        pod = rest[2]
        if pod not in pods:
            return status(404, "NotFound", f'pods "{pod}" not found', {"name": pod, "kind": "pods"})
        if len(rest) == 4 and rest[3] == "log":
            return self.logs(pod, request.args.get("follow") == "true")
        return _json(_pod(namespace, pod))

    def logs(self, pod: str, follow: bool) -> Response:
        if not follow or pod == "hello":
            return Response(f"hello from {self.identity.service}\n", content_type="text/plain")

        def stream():
            yield b""  # the status line and headers go out at once, as kube-apiserver sends them
            if pod == "ticker":
                n = 0
                while True:
                    n += 1
                    yield f"tick {n} from {self.identity.service}\n".encode()
                    time.sleep(1)
            while True:  # "silent": an open stream that never says anything
                time.sleep(3600)
                yield b""

        return Response(stream(), content_type="text/plain", direct_passthrough=True)


class KubeApiServer:
    """One service's apiserver, listening on several (address, port) pairs with the same cert."""

    def __init__(self, identity: ApiServerIdentity, addresses: list[tuple[str, int]]):
        self.identity = identity
        self.addresses = addresses
        self._servers = []
        self._threads: list[threading.Thread] = []
        self._files = tempfile.TemporaryDirectory(prefix="kexpose-apiserver-")

    def _ssl_context(self) -> ssl.SSLContext:
        d = Path(self._files.name)
        self.identity.server.write(d / "server.pem", d / "server-key.pem")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(d / "server.pem", d / "server-key.pem")
        return context

    def start(self) -> KubeApiServer:
        context = self._ssl_context()
        app = KubeApiApp(self.identity)
        for host, port in self.addresses:
            server = make_server(host, port, app, threaded=True, ssl_context=context)
            server.daemon_threads = True
            thread = threading.Thread(target=server.serve_forever, name=f"apiserver-{host}:{port}", daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._files.cleanup()
