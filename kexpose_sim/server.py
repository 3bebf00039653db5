"""The HTTP layer: Admin Router routing in front of Marathon and Edge-LB, plus ``/_sim`` admin.

Admin Router speaks HTTP, or HTTPS with the cluster CA's certificate (``--tls``; the CA is kept in
the state dir and served at ``/ca/dcos-ca.crt`` either way). Routes (as on a DC/OS master):
- ``/acs/api/v1/auth/login``, and without a token ``/acs/api/v1/auth/providers``,
  ``/dcos-metadata/dcos-version.json``, ``/ca/dcos-ca.crt``;
- ``/metadata``, ``/mesos_dns/…``, ``/system/health/v1/…`` -> the cluster endpoints;
- ``/mesos/…``, ``/agent/…`` -> the Mesos master and agents;
- ``/secrets/v1/secret/…`` -> the Secrets API (DC/OS Enterprise);
- ``/service/marathon/…`` and the legacy ``/marathon/…`` -> Marathon, prefix stripped;
- ``/service/<edgelb>/…`` -> Edge-LB (the name is configurable, as when Edge-LB is installed
  under another service name);
- bare ``/v2/…`` and ``/ping`` -> Marathon directly (like Marathon's own port inside a cluster);
- ``/_sim/…`` -> the simulator's admin API (faults, stats, cluster, accounts). Never under the
  DC/OS paths, never subject to faults or auth.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from dataclasses import asdict

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from kexpose_sim import mesos, naming
from kexpose_sim.adminrouter import responses as adminrouter_responses
from kexpose_sim.adminrouter import tls
from kexpose_sim.config import SimConfig
from kexpose_sim.dataplane.plane import DataPlane
from kexpose_sim.edgelb import responses as edgelb_responses
from kexpose_sim.faults import Decision, FaultConfig
from kexpose_sim.http import json_response, nginx_html, text_response
from kexpose_sim.marathon import responses as marathon_responses
from kexpose_sim.secrets import responses as secrets_responses
from kexpose_sim.state import SimState

log = logging.getLogger("kexpose_sim")


def _error_for(service: str, status: int) -> Response:
    """An injected server error in the style of the service that would send it."""
    if service == "marathon":
        return json_response({"message": "Injected fault: service unavailable"}, status)
    if service == "edgelb":
        return json_response({"code": status, "message": "Injected fault: internal error"}, status)
    return nginx_html(status, "Service Temporarily Unavailable")


def _drop(request: Request) -> Response:
    """Close the client connection without an answer (werkzeug treats the failed write that
    follows as a dropped connection)."""
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    return Response(b"", status=500)


class SimulatorApp:
    """The WSGI application."""

    def __init__(self, state: SimState, dataplane: DataPlane | None = None):
        self.state = state
        self.dataplane = dataplane

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except Exception:  # a simulator bug must still answer like a server, never hang
            log.exception("internal error handling %s %s", request.method, request.path)
            response = json_response({"message": "Internal simulator error"}, 500)
        return response(environ, start_response)

    def route(self, path: str) -> tuple[str | None, str]:
        """(service, path inside the service) for a request path."""
        edgelb = f"/service/{self.state.config.edgelb_service}"
        for prefix, service in (("/service/marathon", "marathon"), ("/marathon", "marathon"), (edgelb, "edgelb")):
            if path == prefix or path.startswith(prefix + "/"):
                return service, path[len(prefix):]
        if path.startswith("/mesos/") or path.startswith("/agent/"):
            return "mesos", path
        if path.startswith(secrets_responses.PREFIX):
            return "secrets", path
        service, sep, rest = path[len("/service/"):].partition("/v1/")
        if path.startswith("/service/") and sep:
            with self.state.lock:
                pool = self.state.edgelb.pool_of_service(service)
            if pool is not None:
                return f"edgelb-pool:{pool}", "/v1/" + rest
        if path.startswith(adminrouter_responses.PROTECTED_PREFIXES):
            return "dcos", path
        if path.startswith("/v2/") or path == "/ping":
            return "marathon", path
        return None, path

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/_sim/"):
            return self.admin(request, path[len("/_sim"):])
        if path == "/acs/api/v1/auth/login":
            return adminrouter_responses.login(self.state, request)
        if (answer := adminrouter_responses.handle_open(self.state, request, path)) is not None:
            return answer
        service, inner = self.route(path)
        if service is None:
            if path.startswith("/service/"):
                return text_response("404 Not Found: service not found.", 404)
            return nginx_html(404, "Not Found")
        if inner == "":
            return Response("", status=301, headers={"Location": path + "/"})
        denied = adminrouter_responses.denied(self.state, request)
        if denied is not None:
            return denied
        self.state.stats.count(service.partition(":")[0], request.method, inner)
        decision, status = self.state.faults.decide(request.method, inner)
        if decision == Decision.DROP:
            return _drop(request)
        if decision == Decision.ERROR:
            return _error_for(service, status)
        if service.startswith("edgelb-pool:"):
            return edgelb_responses.handle_scheduler(self.state, request, service.partition(":")[2], inner)
        handler = {"marathon": marathon_responses, "edgelb": edgelb_responses, "mesos": mesos,
                   "dcos": adminrouter_responses, "secrets": secrets_responses}[service]
        return handler.handle(self.state, request, inner)

    # -- /_sim admin API ------------------------------------------------------------------------
    def admin(self, request: Request, path: str) -> Response:
        state = self.state
        method = request.method
        body = request.get_json(silent=True) if method in ("PUT", "POST") else None
        if path == "/health":
            return json_response({"ok": True})
        if path == "/faults":
            if method == "GET":
                return json_response(state.faults.describe())
            if method == "PUT":
                try:
                    state.faults.set(FaultConfig.from_dict(body or {}))
                except (TypeError, ValueError) as exc:
                    return json_response({"message": str(exc)}, 400)
                return json_response(state.faults.describe())
            if method == "DELETE":
                state.faults.set(FaultConfig())
                return json_response(state.faults.describe())
        if path == "/stats":
            if method == "DELETE":
                state.stats.reset()
            return json_response(state.stats.describe())
        if path == "/cluster" and method == "GET":
            return json_response(self.describe_cluster())
        if path == "/kubernetes" and method == "GET":
            if self.dataplane is None:
                return json_response({"message": "the data plane is off (--no-dataplane)"}, 404)
            return json_response(self.dataplane.kubernetes.describe())
        if path == "/state" and method == "GET":
            return json_response(state.snapshot())
        if path.startswith("/ssh"):
            return self.admin_ssh(path, method, body)
        if path.startswith("/secrets/grants/") and method == "PUT" and isinstance(body, dict):
            return self.admin_secret_grants(path[len("/secrets/grants/"):], body)
        if path.startswith("/auth/") and method == "PUT" and isinstance(body, dict):
            return self.admin_auth(path[len("/auth/"):], body)
        return json_response({"message": f"no admin route {method} /_sim{path}"}, 404)

    def admin_ssh(self, path: str, method: str, body) -> Response:
        """The agents' sshd: who may log in (an operator's authorized_keys) and their host keys."""
        if self.dataplane is None:
            return json_response({"message": "the data plane is off (--no-dataplane)"}, 404)
        sshd = self.dataplane.sshd
        if path == "/ssh" and method == "GET":
            return json_response(sshd.describe())
        if path == "/ssh/known-hosts" and method == "GET":
            return text_response(sshd.known_hosts())
        if path == "/ssh/authorized-keys" and method == "PUT" and isinstance(body, dict):
            try:
                sshd.authorize(str(body.get("public_key", "")))
            except ValueError as exc:
                return json_response({"message": str(exc)}, 400)
            return json_response(sshd.describe())
        if path == "/ssh/authorized-keys" and method == "DELETE":
            sshd.revoke_all()
            return json_response(sshd.describe())
        return json_response({"message": f"no admin route {method} /_sim{path}"}, 404)

    def admin_auth(self, path: str, body: dict) -> Response:
        auth = self.state.auth
        with self.state.lock:
            kind, _, uid = path.partition("/")
            if kind == "service-accounts" and uid and "public_key" in body:
                auth.service_accounts[uid] = body["public_key"]
            elif kind == "users" and uid and "password" in body:
                auth.users[uid] = body["password"]
            elif kind == "forbidden" and uid:
                auth.forbidden.add(uid) if body.get("forbidden", True) else auth.forbidden.discard(uid)
            elif kind == "token-lifetime" and "seconds" in body:
                auth.token_lifetime = float(body["seconds"])
            else:
                return json_response({"message": f"bad admin auth request {path} {body}"}, 400)
        self.state.save()
        with self.state.lock:
            return json_response(auth.to_dict())

    def admin_secret_grants(self, uid: str, body: dict) -> Response:
        """``{"paths": [...]}``: the secret path prefixes ``uid`` may use (DC/OS's
        ``dcos:secrets:default:/<prefix>/* full``); ``null`` lifts the restriction."""
        paths = body.get("paths")
        if not uid or not (paths is None or (isinstance(paths, list) and all(isinstance(p, str) for p in paths))):
            return json_response({"message": 'body must be {"paths": ["prefix", ...]} or {"paths": null}'}, 400)
        with self.state.lock:
            if paths is None:
                self.state.secrets.grants.pop(uid, None)
            else:
                self.state.secrets.grants[uid] = paths
        self.state.save()
        with self.state.lock:
            return json_response(self.state.secrets.grants)

    def describe_cluster(self) -> dict:
        cluster = self.state.cluster
        return {
            "agents": [
                {**asdict(a), "hostname": a.hostname, "role": a.role} for a in cluster.agents
            ],
            "kubernetes": [
                {
                    "name": f.name,
                    "framework_id": f.id,
                    "vip": f.vip,
                    "vip_address": cluster.vip_addresses.get(naming.vip_name(f.name)),
                    "tasks": [asdict(t) for t in f.tasks],
                }
                for f in cluster.kubernetes_services()
            ],
        }


class Runner(threading.Thread):
    """Advances deployments and pools in the background."""

    def __init__(self, state: SimState):
        super().__init__(name="kexpose-sim-runner", daemon=True)
        self.state = state
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.state.config.timing.tick):
            try:
                self.state.tick(time.time())
            except Exception:
                log.exception("runner tick failed")


class Simulator:
    """A running simulator: HTTP server plus background runner."""

    def __init__(self, config: SimConfig, faults: FaultConfig | None = None, verbose: bool = False,
                 dataplane: bool = True):
        logging.getLogger("werkzeug").setLevel(logging.INFO if verbose else logging.ERROR)
        self.state = SimState(config, faults)
        self.dataplane = DataPlane(self.state) if dataplane else None
        self.app = SimulatorApp(self.state, self.dataplane)
        tls.cluster_ca(config.state_dir)  # the cluster's CA exists from the first start, HTTPS or not
        context = tls.server_context(config.state_dir, [config.master_ip, *config.tls_names]) if config.tls else None
        self.server = make_server(config.host, config.port, self.app, threaded=True, ssl_context=context)
        self.runner = Runner(self.state)
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{'https' if self.state.config.tls else 'http'}://{host}:{port}"

    def start(self) -> Simulator:
        """Serve in a background thread (for in-process use)."""
        if self.dataplane is not None:
            self.dataplane.start()
        self.runner.start()
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="kexpose-sim-http", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted; state is saved on the way out."""
        if self.dataplane is not None:
            self.dataplane.start()
        self.runner.start()
        try:
            self.server.serve_forever()
        finally:
            self._close()

    def stop(self) -> None:
        """Stop a simulator started with ``start()`` (a second call does nothing)."""
        if self._closed:
            return
        self.server.shutdown()
        if self._thread is not None:
            self._thread.join()
        self._close()

    def _close(self) -> None:
        self._closed = True
        self.runner.stopping.set()
        if self.runner.is_alive():
            self.runner.join()
        if self.dataplane is not None:
            self.dataplane.stop()
        self.server.server_close()
        self.state.save()

    def describe(self) -> str:
        return json.dumps({"base_url": self.base_url, "agent_network": self.state.config.agent_network})
