"""A TLS endpoint per simulated Kubernetes service that answers like kube-apiserver.

What a user types first through an exposure works with the real ``kubectl``: anonymous
requests get the 403 ``Status`` naming ``system:anonymous`` (the seeds' ``curl -k`` check); with
the service's bearer token: ``/version``, discovery in both forms (``kube_discovery``), ``get``
and ``list`` of namespaces, nodes, pods and services — in one namespace or all (``-A``), as
objects or as ``Table`` for ``kubectl get``, filtered by label and field selectors — the access
reviews behind ``kubectl auth can-i`` (the token is the cluster admin's: everything is allowed),
and pod logs with ``follow=true``: pod ``silent`` keeps the stream open without a byte for as
long as the client stays (what tunnel timeouts cut), pod ``ticker`` writes a line every second.
``pods/<name>/exec`` takes the connection upgrade kubectl asks for (101) and then echoes every
byte: not kubectl's stream frames, but a tunnel that stays open idle through a proxy, as an exec
session where nobody types does. Other verbs answer 405, as kube-apiserver does for a verb a
resource does not serve.
"""

from __future__ import annotations

import datetime as dt
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

from kexpose_sim.dataplane import kube_discovery as discovery
from kexpose_sim.dataplane.kube_protobuf import review_spec
from kexpose_sim.dataplane.kube_objects import KUBERNETES_VERSION, KubeCluster, objects, table
from kexpose_sim.dataplane.kube_selectors import SelectorError, select
from kexpose_sim.dataplane.pki import KeyPair

VERSION = {"major": "1", "minor": "24", "gitVersion": KUBERNETES_VERSION, "gitCommit": "9710807c82740b9799453677c977758becf0acbb",
           "gitTreeState": "clean", "buildDate": "2022-12-08T10:08:06Z", "goVersion": "go1.18.9", "compiler": "gc",
           "platform": "linux/amd64"}
ADMIN_REASON = 'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters"'
NOT_FOUND = "the server could not find the requested resource"


def status(code: int, reason: str, message: str, details: dict | None = None) -> Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "details": details or {}, "code": code}
    return Response(json.dumps(body, indent=2), status=code, content_type="application/json")


def _json(body: Any, code: int = 200, content_type: str = "application/json") -> Response:
    return Response(json.dumps(body), status=code, content_type=content_type)


@dataclass
class ApiServerIdentity:
    service: str
    ca: KeyPair
    server: KeyPair
    token: str


@dataclass(frozen=True)
class CorePath:
    """What a core-group path names: a resource, maybe in a namespace, maybe one object of it."""

    resource: discovery.Resource
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None

    @classmethod
    def parse(cls, rest: list[str]) -> CorePath | None:
        """``rest`` is the path after ``/api/v1``; None for anything kube-apiserver would 404."""
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        resource = discovery.find("", rest[0]) if rest else None
        if resource is None or len(rest) > 3 or (namespace is not None and not resource.namespaced):
            return None
        if len(rest) == 3 and (namespace is None or rest[2] not in resource.subresources):
            return None
        return cls(resource, namespace, rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else None)


