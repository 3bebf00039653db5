"""Marathon v2 over HTTP: paths, status codes, bodies and headers as Marathon answers them.

One route table maps a path pattern to its handlers per method; a known path with another method
is 405, an unknown path 404 ``URI not found``. App ids contain slashes, so the app routes match
the id as everything before the first ``/restart``, ``/tasks`` or ``/versions`` suffix that ends
the path (as Marathon's JAX-RS resources do).
"""

from __future__ import annotations

import copy
import json
import queue
from typing import Any

from werkzeug.wrappers import Request, Response

from kexpose_sim.clock import timestamp
from kexpose_sim.http import RouteTable, json_response, nginx_html, text_response
from kexpose_sim.marathon import apps as appdefs
from kexpose_sim.marathon.deployments import public_deployment
from kexpose_sim.marathon.exceptions import ValidationFailure
from kexpose_sim.marathon.groups import group_tree
from kexpose_sim.marathon.parsing import embeds, flag, json_body, parse_label_selector
from kexpose_sim.marathon.schema import read_app
from kexpose_sim.marathon.scheduler import public_task

SSE_HEARTBEAT_SECONDS = 10.0


def handle(state, request: Request, path: str) -> Response:
    if path == "/v2/events":
        return events(state, request)  # streams: must not hold the state lock
    with state.lock:
        try:
            response = route(state, request, path)
        except ValidationFailure as exc:
            return json_response(exc.body(), exc.status)
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and response.status_code < 400:
        state.save()  # on disk before the answer (and after the lock: writes share one snapshot)
    return response


def route(state, request: Request, path: str) -> Response:
    """The handler ``_ROUTES`` names for the path and method (405 / 404 otherwise)."""
    routed = _ROUTES.find(request.method, path)
    if routed is None:
        return json_response({"message": "URI not found"}, 404)
    if routed.handler is None:
        return json_response({"message": "HTTP 405 Method Not Allowed"}, 405)
    return routed.handler(state, request, **routed.params)


def _deployment_result(deployment_id: str, version: str, status: int = 200) -> Response:
    return json_response({"deploymentId": deployment_id, "version": version}, status,
                         {"Marathon-Deployment-Id": deployment_id})


def ping(state, request: Request) -> Response:
    """``pong`` as text, ``"pong"`` for JSON clients, 204 for any other Accept."""
    accept = request.headers.get("Accept", "")
    if "application/json" in accept:
        return json_response("pong")
    if not accept or any(t in accept for t in ("text/plain", "text/*", "*/*")):
        return text_response("pong")
    return Response(status=204)


def leader(state, request: Request) -> Response:
    return json_response({"leader": f"{state.config.host}:8080"})


# -- /v2/apps ---------------------------------------------------------------------------------------
def get_app(state, request: Request, app_id: str) -> Response:
    app_id = appdefs.canonical_id(app_id)
    state.marathon.record(app_id)
    return json_response({"app": state.marathon.app_info(app_id, embed_stats="taskStats" in embeds(request))})


def put_app(state, request: Request, app_id: str) -> Response:
    return update_app(state.marathon, request, appdefs.canonical_id(app_id), flag(request, "partialUpdate", True))


def patch_app(state, request: Request, app_id: str) -> Response:
    app_id = appdefs.canonical_id(app_id)
    state.marathon.record(app_id)
    return update_app(state.marathon, request, app_id, partial=True)


def delete_app(state, request: Request, app_id: str) -> Response:
    return _deployment_result(*state.marathon.delete_app(appdefs.canonical_id(app_id), flag(request, "force", True)))


def restart_app(state, request: Request, app_id: str) -> Response:
    app_id = appdefs.canonical_id(app_id)
    return _deployment_result(*state.marathon.restart_app(app_id, flag(request, "force", False)))


def versions(state, request: Request, app_id: str, version: str | None) -> Response:
    app_id = appdefs.canonical_id(app_id)
    rec = state.marathon.record(app_id)
    if version is None:
        return json_response({"versions": sorted(rec["versions"], reverse=True)})
    if version not in rec["versions"]:
        raise ValidationFailure(404, f"App '{app_id}' does not exist in version {version}")
    return json_response(rec["versions"][version])


def list_app_tasks(state, request: Request, app_id: str, task_id: str | None) -> Response:
    marathon = state.marathon
    app_id = appdefs.canonical_id(app_id)
    marathon.record(app_id)
    if task_id is not None:
        return json_response({"message": "HTTP 405 Method Not Allowed"}, 405)
    return json_response({"tasks": [public_task(t) for t in marathon.app_tasks(app_id)]})


