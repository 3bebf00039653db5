"""Marathon v2 over HTTP: paths, status codes, bodies and headers as Marathon answers them."""

from __future__ import annotations

import copy
import json
import math
import queue
import re
from typing import Any, Callable

from werkzeug.wrappers import Request, Response

from kexpose_sim.clock import timestamp
from kexpose_sim.http import json_response, nginx_html, text_response
from kexpose_sim.marathon import apps as appdefs
from kexpose_sim.marathon.apps import ValidationFailure
from kexpose_sim.marathon.backend import MarathonBackend, public_deployment, public_task

SSE_HEARTBEAT_SECONDS = 10.0
MAX_NESTING = 100
APP_SUFFIX = re.compile(r"^(?P<id>.*?)(?:/(?P<kind>restart|tasks|versions)(?:/(?P<arg>[^/]+))?)?$")
EMBED_PREFIXES = ("group.apps.", "apps.", "app.")
LabelPredicate = Callable[[dict[str, str]], bool]
#: A label selector term: letters, digits, ``-_.``, or any backslash-escaped character.
LABEL_TERM = r"(?:\\.|[-A-Za-z0-9_.])+"
LABEL_SELECTOR = re.compile(
    rf"\s*(?P<key>{LABEL_TERM})\s*(?:(?P<eq>==|!=)\s*(?P<value>{LABEL_TERM})"
    rf"|(?P<set>in|notin)\s*\(\s*(?P<values>(?:{LABEL_TERM}\s*(?:,\s*{LABEL_TERM}\s*)*)?)\))?\s*(?:,|$)")


def _flag(request: Request, name: str, default: bool) -> bool:
    value = request.args.get(name)
    return default if value is None else value.lower() == "true"


def _reject_constant(token: str) -> float:
    raise ValueError(f"Non-standard token '{token}'")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"Numeric value ({text}) out of range")
    return value


def _bounded_int(text: str) -> int:
    """Integers beyond a double's range cannot be any Marathon field (and break ``float()``)."""
    if len(text.lstrip("-")) > 308:
        raise ValueError(f"Numeric value ({text[:20]}...) out of range")
    return int(text)


