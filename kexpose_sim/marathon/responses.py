"""Marathon v2 over HTTP: paths, status codes, bodies and headers as Marathon answers them."""

from __future__ import annotations

import copy
import json
import queue
import re
from typing import Any

from werkzeug.wrappers import Request, Response

from kexpose_sim.clock import timestamp
from kexpose_sim.http import json_response, nginx_html, text_response
from kexpose_sim.marathon import apps as appdefs
from kexpose_sim.marathon.apps import ValidationFailure
from kexpose_sim.marathon.backend import public_deployment, public_task

SSE_HEARTBEAT_SECONDS = 10.0
APP_SUFFIX = re.compile(r"^(?P<id>.*?)(?:/(?P<kind>restart|tasks|versions)(?:/(?P<arg>[^/]+))?)?$")


def _flag(request: Request, name: str, default: bool) -> bool:
    value = request.args.get(name)
    return default if value is None else value.lower() == "true"


def _body(request: Request) -> Any:
    text = request.get_data(as_text=True)
    if not text.strip():
        raise ValidationFailure(400, "Please specify data in JSON format",
                                "No content to map due to end-of-input\n at [Source: (org.eclipse.jetty.server.HttpInputOverHTTP); line: 1, column: 0]")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailure(400, "Invalid JSON", f"Unexpected character: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None


def _deployment_result(deployment_id: str, version: str, status: int = 200) -> Response:
    return json_response({"deploymentId": deployment_id, "version": version}, status,
                         {"Marathon-Deployment-Id": deployment_id})


def handle(state, request: Request, path: str) -> Response:
    if path == "/v2/events":
        return events(state, request)  # streams: must not hold the state lock
    with state.lock:
        try:
            response = route(state, request, path)
        except ValidationFailure as exc:
            return json_response(exc.body(), exc.status)
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            state.save()
        return response


def route(state, request: Request, path: str) -> Response:
    m = request.method
    marathon = state.marathon
    if path == "/ping" and m == "GET":
        if "application/json" in request.headers.get("Accept", ""):
            return json_response("pong")
        return text_response("pong")
    if path == "/v2/info" and m == "GET":
        return json_response(info(state))
    if path == "/v2/leader" and m == "GET":
        return json_response({"leader": f"{state.config.host}:8080"})
    if path == "/v2/apps" or path == "/v2/apps/":
        if m == "GET":
            return list_apps(marathon, request)
        if m == "POST":
            return create_app(marathon, request)
        if m == "PUT":
            return put_apps(marathon, request)
    if path.startswith("/v2/apps/"):
        return app_route(marathon, request, path[len("/v2/apps"):])
    if path == "/v2/tasks" and m == "GET":
        status = request.args.get("status")
        tasks = [public_task(t) for t in marathon.tasks.values() if t["state"] != "TASK_KILLING"]
        if status:
            tasks = [t for t in tasks if t["state"] == f"TASK_{status.upper()}"]
        return json_response({"tasks": tasks})
    if path == "/v2/tasks/delete" and m == "POST":
        ids = (_body(request) or {}).get("ids", [])
        return json_response({"tasks": marathon.kill_tasks(None, ids, scale=False)})
    if path == "/v2/deployments" and m == "GET":
        return json_response([public_deployment(d) for d in marathon.deployments.values()])
    if path.startswith("/v2/deployments/") and m == "DELETE":
        result = marathon.cancel_deployment(path[len("/v2/deployments/"):], _flag(request, "force", False))
        if result is None:
            return Response("", status=202)
        return _deployment_result(result["deploymentId"], result["version"])
    return json_response({"message": "URI not found"}, 404)


def app_route(marathon, request: Request, rest: str) -> Response:
    match = APP_SUFFIX.match(rest)
    app_id = appdefs.canonical_id(match["id"])
    kind, arg, m = match["kind"], match["arg"], request.method
    if kind is None:
        if m == "GET":
            if app_id not in marathon.apps:
                raise ValidationFailure(404, f"App '{app_id}' does not exist")
            return json_response({"app": marathon.app_info(app_id, embed_tasks=True)})
        if m in ("PUT", "PATCH"):
            if m == "PATCH" and app_id not in marathon.apps:
                raise ValidationFailure(404, f"App '{app_id}' does not exist")
            return update_app(marathon, request, app_id, partial=m == "PATCH" or _flag(request, "partialUpdate", True))
        if m == "DELETE":
            deployment_id, version = marathon.delete_app(app_id, _flag(request, "force", True))
            return _deployment_result(deployment_id, version)
    rec = marathon.apps.get(app_id)
    if rec is None:
        raise ValidationFailure(404, f"App '{app_id}' does not exist")
    if kind == "restart" and m == "POST":
        deployment_id, version = marathon.restart_app(app_id, _flag(request, "force", False))
        return _deployment_result(deployment_id, version)
    if kind == "versions" and m == "GET":
        if arg is None:
            return json_response({"versions": sorted(rec["versions"], reverse=True)})
        if arg not in rec["versions"]:
            raise ValidationFailure(404, f"App '{app_id}' does not exist in version {arg}")
        return json_response(rec["versions"][arg])
    if kind == "tasks":
        if m == "GET" and arg is None:
            return json_response({"tasks": [public_task(t) for t in marathon.app_tasks(app_id) if t["state"] != "TASK_KILLING"]})
        if m == "DELETE":
            ids = [arg] if arg else [t["id"] for t in marathon.app_tasks(app_id)]
            result = marathon.kill_tasks(app_id, ids, _flag(request, "scale", False))
            if isinstance(result, dict):
                return _deployment_result(result["deploymentId"], result["version"])
            if arg and not result:
                raise ValidationFailure(404, f"Task '{arg}' does not exist")
            return json_response({"task": result[0]} if arg else {"tasks": result})
    return json_response({"message": "URI not found"}, 404)


def list_apps(marathon, request: Request) -> Response:
    embed = request.args.getlist("embed")
    id_filter = (request.args.get("id") or "").lower()
    cmd_filter = request.args.get("cmd")
    label = request.args.get("label")
    out = []
    for app_id in sorted(marathon.apps):
        app = marathon.app_info(app_id, embed_tasks="apps.tasks" in embed)
        if id_filter and id_filter not in app_id.lower():
            continue
        if cmd_filter and cmd_filter not in app.get("cmd", ""):
            continue
        if label and not _label_matches(app["labels"], label):
            continue
        if "apps.lastTaskFailure" not in embed and "apps.failures" not in embed:
            app.pop("lastTaskFailure", None)
        out.append(app)
    return json_response({"apps": out})


def _label_matches(labels: dict[str, str], selector: str) -> bool:
    for term in selector.split(","):
        key, op, value = re.match(r"^\s*([^=!\s]+)\s*(==|!=|=)?\s*(.*?)\s*$", term).groups()
        if op is None:
            if key not in labels:
                return False
        elif (labels.get(key) == value) != (op != "!="):
            return False
    return True


def create_app(marathon, request: Request) -> Response:
    body = _body(request)
    definition = marathon.prepare(body, None, partial=False)
    app_id = definition["id"]
    if app_id in marathon.apps:
        raise ValidationFailure(409, f"An app with id [{app_id}] already exists.")
    submitted = copy.deepcopy(definition)  # the POST answer shows ports before assignment
    deployment_id, _, _ = marathon.put_app(definition, _flag(request, "force", False))
    answer = {**submitted, "tasksStaged": 0, "tasksRunning": 0, "tasksHealthy": 0, "tasksUnhealthy": 0,
              "deployments": [{"id": deployment_id}]}
    answer.pop("version", None)
    return json_response(answer, 201, {"Location": f"{request.host_url.rstrip('/')}{request.path.rstrip('/')}{app_id}",
                                       "Marathon-Deployment-Id": deployment_id})


def update_app(marathon, request: Request, app_id: str, partial: bool) -> Response:
    body = _body(request)
    if isinstance(body, dict) and set(body) == {"version"}:  # roll back to a stored version
        rec = marathon.apps.get(app_id)
        if rec is None or body["version"] not in rec["versions"]:
            raise ValidationFailure(404, f"App '{app_id}' does not exist in version {body['version']}")
        definition = copy.deepcopy(rec["versions"][body["version"]])
        definition.pop("version", None)
    else:
        definition = marathon.prepare(body, app_id, partial=partial)
    deployment_id, version, created = marathon.put_app(definition, _flag(request, "force", False))
    return _deployment_result(deployment_id, version, 201 if created else 200)


def put_apps(marathon, request: Request) -> Response:
    body = _body(request)
    if not isinstance(body, list):
        raise ValidationFailure(422, "Invalid JSON", [{"path": "/", "errors": ["error.expected.jsarray"]}])
    partial = _flag(request, "partialUpdate", True)
    force = _flag(request, "force", False)
    definitions = [marathon.prepare(item, None, partial=partial) for item in body]
    marathon.lock_check([d["id"] for d in definitions], force)
    result = None
    for definition in definitions:
        result = marathon.put_app(definition, force=True)
    if result is None:
        raise ValidationFailure(422, "Invalid JSON", [{"path": "/", "errors": ["error.minLength"]}])
    return _deployment_result(result[0], result[1])


def info(state) -> dict[str, Any]:
    """``/v2/info`` with exactly the keys real Marathon emits (marathon-python rejects others)."""
    cfg = state.config
    return {
        "name": "marathon", "version": cfg.marathon_version, "buildref": "kexpose-sim",
        "elected": True, "leader": f"{cfg.host}:8080", "frameworkId": "kexpose-sim-0000",
        "marathon_config": {
            "access_control_allow_origin": None, "checkpoint": True, "decline_offer_duration": 120000,
            "default_network_name": "dcos", "env_vars_prefix": None, "executor": "//cmd",
            "failover_timeout": 604800, "features": list(cfg.marathon_features), "framework_name": "marathon",
            "ha": True, "hostname": cfg.host, "launch_token": 100, "launch_token_refresh_interval": 30000,
            "leader_proxy_connection_timeout_ms": 5000, "leader_proxy_read_timeout_ms": 10000,
            "local_port_max": 20000, "local_port_min": 10000, "master": "zk://zk-1.zk:2181/mesos",
            "max_instances_per_offer": 100, "mesos_bridge_name": "mesos-bridge", "mesos_heartbeat_failure_threshold": 5,
            "mesos_heartbeat_interval": 15000, "mesos_leader_ui_url": "/mesos", "mesos_role": "slave_public",
            "mesos_user": "root", "min_revive_offers_interval": 5000, "offer_matching_timeout": 3000,
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
    if request.headers.get("Accept") != "text/event-stream":
        return nginx_html(405, "Method Not Allowed")
    wanted = set(request.args.getlist("event_type"))
    remote = request.remote_addr or "127.0.0.1"
    subscription = state.events.subscribe()

    def frame(event: dict[str, Any]) -> bytes:
        return f"event: {event['eventType']}\r\ndata: {json.dumps(event)}\r\n\r\n".encode()

    def stream():
        try:
            attached = {"remoteAddress": remote, "eventType": "event_stream_attached", "timestamp": timestamp()}
            if not wanted or "event_stream_attached" in wanted:
                yield frame(attached)
            while True:
                try:
                    event = subscription.get(timeout=SSE_HEARTBEAT_SECONDS)
                except queue.Empty:
                    yield b"\r\n"
                    continue
                if not wanted or event["eventType"] in wanted:
                    yield frame(event)
        finally:
            state.events.unsubscribe(subscription)

    return Response(stream(), status=200, content_type="text/event-stream;charset=UTF-8",
                    headers={"Cache-Control": "no-cache"}, direct_passthrough=True)