class KubeApiApp:
    """The WSGI app behind every listening address of one service's apiserver."""

    def __init__(self, identity: ApiServerIdentity, cluster: KubeCluster):
        self.identity = identity
        self.objects = objects(cluster)

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
        parts = [p for p in request.path.split("/") if p]
        aggregated = discovery.wants_aggregated(request.headers.get("Accept", ""))
        if not parts:
            return _json({"paths": ["/api", "/api/v1", "/apis", *[f"/apis/{g}" for g in discovery.GROUPS],
                                    *[f"/apis/{g}/v1" for g in discovery.GROUPS], "/version"]})
        if parts == ["version"]:
            return _json(VERSION)
        if parts in (["api"], ["apis"]) and aggregated:
            return _json(discovery.aggregated(legacy=parts == ["api"]), content_type=discovery.AGGREGATED_V2)
        if parts == ["api"]:
            return _json(discovery.api_versions(request.host))
        if parts == ["apis"]:
            return _json(discovery.api_group_list())
        if parts == ["api", "v1"]:
            return _json(discovery.resource_list(""))
        if parts[0] == "apis" and len(parts) >= 2 and parts[1] in discovery.GROUPS:
            return self.group(request, parts[1], parts[2:])
        if parts[:2] == ["api", "v1"]:
            return self.core(request, parts[2:])
        return status(404, "NotFound", NOT_FOUND)

    def group(self, request: Request, group: str, rest: list[str]) -> Response:
        if not rest:
            return _json(discovery.api_group(group))
        if rest == ["v1"]:
            return _json(discovery.resource_list(group))
        resource = discovery.find(group, rest[1]) if len(rest) == 2 and rest[0] == "v1" else None
        if resource is None:
            return status(404, "NotFound", NOT_FOUND)
        if request.method != "POST":
            return status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        return review(resource.kind, request.get_data(), request.mimetype)

    def core(self, request: Request, rest: list[str]) -> Response:
        """``/api/v1/<resource>[/<name>]`` and ``/api/v1/namespaces/<ns>/<resource>[/<name>[/log]]``."""
        target = CorePath.parse(rest)
        if target is None:
            return status(404, "NotFound", NOT_FOUND)
        if target.subresource == "exec":
            return self.exec(request, target)
        if request.method != "GET":
            return status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        resource = target.resource
        items = [o for o in self.objects[resource.name]
                 if target.namespace is None or o["metadata"].get("namespace") == target.namespace]
        as_table = "as=Table" in request.headers.get("Accept", "")
        if target.name is None:
            return self.list(request, resource, items, as_table)
        found = next((o for o in items if o["metadata"]["name"] == target.name), None)
        if found is None:
            return status(404, "NotFound", f'{resource.name} "{target.name}" not found',
                          {"name": target.name, "kind": resource.name})
        if target.subresource == "log":
            return self.logs(target.name, request.args.get("follow") == "true")
        return _json(table(resource.name, [found], _now()) if as_table else found)

    def exec(self, request: Request, target: CorePath) -> Any:
        """An upgraded connection that echoes (see the module docstring); without an upgrade,
        kube-apiserver's 400."""
        if not any(o["metadata"]["name"] == target.name and o["metadata"]["namespace"] == target.namespace
                   for o in self.objects["pods"]):
            return status(404, "NotFound", f'pods "{target.name}" not found', {"name": target.name, "kind": "pods"})
        upgrade = request.headers.get("Upgrade", "")
        if not upgrade or "upgrade" not in request.headers.get("Connection", "").lower():
            return status(400, "BadRequest", "Upgrade request required")
        connection = request.environ["werkzeug.socket"]

        def echo():
            yield b""  # the 101 goes out first
            while data := connection.recv(65536):
                yield data

        def tunnel(environ, start_response):  # a plain WSGI app: a Response would drop a 101's body
            start_response("101 Switching Protocols", [("Upgrade", upgrade), ("Connection", "Upgrade")])
            return echo()

        return tunnel

    def list(self, request: Request, resource: discovery.Resource, items: list[dict[str, Any]], as_table: bool) -> Response:
        try:
            items = select(resource.name, items, request.args.get("labelSelector", ""), request.args.get("fieldSelector", ""))
        except SelectorError as exc:
            return status(400, "BadRequest", str(exc))
        if as_table:
            return _json(table(resource.name, items, _now()))
        return _json({"kind": f"{resource.kind}List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items})

    def logs(self, pod: str, follow: bool) -> Response:
        if not follow or pod not in ("silent", "ticker"):
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


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _review_spec(kind: str, body: bytes, mimetype: str) -> dict[str, Any]:
    if mimetype == "application/vnd.kubernetes.protobuf":
        return review_spec(body, kind)
    obj = json.loads(body or b"{}")
    spec = obj.get("spec") if isinstance(obj, dict) else None
    return spec if isinstance(spec, dict) else {}


def review(kind: str, body: bytes, mimetype: str) -> Response:
    """A ``SelfSubjectAccessReview`` or ``SelfSubjectRulesReview`` (JSON or protobuf, as kubectl
    sends it), answered for the cluster admin."""
    try:
        spec = _review_spec(kind, body, mimetype)
    except ValueError as exc:
        return status(400, "BadRequest", f"the body of the request was in an unknown format: {exc}")
    if kind == "SelfSubjectAccessReview":
        if ("resourceAttributes" in spec) == ("nonResourceAttributes" in spec):
            cause = {"reason": "FieldValueInvalid", "field": "spec.resourceAttributes",
                     "message": 'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified'}
            return status(422, "Invalid", f'{kind}.authorization.k8s.io "" is invalid: spec.resourceAttributes: {cause["message"]}',
                          {"group": "authorization.k8s.io", "kind": kind, "causes": [cause]})
        result = {"allowed": True, "reason": ADMIN_REASON}
    else:
        result = {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                  "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}], "incomplete": False}
    return _json({"kind": kind, "apiVersion": "authorization.k8s.io/v1", "metadata": {"creationTimestamp": None},
                  "spec": spec, "status": result}, 201)


class KubeApiServer:
    """One service's apiserver, listening on several (address, port) pairs with the same cert."""

    def __init__(self, identity: ApiServerIdentity, addresses: list[tuple[str, int]], cluster: KubeCluster | None = None):
        self.identity = identity
        self.addresses = addresses
        self.cluster = cluster or KubeCluster(identity.service, addresses[0][0])
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
        app = KubeApiApp(self.identity, self.cluster)
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