def _nesting_depth(value: Any) -> int:
    """How deeply objects and arrays nest (iteratively: the point is not to recurse)."""
    depth, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            depth = max(depth, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return depth


def _body(request: Request) -> Any:
    """The request's JSON: 400 for an empty or unparsable body (``details`` a string, as
    Jackson's message is); NaN, Infinity and out-of-range numbers are syntax errors too, and so is
    nesting deeper than MAX_NESTING (Jackson has a limit too; this one keeps copies of opaque
    fields within Python's recursion limit)."""
    text = request.get_data(as_text=True)
    if not text.strip():
        raise ValidationFailure(400, "Please specify data in JSON format",
                                "No content to map due to end-of-input\n at [Source: (org.eclipse.jetty.server."
                                "HttpInputOverHTTP); line: 1, column: 0]")
    try:
        body = json.loads(text, parse_constant=_reject_constant, parse_float=_finite, parse_int=_bounded_int)
    except (ValueError, RecursionError) as exc:
        raise ValidationFailure(400, "Invalid JSON", f"Unexpected character: {exc}") from None
    depth = _nesting_depth(body)
    if depth > MAX_NESTING:
        raise ValidationFailure(400, "Invalid JSON", f"Document nesting depth ({depth}) exceeds the maximum "
                                                     f"allowed ({MAX_NESTING})")
    return body


def _deployment_result(deployment_id: str, version: str, status: int = 200) -> Response:
    return json_response({"deploymentId": deployment_id, "version": version}, status,
                         {"Marathon-Deployment-Id": deployment_id})


def _embeds(request: Request) -> set[str]:
    """``embed`` values without their prefix (Marathon accepts ``apps.``, ``app.``, ``group.apps.``
    or none)."""
    out = set()
    for value in request.args.getlist("embed"):
        out.add(next((value[len(p):] for p in EMBED_PREFIXES if value.startswith(p)), value))
    return out


def handle(state, request: Request, path: str) -> Response:
    if path == "/v2/events":
        return events(state, request)  # streams: must not hold the state lock
    with state.lock:
        try:
            response = route(state, request, path)
        except ValidationFailure as exc:
            return json_response(exc.body(), exc.status)
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and response.status_code < 400:
            state.save()
        return response


def route(state, request: Request, path: str) -> Response:
    m = request.method
    marathon: MarathonBackend = state.marathon
    if path == "/ping":
        return ping(request) if m == "GET" else _not_allowed()
    if path == "/v2/info":
        return json_response(info(state)) if m == "GET" else _not_allowed()
    if path == "/v2/leader":
        return json_response({"leader": f"{state.config.host}:8080"}) if m == "GET" else _not_allowed()
    if path in ("/v2/apps", "/v2/apps/"):
        handlers = {"GET": list_apps, "POST": create_app, "PUT": put_apps}
        return handlers[m](marathon, request) if m in handlers else _not_allowed()
    if path.startswith("/v2/apps/"):
        return app_route(marathon, request, path[len("/v2/apps"):])
    if path == "/v2/tasks":
        return list_tasks(marathon, request) if m == "GET" else _not_allowed()
    if path == "/v2/tasks/delete":
        return delete_tasks(marathon, request) if m == "POST" else _not_allowed()
    if path == "/v2/deployments":
        if m != "GET":
            return _not_allowed()
        return json_response([public_deployment(d) for d in marathon.deployments.values()])
    if path.startswith("/v2/deployments/"):
        return cancel_deployment(marathon, request, path[len("/v2/deployments/"):]) if m == "DELETE" else _not_allowed()
    return json_response({"message": "URI not found"}, 404)


def _not_allowed() -> Response:
    return json_response({"message": "HTTP 405 Method Not Allowed"}, 405)


def ping(request: Request) -> Response:
    """``pong`` as text, ``"pong"`` for JSON clients, 204 for any other Accept."""
    accept = request.headers.get("Accept", "")
    if "application/json" in accept:
        return json_response("pong")
    if not accept or any(t in accept for t in ("text/plain", "text/*", "*/*")):
        return text_response("pong")
    return Response(status=204)


# -- /v2/apps ---------------------------------------------------------------------------------------
def app_route(marathon: MarathonBackend, request: Request, rest: str) -> Response:
    m = request.method
    if rest.endswith("/*"):
        return list_group(marathon, rest[:-2]) if m == "GET" else _not_allowed()
    match = APP_SUFFIX.match(rest)
    app_id = appdefs.canonical_id(match["id"])
    kind, arg = match["kind"], match["arg"]
    if kind is None:
        return single_app(marathon, request, app_id)
    if kind == "restart":
        if m != "POST":
            return _not_allowed()
        return _deployment_result(*marathon.restart_app(app_id, _flag(request, "force", False)))
    if kind == "versions":
        return versions(marathon, request, app_id, arg)
    return app_tasks(marathon, request, app_id, arg)


def single_app(marathon: MarathonBackend, request: Request, app_id: str) -> Response:
    m = request.method
    if m == "GET":
        marathon.record(app_id)
        return json_response({"app": marathon.app_info(app_id)})
    if m == "PUT":
        return update_app(marathon, request, app_id, _flag(request, "partialUpdate", True))
    if m == "PATCH":
        marathon.record(app_id)
        return update_app(marathon, request, app_id, partial=True)
    if m == "DELETE":
        return _deployment_result(*marathon.delete_app(app_id, _flag(request, "force", True)))
    return _not_allowed()


def versions(marathon: MarathonBackend, request: Request, app_id: str, version: str | None) -> Response:
    if request.method != "GET":
        return _not_allowed()
    rec = marathon.record(app_id)
    if version is None:
        return json_response({"versions": sorted(rec["versions"], reverse=True)})
    if version not in rec["versions"]:
        raise ValidationFailure(404, f"App '{app_id}' does not exist in version {version}")
    return json_response(rec["versions"][version])


def app_tasks(marathon: MarathonBackend, request: Request, app_id: str, task_id: str | None) -> Response:
    m = request.method
    marathon.record(app_id)
    if m == "GET" and task_id is None:
        return json_response({"tasks": [public_task(t) for t in marathon.app_tasks(app_id)]})
    if m != "DELETE":
        return _not_allowed()
    host = request.args.get("host")
    if task_id is None:
        ids = [t["id"] for t in marathon.app_tasks(app_id) if host is None or t["host"] == host]
    elif task_id in marathon.tasks and marathon.tasks[task_id]["appId"] == app_id:
        ids = [task_id]
    else:
        raise ValidationFailure(404, f"Task '{task_id}' does not exist")
    result = marathon.kill_tasks(app_id, ids, _flag(request, "scale", False), _flag(request, "force", False))
    if isinstance(result, dict):
        return _deployment_result(result["deploymentId"], result["version"])
    return json_response({"task": result[0]} if task_id else {"tasks": result})


def list_apps(marathon: MarathonBackend, request: Request) -> Response:
    """``GET /v2/apps``: counts and deployments always; tasks and lastTaskFailure when embedded;
    ``id`` and ``cmd`` are case-insensitive substring filters, ``label`` a selector."""
    embed = _embeds(request)
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
                                     embed_failure=bool(embed & {"lastTaskFailure", "failures"})))
    return json_response({"apps": out})


