"""Mistakes caught at preview, read-only, against the live cluster: before anything is created,
so an unknown service or a port someone else holds fails in seconds instead of after a
10-minute deployment wait.

Every check only reads (GETs, after the login): the DC/OS login works with the configured
credentials; each exposed service is installed; each agent exists, and is public where the
method needs it; nothing else holds what an exposure is about to take (an app or pool id, a
Marathon-LB group port, a host port); and nothing kexpose would change belongs to another
stack. Each problem names the stack key to fix. ``kexpose:preflight: false`` turns it off
(e.g. for a preview without network access to the cluster).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kexpose_components import naming
from kexpose_components.config import EdgeLbSettings, HaproxySettings, MarathonLbSettings, StackSettings
from kexpose_components.config.models import MARATHON_LB_PORTS
from kexpose_components.dcos.client import DcosApiError, DcosConnection, DcosSession
from kexpose_components.ownership import OWNER_LABEL, app_id_of, owner_of_app, owner_of_pool, pool_name_of

#: The secret each way of logging in reads (named in a refused login).
CREDENTIAL_KEYS = {"password": "kexpose:dcosPassword", "service-account": "kexpose:dcosPrivateKey",
                   "token": "kexpose:dcosToken"}


@dataclass(frozen=True)
class Live:
    """What the cluster has, read once."""

    apps: list[dict[str, Any]]
    pools: list[dict[str, Any]] | None  # None: Edge-LB not installed (or not reachable)
    tasks: list[dict[str, Any]]
    agents: dict[str, dict[str, Any]]  # hostname -> slave record


def read_live(session: DcosSession, settings: StackSettings) -> Live:
    marathon = settings.dcos.marathon_path
    apps = session.request("GET", f"{marathon}/v2/apps", params={"embed": "apps.tasks"}).json().get("apps", [])
    pools = None
    if any(isinstance(e, EdgeLbSettings) for e in settings.exposures):
        try:
            pools = session.request("GET", f"{settings.dcos.edgelb_path}/v2/pools").json()
        except DcosApiError as exc:
            if exc.status != 404:
                raise
    tasks = session.request("GET", "/mesos/tasks").json().get("tasks", [])
    slaves = session.request("GET", "/mesos/master/state-summary").json().get("slaves", [])
    return Live(apps, pools if isinstance(pools, list) else None, tasks, {s["hostname"]: s for s in slaves})


def _is_public(slave: dict[str, Any]) -> bool:
    return "slave_public" in (slave.get("reserved_resources") or {}) or \
        str((slave.get("attributes") or {}).get("public_ip", "")).lower() == "true"


def _host_ports(app: dict[str, Any]) -> dict[str, set[int]]:
    """Host ports an app's running tasks hold, by agent host."""
    out: dict[str, set[int]] = {}
    for task in app.get("tasks") or []:
        out.setdefault(task.get("host", ""), set()).update(task.get("ports") or [])
    return out


def _mlb_ports(app: dict[str, Any]) -> tuple[str, set[int]]:
    """The HAPROXY_GROUP of an app and the ports it asks Marathon-LB to serve."""
    labels = app.get("labels") or {}
    ports = {int(v) for k, v in labels.items() if k.startswith("HAPROXY_") and k.endswith("_PORT") and str(v).isdigit()}
    return labels.get("HAPROXY_GROUP", ""), ports


def problems(settings: StackSettings, live: Live, owner: str, adopted: dict[int, bool]) -> list[str]:
    """Everything wrong, as ``kexpose:<key>: <fix>`` lines (see the module docstring)."""
    out: list[str] = []
    installed = {t["id"].split("__", 1)[0] for t in live.tasks if "__kube-" in t.get("id", "")}
    for i, cluster in enumerate(settings.clusters):
        if naming.task_prefix(cluster.service) not in installed:
            out.append(f"kexpose:clusters[{i}].service: no DC/OS Kubernetes service {cluster.service!r} is installed "
                       "(no kube-control-plane task): install it, or fix the name")
    mlb_hosts = {h for a in live.apps if a.get("id") == "/marathon-lb" or a.get("labels", {}).get("DCOS_PACKAGE_NAME") == "marathon-lb"
                 for h in _host_ports(a)}
    for i, exposure in enumerate(settings.exposures):
        key = f"kexpose:exposures[{i}]"
        for agent in exposure.agents:
            slave = live.agents.get(agent)
            if slave is None:
                out.append(f"{key}.agents: {agent} is not an agent of this cluster (agents: {', '.join(sorted(live.agents))})")
            elif isinstance(exposure, HaproxySettings) and not _is_public(slave):
                out.append(f"{key}.agents: {agent} is a private agent; the standalone HAProxy runs on public agents")
        out += _conflicts(key, exposure, live, owner, adopted.get(i, False), mlb_hosts)
    return out


