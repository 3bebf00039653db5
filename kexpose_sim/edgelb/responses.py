"""Edge-LB v2 over HTTP: routes, status codes and bodies as Edge-LB's go-openapi server sends them.

Errors are ``{"code": N, "message": "…"}`` (application/json), except the artifact routes, which
answer plain text. A request body is read the way go-openapi's JSON consumer reads it (one
``json.Decoder.Decode``: trailing data is ignored, an empty body is "required"), so malformed input
gets Go's messages rather than Python's.
"""

from __future__ import annotations

import json
import time
from typing import Any

from werkzeug.wrappers import Request, Response

from kexpose_sim.edgelb.exceptions import EdgeLBError, parse_error
from kexpose_sim.http import RouteTable, json_response, text_response

_GO_WHITESPACE = " \t\n\r"


class _GoConstant(ValueError):
    """``NaN``/``Infinity``: Python's json reads them, Go's refuses them."""


def _reject_constant(name: str) -> Any:
    raise _GoConstant(name)


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _go_char(c: str) -> str:
    """A character the way Go's json errors quote it: ``'x'``, ``'\\''``, ``'\\n'``."""
    if c == "'":
        return "'\\''"
    if c == '"':
        return "'\"'"
    return "'" + repr(c)[1:-1] + "'"


def _innermost_container(doc: str, pos: int) -> str:
    """``{`` or ``[``: the innermost container still open at ``pos`` (strings skipped)."""
    stack: list[str] = []
    in_string = escaped = False
    for c in doc[:pos]:
        if in_string:
            in_string = escaped or c != '"'
            escaped = not escaped and c == "\\"
        elif c == '"':
            in_string = True
        elif c in "{[":
            stack.append(c)
        elif c in "}]" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def _go_syntax_error(exc: json.JSONDecodeError) -> str:
    """Python's json error as Go's ``encoding/json`` words it."""
    doc, pos = exc.doc, exc.pos
    if exc.msg.startswith("Unterminated string") or not doc[pos:].strip(_GO_WHITESPACE):
        return "unexpected EOF"
    if exc.msg.startswith("Invalid \\escape"):
        return f"invalid character {_go_char(doc[pos + 1])} in string escape code"
    c = _go_char(doc[pos])
    if exc.msg.startswith("Invalid control character"):
        return f"invalid character {c} in string literal"
    if exc.msg.startswith("Expecting property name"):
        return f"invalid character {c} looking for beginning of object key string"
    if exc.msg.startswith("Expecting ':'"):
        return f"invalid character {c} after object key"
    if exc.msg.startswith("Expecting ','"):
        after = "object key:value pair" if _innermost_container(doc, pos) == "{" else "array element"
        return f"invalid character {c} after {after}"
    return f"invalid character {c} looking for beginning of value"


def read_pool_body(request: Request) -> Any:
    """The request's JSON value; raises the error go-openapi answers for a body it cannot read."""
    text = request.get_data(cache=False).decode("utf-8", errors="replace")
    start = len(text) - len(text.lstrip(_GO_WHITESPACE))
    if start == len(text):
        raise EdgeLBError(422, "pool in body is required", code=602)
    try:
        value, _ = _DECODER.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise parse_error(_go_syntax_error(exc)) from None
    except _GoConstant as exc:
        first = _go_char(str(exc).lstrip("-")[0])
        raise parse_error(f"invalid character {first} looking for beginning of value") from None
    return value


def _error(exc: EdgeLBError) -> Response:
    return json_response({"code": exc.code, "message": exc.message}, exc.status)


def _applied(state, response: Response, action: str) -> Response:
    """Edge-LB's known failure mode: the change is made, then the API answers 500 anyway."""
    if state.faults.take_edgelb_500_applied():
        return _error(EdgeLBError(500, f"{action}: context deadline exceeded"))
    return response


# -- handlers ----------------------------------------------------------------------------------------


def _ping(state, request: Request) -> Response:
    return text_response("pong")


def _version(state, request: Request) -> Response:
    return text_response(state.config.edgelb_version)


def _list_pools(state, request: Request) -> Response:
    with state.lock:
        return json_response(state.edgelb.list_pools())


def _create_pool(state, request: Request) -> Response:
    body = read_pool_body(request)
    with state.lock:
        echo = state.edgelb.create(body, time.time())
    state.save()
    return _applied(state, json_response(echo), "create load balancer pool")


def _get_pool(state, request: Request, name: str) -> Response:
    with state.lock:
        return json_response(state.edgelb.get_pool(name))


def _update_pool(state, request: Request, name: str) -> Response:
    body = read_pool_body(request)
    with state.lock:
        echo = state.edgelb.update(name, body, time.time())
    state.save()
    return _applied(state, json_response(echo), "update load balancer pool")


def _delete_pool(state, request: Request, name: str) -> Response:
    with state.lock:
        state.edgelb.delete(name, time.time())
    state.save()
    return _applied(state, Response(status=204), "delete load balancer pool")


def _lbconfig(state, request: Request, name: str) -> Response:
    with state.lock:
        config = state.edgelb.lbconfig(name)
    if config is None:
        return text_response("artifact haproxy.cfg not found", 404)
    return text_response(config)


def _metadata(state, request: Request, name: str) -> Response:
    with state.lock:
        return json_response(state.edgelb.metadata(name))


_ROUTES = RouteTable([
    (r"/ping", {"GET": _ping}),
    (r"/version", {"GET": _version}),
    (r"/v2/pools", {"GET": _list_pools, "POST": _create_pool}),
    (r"/v2/pools/(?P<name>[^/]+)", {"GET": _get_pool, "PUT": _update_pool, "DELETE": _delete_pool}),
    (r"/v2/pools/(?P<name>[^/]+)/lbconfig", {"GET": _lbconfig}),
    (r"/v2/pools/(?P<name>[^/]+)/metadata", {"GET": _metadata}),
])


def handle(state, request: Request, path: str) -> Response:
    """Route one Edge-LB request (``path`` is relative to ``/service/<edgelb>``)."""
    routed = _ROUTES.find(request.method, path)
    if routed is None:
        return _error(EdgeLBError(404, f"path {path} was not found"))
    if routed.handler is None:
        message = f"method {request.method} is not allowed, but [{','.join(routed.allowed)}] are"
        response = _error(EdgeLBError(405, message))
        response.headers["Allow"] = ", ".join(routed.allowed)
        return response
    try:
        return routed.handler(state, request, **routed.params)
    except EdgeLBError as exc:
        return _error(exc)


def handle_scheduler(state, request: Request, name: str, path: str) -> Response:
    """The pool scheduler's (a DC/OS SDK framework) API, the part ``dcos edgelb status`` reads:
    ``GET /v1/pod/status`` (``path`` is relative to ``/service/<namespace>/<pool>``)."""
    if path != "/v1/pod/status":
        return text_response("404 page not found", 404)
    if request.method != "GET":
        return text_response("405 method not allowed", 405)
    with state.lock:
        if name not in state.edgelb.pools:
            return text_response("404 Not Found: service not found.", 404)
        return json_response(state.edgelb.pod_status(name))