def list_group(marathon: MarathonBackend, group: str) -> Response:
    """``GET /v2/apps/<group>/*``: every app under the group (groups are implicit)."""
    group_id = appdefs.canonical_id(group)
    prefix = group_id.rstrip("/") + "/"
    found = [a for a in sorted(marathon.apps) if a.startswith(prefix)]
    if not found and group_id != "/":
        raise ValidationFailure(404, f"Group '{group_id}' does not exist")
    return json_response({"*": [marathon.app_info(a) for a in found]})


def parse_label_selector(text: str) -> list[LabelPredicate]:
    """Marathon's label selector (``a==b``, ``a!=b``, ``a in (b, c)``, ``a notin (b)``, ``a``;
    comma-separated, all must match) as predicates over labels. 422 if it does not parse."""
    selectors, pos = [], 0
    while pos < len(text):
        match = LABEL_SELECTOR.match(text, pos)
        if match is None or match.end() == pos:
            raise ValidationFailure(422, f"Can not parse label selector {text}. Reason: unexpected input at {pos}")
        selectors.append(_label_predicate(match))
        pos = match.end()
    return selectors


def _unescape(term: str) -> str:
    return re.sub(r"\\(.)", r"\1", term)


def _label_predicate(match: re.Match) -> LabelPredicate:
    key = _unescape(match["key"])
    if match["eq"]:
        value, equal = _unescape(match["value"]), match["eq"] == "=="
        return lambda labels: key in labels and (labels[key] == value) == equal
    if match["set"]:
        values = {_unescape(v.strip()) for v in match["values"].split(",") if v.strip()}
        inside = match["set"] == "in"
        return lambda labels: key in labels and (labels[key] in values) == inside
    return lambda labels: key in labels