def _conflicts(key: str, exposure: Any, live: Live, owner: str, adopt: bool, mlb_hosts: set[str]) -> list[str]:
    out: list[str] = []
    if isinstance(exposure, EdgeLbSettings):
        name = pool_name_of(exposure)
        pool = next((p for p in live.pools or [] if p.get("name") == name), None)
        if pool is not None:
            out += _taken(key, "poolName", f"Edge-LB pool {name}", owner_of_pool(pool), owner,
                          adopt or not exposure.pool_name)
        return out
    app_id = app_id_of(exposure)
    app = next((a for a in live.apps if a.get("id") == app_id), None)
    if app is not None:
        out += _taken(key, "appId", f"Marathon app {app_id}", owner_of_app(app), owner, adopt or not exposure.app_id)
    others = [a for a in live.apps if a.get("id") != app_id]
    if isinstance(exposure, MarathonLbSettings):
        for other in others:
            group, ports = _mlb_ports(other)
            if group == exposure.group and exposure.port in ports:
                out.append(f"{key}.port: Marathon-LB group {group!r} already serves port {exposure.port} for app "
                           f"{other['id']}: pick another port, or take that app over with appId: {other['id']} and adopt: true")
    if isinstance(exposure, HaproxySettings):
        for agent in exposure.agents:
            if agent in mlb_hosts and exposure.port in MARATHON_LB_PORTS:
                out.append(f"{key}.port: {exposure.port} on {agent} belongs to Marathon-LB, which runs there "
                           "(80, 443, 9090, 9091, 10000-10150): pick another port, e.g. 6443")
            holder = next((o["id"] for o in others if exposure.port in _host_ports(o).get(agent, set())), None)
            if holder:
                out.append(f"{key}.port: {exposure.port} on {agent} is held by Marathon app {holder}: pick another port")
    return out


def _taken(key: str, id_key: str, what: str, their_owner: str | None, owner: str, adopt: bool) -> list[str]:
    """Whether the exposure may manage an existing object. ``adopt`` is the user's ``adopt: true``,
    or an unlabelled object at kexpose's own default id (made by a kexpose before ownership
    labels; its next ``up`` labels it)."""
    if their_owner == owner:
        return []  # ours: the stack's own state covers it
    if their_owner:
        return [f"{key}.{id_key}: {what} is managed by stack {their_owner}; two stacks must not manage one object: "
                "pick another id, or destroy it from that stack first"]
    if not adopt:
        return [f"{key}.{id_key}: {what} already exists and kexpose does not manage it: set adopt: true to take it "
                "over in place, or pick another id"]
    return []


def login_problem(settings: StackSettings, error: DcosApiError) -> str:
    """One line for a failed login or an unreachable cluster, naming the keys to check."""
    if error.status in (401, 403):
        secret = CREDENTIAL_KEYS.get(settings.auth, "the credentials")
        uid = f" of uid {settings.dcos.uid!r}" if settings.dcos.uid else ""
        return (f"kexpose:dcos.uid: DC/OS refused the login{uid} ({error.status}): check kexpose:dcos.uid and "
                f"{secret} (`pulumi config set --secret {secret} …`)")
    if "TLS" in error.message:
        return f"kexpose:dcos.caBundleFile: {error.message} ({settings.dcos.url})"
    return f"kexpose:dcos.url: {error}"


def existing(live: Live) -> frozenset[str]:
    """The ids of every Marathon app and Edge-LB pool the cluster has (what an ``adopt`` imports)."""
    return frozenset([a["id"] for a in live.apps] + [p["name"] for p in live.pools or []])


def run(settings: StackSettings, connection: dict[str, Any], owner: str,
        adopted: dict[int, bool]) -> tuple[list[str], frozenset[str]]:
    """The preflight's problems (empty when all is well) and :func:`existing`; never raises for what
    the cluster answers."""
    with DcosSession(DcosConnection.from_dict(connection)) as session:
        try:
            session.request("GET", f"{settings.dcos.marathon_path}/v2/info")
        except DcosApiError as exc:
            return [login_problem(settings, exc)], frozenset()
        try:
            live = read_live(session, settings)
        except DcosApiError as exc:
            return [f"kexpose:dcos.url: reading the cluster for the preflight failed: {exc} "
                    "(kexpose:preflight: false skips these checks)"], frozenset()
    return problems(settings, live, owner, adopted), existing(live)


__all__ = ["OWNER_LABEL", "Live", "existing", "problems", "read_live", "run"]