def kill_app_tasks(state, request: Request, app_id: str, task_id: str | None) -> Response:
    marathon = state.marathon
    app_id = appdefs.canonical_id(app_id)
    marathon.record(app_id)
    host = request.args.get("host")
    if task_id is None:
        ids = [t["id"] for t in marathon.app_tasks(app_id) if host is None or t["host"] == host]
    elif task_id in marathon.tasks and marathon.tasks[task_id]["appId"] == app_id:
        ids = [task_id]
    else:
        raise ValidationFailure(404, f"Task '{task_id}' does not exist")
    result = marathon.kill_tasks(app_id, ids, flag(request, "scale", False), flag(request, "force", False))
    if isinstance(result, dict):
        return _deployment_result(result["deploymentId"], result["version"])
    return json_response({"task": result[0]} if task_id else {"tasks": result})


def list_apps(state, request: Request) -> Response:
    """``GET /v2/apps``: counts and deployments always; tasks, lastTaskFailure, taskStats when embedded;
    ``id`` and ``cmd`` are case-insensitive substring filters, ``label`` a selector."""
    marathon = state.marathon
    embed = embeds(request)
    id_filter = (request.args.get("id") or "").lower()
    cmd_filter = (request.args.get("cmd") or "").lower()
    label = request.args.get("label")
    selectors = parse_label_selector(label) if label else []
    out = []
    for app_id in sorted(marathon.apps):
        definition = marathon.apps[app_id]["definition"]
        if id_filter not in app_id.lower() or cmd_filter not in definition.get("cmd", "").lower():
            continue
        if not all(selector(definition["labels"]) for selector in selectors):
            continue
        out.append(marathon.app_info(app_id, embed_tasks=bool(embed & {"tasks", "failures"}),
                                     embed_failure=bool(embed & {"lastTaskFailure", "failures"}),
                                     embed_stats="taskStats" in embed))
    return json_response({"apps": out})


def list_group(state, request: Request, group: str) -> Response:
    """``GET /v2/apps/<group>/*``: every app under the group (groups are implicit)."""
    marathon = state.marathon
    group_id = appdefs.canonical_id(group)
    prefix = group_id.rstrip("/") + "/"
    found = [a for a in sorted(marathon.apps) if a.startswith(prefix)]
    if not found and group_id != "/":
        raise ValidationFailure(404, f"Group '{group_id}' does not exist")
    return json_response({"*": [marathon.app_info(a) for a in found]})


def create_app(state, request: Request) -> Response:
    """``POST /v2/apps``: 201 with the submitted app as stored *before* service ports are
    assigned, zero counts, the plan in ``deployments``, and ``version`` but no versionInfo.
    ``Location`` is the app id resolved against Marathon's base URI (JAX-RS ``created``)."""
    marathon = state.marathon
    definition = marathon.prepare(json_body(request), None, partial=False)
    app_id = definition["id"]
    if app_id in marathon.apps:
        raise ValidationFailure(409, f"An app with id [{app_id}] already exists.")
    submitted = copy.deepcopy(definition)
    deployment_id, version, _ = marathon.put_app(definition, flag(request, "force", False))
    answer = {**submitted, "version": version, "tasksStaged": 0, "tasksRunning": 0, "tasksHealthy": 0,
              "tasksUnhealthy": 0, "deployments": [{"id": deployment_id}]}
    base = request.path[: request.path.rfind("/v2/apps")]
    return json_response(answer, 201, {"Location": f"{request.host_url.rstrip('/')}{base}{app_id}",
                                       "Marathon-Deployment-Id": deployment_id})


def update_app(marathon, request: Request, app_id: str, partial: bool) -> Response:
    """PUT/PATCH one app. A partial update of an existing app that carries ``version`` is a
    rollback to that stored version (the other fields are ignored), as in Marathon's AppUpdate."""
    body = json_body(request)
    force = flag(request, "force", False)
    if partial and app_id in marathon.apps and isinstance(body, dict) and body.get("version") is not None:
        read_app(body, require_id=False)
        return _deployment_result(*marathon.rollback_app(app_id, body["version"], force))
    definition = marathon.prepare(body, app_id, partial=partial)
    deployment_id, version, created = marathon.put_app(definition, force)
    return _deployment_result(deployment_id, version, 201 if created else 200)