def create_app(marathon: MarathonBackend, request: Request) -> Response:
    """``POST /v2/apps``: 201 with the submitted app as stored *before* service ports are
    assigned, zero counts, the plan in ``deployments``, and ``version`` but no versionInfo.
    ``Location`` is the app id resolved against Marathon's base URI (JAX-RS ``created``)."""
    definition = marathon.prepare(_body(request), None, partial=False)
    app_id = definition["id"]
    if app_id in marathon.apps:
        raise ValidationFailure(409, f"An app with id [{app_id}] already exists.")
    submitted = copy.deepcopy(definition)
    deployment_id, version, _ = marathon.put_app(definition, _flag(request, "force", False))
    answer = {**submitted, "version": version, "tasksStaged": 0, "tasksRunning": 0, "tasksHealthy": 0,
              "tasksUnhealthy": 0, "deployments": [{"id": deployment_id}]}
    base = request.path[: request.path.rfind("/v2/apps")]
    return json_response(answer, 201, {"Location": f"{request.host_url.rstrip('/')}{base}{app_id}",
                                       "Marathon-Deployment-Id": deployment_id})


def update_app(marathon: MarathonBackend, request: Request, app_id: str, partial: bool) -> Response:
    """PUT/PATCH one app. A partial update of an existing app that carries ``version`` is a
    rollback to that stored version (the other fields are ignored), as in Marathon's AppUpdate."""
    body = _body(request)
    force = _flag(request, "force", False)
    if partial and app_id in marathon.apps and isinstance(body, dict) and body.get("version") is not None:
        appdefs.read_app(body, require_id=False)
        return _deployment_result(*marathon.rollback_app(app_id, body["version"], force))
    definition = marathon.prepare(body, app_id, partial=partial)
    deployment_id, version, created = marathon.put_app(definition, force)
    return _deployment_result(deployment_id, version, 201 if created else 200)


def put_apps(marathon: MarathonBackend, request: Request) -> Response:
    """``PUT /v2/apps``: create or update several apps in one deployment. With partialUpdate
    (the default) every item needs an id, as Marathon ``require``s."""
    body = _body(request)
    if not isinstance(body, list):
        raise ValidationFailure(422, "Invalid JSON", [{"path": "/", "errors": ["error.expected.jsarray"]}])
    partial = _flag(request, "partialUpdate", True)
    if partial and any(isinstance(item, dict) and item.get("id") is None for item in body):
        raise ValidationFailure(422, "requirement failed: App Update must have app id set")
    definitions = [marathon.prepare(item, None, partial=partial) for item in body]
    deployment_id, version, _ = marathon.put_apps(definitions, _flag(request, "force", False))
    return _deployment_result(deployment_id, version)


# -- /v2/tasks and /v2/deployments ------------------------------------------------------------------
def list_tasks(marathon: MarathonBackend, request: Request) -> Response:
    wanted = {f"TASK_{s.upper()}" for s in request.args.getlist("status")}
    tasks = [public_task(t) for t in marathon.tasks.values() if not wanted or t["state"] in wanted]
    return json_response({"tasks": tasks})


def delete_tasks(marathon: MarathonBackend, request: Request) -> Response:
    """``POST /v2/tasks/delete`` with ``{"ids": [...]}``."""
    body = _body(request)
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ValidationFailure(422, "Invalid JSON", [{"path": "/ids", "errors": ["error.expected.jsarray"]}])
    result = marathon.kill_tasks(None, ids, _flag(request, "scale", False), _flag(request, "force", False))
    if isinstance(result, dict):
        return _deployment_result(result["deploymentId"], result["version"])
    return json_response({"tasks": result})


def cancel_deployment(marathon: MarathonBackend, request: Request, deployment_id: str) -> Response:
    """``force=true``: 202 with an empty body; otherwise 200 and the rollback plan."""
    result = marathon.cancel_deployment(deployment_id, _flag(request, "force", False))
    if result is None:
        return Response(b"", status=202)
    return _deployment_result(result["deploymentId"], result["version"])


# -- /v2/info and /v2/events ------------------------------------------------------------------------
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
                if not wanted or event["eventType"] in wanted:
                    yield frame(event)
        finally:
            state.events.unsubscribe(subscription)

    return Response(stream(), status=200, content_type="text/event-stream;charset=UTF-8",
                    headers={"Cache-Control": "no-cache"}, direct_passthrough=True)
