"""Edge-LB v2: pools, their readiness, and what Edge-LB fills in on read-back.

Edge-LB's API has no pool status endpoint, so "ready" means what a user would check by hand: the
pool's scheduler app in Marathon has no deployment running and at least one task up, its pool
tasks run (the scheduler's ``/v1/pod/status``, what ``dcos edgelb status`` reads: a task that cannot
launch, e.g. for a missing secret, is named with its reason), and the pool's rendered
``haproxy.cfg`` (``lbconfig``) carries every frontend port and backend of the pool.
A 500 on a write is known to happen *after* the change went through, so writes re-read on 500.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from kexpose_components import cancellation
from kexpose_components.dcos.client import DcosApiError, DcosSession
from kexpose_components.dcos.compare import Defaults
from kexpose_components.dcos.marathon import MarathonClient, Poll
from kexpose_components.errors import KexposeError

_REWRITE_REQUEST = {"forwardfor": True, "rewritePath": True, "setHostHeader": True, "xForwardedPort": True,
                    "xForwardedProtoHttpsIfTls": True}

#: Edge-LB 1.x read-back defaults (research notes §5.2); packageName/Version are the server's.
EDGELB_DEFAULTS = Defaults(
    server_fields=frozenset({"packageName", "packageVersion", "name"}),
    top={
        "apiVersion": ("V2",), "namespace": ("dcos-edgelb/pools",), "role": ("slave_public",), "cpus": (0.9,),
        "cpusAdminOverhead": (0.1,), "mem": (992,), "memAdminOverhead": (32,), "disk": (256,), "count": (1,),
        "constraints": ("hostname:UNIQUE",), "ports": ([],), "secrets": ([],), "virtualNetworks": ([],),
        "environmentVariables": ({},), "autoCertificate": (False,), "poolHealthcheckGracePeriod": (180,),
        "poolHealthcheckInterval": (12,), "poolHealthcheckMaxFail": (5,), "poolHealthcheckTimeout": (60,),
        "type": ("static",), "haproxy": ({},),
    },
    nested={
        "haproxy.stats": ({"bindAddress": "0.0.0.0", "bindPort": 9090},),
        "haproxy.stats.bindAddress": ("0.0.0.0",), "haproxy.stats.bindPort": (9090, 0),
        "haproxy.frontends": ([],), "haproxy.backends": ([],),
        "haproxy.frontends.*.bindAddress": ("0.0.0.0",), "haproxy.frontends.*.certificates": ([],),
        "haproxy.frontends.*.miscStrs": ([],), "haproxy.frontends.*.linkBackend.map": ([],),
        "haproxy.frontends.*.bindModifier": ("",), "haproxy.frontends.*.redirectToHttps": ({"except": []},),
        "haproxy.backends.*.balance": ("roundrobin",), "haproxy.backends.*.miscStrs": ([],),
        "haproxy.backends.*.rewriteHttp": ({"request": _REWRITE_REQUEST, "response": {"rewriteLocation": True}},),
        "haproxy.backends.*.rewriteHttp.request": (_REWRITE_REQUEST,),
        "haproxy.backends.*.rewriteHttp.response": ({"rewriteLocation": True},),
        "haproxy.backends.*.services.*.marathon": ({},), "haproxy.backends.*.services.*.mesos": ({},),
        "haproxy.backends.*.services.*.endpoint.type": ("AUTO_IP",),
        "haproxy.backends.*.services.*.endpoint.port": (-1,),
        "haproxy.backends.*.services.*.endpoint.check": ({"enabled": True},),
    },
    derived=frozenset({"haproxy.frontends.*.name"}),  # frontend_<bindAddress>_<bindPort> when unset
)

#: Changing only these relaunches nothing: Edge-LB re-renders haproxy.cfg and reloads in place.
RELOAD_ONLY_FIELDS = frozenset({"haproxy"})


def change_effect(fields: list[str]) -> str:
    """What applying a pool change does to the running load balancers."""
    if not fields:
        return "none"
    return "reload" if set(fields) <= RELOAD_ONLY_FIELDS else "relaunch"


def live_pool(pool: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in pool.items() if k not in ("packageName", "packageVersion")}


class PoolNotReady(KexposeError):
    """A pool did not become ready in time; the message says which check failed."""


class EdgeLBClient:
    def __init__(self, session: DcosSession, poll: Poll | None = None):
        self.session = session
        self.base = session.connection.edgelb_path.rstrip("/")
        self.poll = poll or Poll()
        self.marathon = MarathonClient(session, self.poll)

    def _path(self, path: str) -> str:
        return self.base + path

    def get_pool(self, name: str) -> dict[str, Any] | None:
        response = self.session.request("GET", self._path(f"/v2/pools/{name}"), expect=(200, 404))
        return None if response.status_code == 404 else response.json()

    def create_pool(self, pool: dict[str, Any]) -> dict[str, Any]:
        """POST (never retried blindly); a 500 re-reads, since Edge-LB may have created it anyway."""
        return self._write("POST", "/v2/pools", pool)

    def update_pool(self, pool: dict[str, Any]) -> dict[str, Any]:
        return self._write("PUT", f"/v2/pools/{pool['name']}", pool)

    def _write(self, method: str, path: str, pool: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.session.request(method, self._path(path), json=pool).json()
        except DcosApiError as exc:
            if exc.status is None or exc.status < 500:
                raise
            live = self.get_pool(pool["name"])
            if live is not None and not EDGELB_DEFAULTS.changed_fields(pool, live):
                return live  # the write went through despite the 500
            raise

    def delete_pool(self, name: str, timeout: float) -> bool:
        """DELETE, then wait until GET says 404. False when the pool was already gone."""
        response = self.session.request("DELETE", self._path(f"/v2/pools/{name}"), expect=(204, 404))
        if response.status_code == 404:
            return False
        deadline = time.monotonic() + timeout
        for delay in self.poll.delays():
            if self.get_pool(name) is None:
                return True
            if time.monotonic() >= deadline:
                raise PoolNotReady(f"Edge-LB pool {name} was deleted but still answers GET after {timeout:g}s")
            cancellation.sleep(delay, f"Edge-LB pool {name} to go away")
        return True

    def _task_problem(self, app_id: str) -> str | None:
        """Why the pool's tasks are not all running (the scheduler's pod status), or None."""
        response = self.session.request("GET", f"/service{app_id}/v1/pod/status", expect=(200, 404))
        if response.status_code == 404:
            return None  # a scheduler that does not serve it: lbconfig decides alone
        tasks = [t for pod in response.json().get("pods", []) for i in pod.get("instances", []) for t in i.get("tasks", [])]
        failed = [f"{t['name']} {t['status']}: {t.get('message', '')}".rstrip(": ") for t in tasks if t.get("status") == "ERROR"]
        if failed:
            return "its task(s) cannot start: " + "; ".join(failed)
        pending = [t["name"] for t in tasks if t.get("status") != "RUNNING"]
        return f"its task(s) {', '.join(pending)} are not running yet" if pending else None

    def lbconfig(self, name: str) -> str | None:
        response = self.session.request("GET", self._path(f"/v2/pools/{name}/lbconfig"), expect=(200, 404))
        return None if response.status_code == 404 else response.text

    def wait_ready(self, pool: dict[str, Any], timeout: float, progress: Callable[[str], None] | None = None) -> str:
        """Wait until the pool's scheduler app is deployed and its haproxy.cfg reflects the pool.
        Returns that haproxy.cfg."""
        name = pool["name"]
        app_id = "/" + "/".join(p for p in f"{pool.get('namespace', 'dcos-edgelb/pools')}/{name}".split("/") if p)
        deadline = time.monotonic() + timeout
        reported = 0.0
        for delay in self.poll.delays():
            problem, config = self._readiness(pool, app_id)
            if problem is None:
                return config
            now = time.monotonic()
            if now >= deadline:
                raise PoolNotReady(f"Edge-LB pool {name} was not ready after {timeout:g}s: {problem}")
            if progress and now - reported >= 5:
                progress(f"waiting for Edge-LB pool {name}: {problem}")
                reported = now
            cancellation.sleep(min(delay, max(0.0, deadline - now)), f"Edge-LB pool {name}")
        raise AssertionError("unreachable")

    def _readiness(self, pool: dict[str, Any], app_id: str) -> tuple[str | None, str]:
        app = self.marathon.get_app(app_id)
        if app is None:
            return f"its scheduler app {app_id} is not in Marathon yet", ""
        if app.get("deployments") or app.get("tasksRunning", 0) < 1:
            return f"its scheduler app {app_id} is still deploying", ""
        if problem := self._task_problem(app_id):
            return problem, ""
        config = self.lbconfig(pool["name"])
        if config is None:
            return "haproxy.cfg (lbconfig) is not rendered yet", ""
        haproxy = pool.get("haproxy", {})
        missing = [f"port {f['bindPort']}" for f in haproxy.get("frontends", []) if f":{f['bindPort']}" not in config]
        missing += [f"backend {b['name']}" for b in haproxy.get("backends", []) if b["name"] not in config]
        if missing:
            return f"haproxy.cfg does not carry {', '.join(missing)} yet (reload pending)", ""
        return None, config