def put_apps(state, request: Request) -> Response:
    """``PUT /v2/apps``: create or update several apps in one deployment. With partialUpdate
    (the default) every item needs an id, as Marathon ``require``s."""
    marathon = state.marathon
    body = json_body(request)
    if not isinstance(body, list):
        raise ValidationFailure(422, "Invalid JSON", [{"path": "/", "errors": ["error.expected.jsarray"]}])
    partial = flag(request, "partialUpdate", True)
    if partial and any(isinstance(item, dict) and item.get("id") is None for item in body):
        raise ValidationFailure(422, "requirement failed: App Update must have app id set")
    definitions = [marathon.prepare(item, None, partial=partial) for item in body]
    deployment_id, version, _ = marathon.put_apps(definitions, flag(request, "force", False))
    return _deployment_result(deployment_id, version)


# -- /v2/tasks and /v2/deployments ------------------------------------------------------------------
def list_tasks(state, request: Request) -> Response:
    wanted = {f"TASK_{s.upper()}" for s in request.args.getlist("status")}
    tasks = [public_task(t) for t in state.marathon.tasks.values() if not wanted or t["state"] in wanted]
    return json_response({"tasks": tasks})


def delete_tasks(state, request: Request) -> Response:
    """``POST /v2/tasks/delete`` with ``{"ids": [...]}``."""
    body = json_body(request)
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ValidationFailure(422, "Invalid JSON", [{"path": "/ids", "errors": ["error.expected.jsarray"]}])
    result = state.marathon.kill_tasks(None, ids, flag(request, "scale", False), flag(request, "force", False))
    if isinstance(result, dict):
        return _deployment_result(result["deploymentId"], result["version"])
    return json_response({"tasks": result})


def list_deployments(state, request: Request) -> Response:
    return json_response([public_deployment(d) for d in state.marathon.deployments.values()])


def cancel_deployment(state, request: Request, deployment_id: str) -> Response:
    """``force=true``: 202 with an empty body; otherwise 200 and the rollback plan."""
    result = state.marathon.cancel_deployment(deployment_id, flag(request, "force", False))
    if result is None:
        return Response(b"", status=202)
    return _deployment_result(result["deploymentId"], result["version"])


# -- /v2/queue and /v2/groups ---------------------------------------------------------------------
def launch_queue(state, request: Request) -> Response:
    """``GET /v2/queue``: apps waiting to launch, with the offer statistics (``embed=lastUnusedOffers``
    adds the declined offers themselves)."""
    with_offers = "lastUnusedOffers" in request.args.getlist("embed")
    return json_response({"queue": state.marathon.queue.entries(with_offers)})


def reset_delay(state, request: Request, app_id: str) -> Response:
    """``DELETE /v2/queue/<app>/delay``: 204, and the app launches without waiting out its backoff."""
    app_id = appdefs.canonical_id(app_id)
    if not state.marathon.queue.reset_delay(app_id):
        raise ValidationFailure(404, f"Application {app_id} not found in tasks queue.")
    return Response(status=204)


def get_group(state, request: Request, group_id: str = "/") -> Response:
    """``GET /v2/groups[/<id>]``: the group tree (``embed``: ``group.apps``, ``group.groups``,
    ``group.pods``, ``group.apps.<app embed>``; all three groups embeds when none is named)."""
    embeds = set(request.args.getlist("embed"))
    return json_response(group_tree(state.marathon, appdefs.canonical_id(group_id or "/"), embeds))


# -- /v2/info and /v2/events ------------------------------------------------------------------------
def get_info(state, request: Request) -> Response:
    return json_response(info(state))


def info(state) -> dict[str, Any]:
    """``/v2/info`` with exactly the keys Marathon 1.10's InfoResource emits (marathon-python's
    models reject any other)."""
    cfg = state.config
    return {
        "name": "marathon", "version": cfg.marathon_version, "buildref": "kexpose-sim",
        "elected": True, "leader": f"{cfg.host}:8080", "frameworkId": "kexpose-sim-0000",
        "marathon_config": {
            "access_control_allow_origin": None, "checkpoint": True, "decline_offer_duration": 120000,
            "default_network_name": appdefs.DEFAULT_NETWORK_NAME, "env_vars_prefix": None, "executor": "//cmd",
            "failover_timeout": 604800, "features": list(cfg.marathon_features), "framework_name": "marathon",
            "ha": True, "hostname": cfg.host, "launch_token": 100, "launch_token_refresh_interval": 30000,
            "leader_proxy_connection_timeout_ms": 5000, "leader_proxy_read_timeout_ms": 10000,
            "local_port_max": appdefs.SERVICE_PORT_RANGE[1], "local_port_min": appdefs.SERVICE_PORT_RANGE[0],
            "master": "zk://zk-1.zk:2181/mesos", "max_instances_per_offer": 100, "mesos_bridge_name": "mesos-bridge",
            "mesos_heartbeat_failure_threshold": 5, "mesos_heartbeat_interval": 15000,
            "mesos_leader_ui_url": "/mesos", "mesos_role": state.marathon.role, "mesos_user": "root",
            "min_revive_offers_interval": 5000, "offer_matching_timeout": 3000,
            "on_elected_prepare_timeout": 180000, "reconciliation_initial_delay": 15000,
            "reconciliation_interval": 600000, "revive_offers_for_new_apps": True, "revive_offers_repetitions": 3,
            "scale_apps_initial_delay": 15000, "scale_apps_interval": 300000, "store_cache": True,
            "task_launch_confirm_timeout": 300000, "task_launch_timeout": 86400000,
            "task_lost_expunge_initial_delay": 300000, "task_lost_expunge_interval": 30000,
            "task_reservation_timeout": 20000, "webui_url": None,
        },
        "zookeeper_config": {"zk": "zk://zk-1.zk:2181/marathon", "zk_compression": True,
                             "zk_compression_threshold": 65536, "zk_connection_timeout": 10000,
                             "zk_max_node_size": 1024000, "zk_max_versions": 50, "zk_session_timeout": 10000,
                             "zk_timeout": 10000},
        "http_config": {"http_port": 8080, "https_port": 8443},
    }


def events(state, request: Request) -> Response:
    """``/v2/events``: Server-Sent Events. Requires ``Accept: text/event-stream`` exactly."""
    if request.method != "GET" or request.headers.get("Accept") != "text/event-stream":
        return nginx_html(405, "Method Not Allowed")
    wanted = set(request.args.getlist("event_type"))
    remote = request.remote_addr or "127.0.0.1"
    subscription = state.events.subscribe()

    def frame(event: dict[str, Any]) -> bytes:
        return f"event: {event['eventType']}\r\ndata: {json.dumps(event)}\r\n\r\n".encode()

    def stream():
        try:
            yield b""  # send the headers now, as Jetty does, even if a filter holds back every event
            attached = {"remoteAddress": remote, "eventType": "event_stream_attached", "timestamp": timestamp()}
            if not wanted or "event_stream_attached" in wanted:
                yield frame(attached)
            while True:
                try:
                    event = subscription.get(timeout=SSE_HEARTBEAT_SECONDS)
                except queue.Empty:
                    yield b"\r\n"
                    continue
                if event is None:
                    return  # the bus closed every stream
                if state.faults.events_silent():
                    continue  # lost on the way: the stream looks healthy, nothing arrives
                if not wanted or event["eventType"] in wanted:
                    yield frame(event)
        finally:
            state.events.unsubscribe(subscription)

    return Response(stream(), status=200, content_type="text/event-stream;charset=UTF-8",
                    headers={"Cache-Control": "no-cache"}, direct_passthrough=True)


#: ``/v2/apps/…``, then the app id: everything before the first ``/restart``, ``/tasks`` or
#: ``/versions`` suffix (with at most one more segment) that ends the path.
_APPS = r"/v2/apps(?=/)"
_APP_ID = r"(?P<app_id>(?:(?!/(?:restart|tasks|versions)(?:/[^/]+)?$).)*)"
_ROUTES = RouteTable([
    (r"/ping", {"GET": ping}),
    (r"/v2/info", {"GET": get_info}),
    (r"/v2/leader", {"GET": leader}),
    (r"/v2/apps/?", {"GET": list_apps, "POST": create_app, "PUT": put_apps}),
    (rf"{_APPS}(?P<group>.*)/\*", {"GET": list_group}),
    (rf"{_APPS}{_APP_ID}/restart(?:/[^/]+)?", {"POST": restart_app}),
    (rf"{_APPS}{_APP_ID}/versions(?:/(?P<version>[^/]+))?", {"GET": versions}),
    (rf"{_APPS}{_APP_ID}/tasks(?:/(?P<task_id>[^/]+))?", {"GET": list_app_tasks, "DELETE": kill_app_tasks}),
    (rf"{_APPS}{_APP_ID}", {"GET": get_app, "PUT": put_app, "PATCH": patch_app, "DELETE": delete_app}),
    (r"/v2/tasks", {"GET": list_tasks}),
    (r"/v2/tasks/delete", {"POST": delete_tasks}),
    (r"/v2/deployments", {"GET": list_deployments}),
    (r"/v2/queue/?", {"GET": launch_queue}),
    (r"/v2/queue(?P<app_id>/.+)/delay", {"DELETE": reset_delay}),
    (r"/v2/groups/?", {"GET": get_group}),
    (r"/v2/groups(?P<group_id>/.+?)/?", {"GET": get_group}),
    (r"/v2/deployments/(?P<deployment_id>.*)", {"DELETE": cancel_deployment}),
])
