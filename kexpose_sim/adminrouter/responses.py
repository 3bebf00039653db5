"""Admin Router over HTTP: login, the 401/403 pages in front of every service, and the cluster
endpoints DC/OS serves around the services (``cluster_info``), open or behind the token check as
Admin Router configures them."""

from __future__ import annotations

import base64
import json
from typing import Any, Callable

from werkzeug.wrappers import Request, Response

from kexpose_sim.adminrouter import cluster_info, tls
from kexpose_sim.adminrouter.auth import Access
from kexpose_sim.adminrouter.exceptions import LoginRefused
from kexpose_sim.http import RouteTable, json_response, nginx_html, text_response

AUTH_COOKIE = "dcos-acs-auth-cookie"
INFO_COOKIE = "dcos-acs-info-cookie"


def _refused(exc: LoginRefused) -> Response:
    headers = {"WWW-Authenticate": "acsjwt"} if exc.status == 401 else None
    return json_response({"title": "Unauthorized" if exc.status == 401 else "Bad Request",
                          "description": exc.description, "code": exc.code}, exc.status, headers)


def login(state, request: Request) -> Response:
    """``POST /acs/api/v1/auth/login``: the token in the body and the two ``dcos-acs-*`` cookies."""
    try:
        if request.method != "POST":
            raise LoginRefused("Missing query parameters", 400, "ERR_MISSING_QUERY_PARAMETERS")
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            raise LoginRefused("Request has bad Content-Type or lacks JSON data", 400, "ERR_MALFORMED_DATA") from None
        token = state.auth.login(body)
    except LoginRefused as exc:
        return _refused(exc)
    uid = body["uid"]
    response = json_response({"token": token})
    info = base64.b64encode(json.dumps({"uid": uid, "description": uid, "is_remote": False}).encode()).decode()
    response.set_cookie(AUTH_COOKIE, token, path="/", httponly=True)
    response.set_cookie(INFO_COOKIE, info, path="/")
    return response


def request_token(request: Request) -> str | None:
    """The DC/OS token a request carries: ``token=``/``Bearer`` authorization, else the cookie."""
    header = request.headers.get("Authorization", "")
    if header.startswith("token="):
        return header[len("token="):]
    if header.lower().startswith("bearer "):
        return header[len("bearer "):]
    return request.cookies.get(AUTH_COOKIE)


def denied(state, request: Request) -> Response | None:
    """None when the request may pass; else Admin Router's 401 or 403 page."""
    access = state.auth.access(request_token(request))
    if access is Access.UNAUTHORIZED:
        return nginx_html(401, "Authorization Required", {"WWW-Authenticate": "acsjwt"})
    if access is Access.FORBIDDEN:
        return nginx_html(403, "Forbidden")
    return None


# -- cluster endpoints ------------------------------------------------------------------------------
def _json(build: Callable[..., Any]) -> Callable[..., Response]:
    """A handler answering ``build(state, **path params)`` as JSON, read under the state lock."""
    def handler(state, request: Request, **params: str) -> Response:
        with state.lock:
            return json_response(build(state, **params))
    return handler


def _ca_certificate(state, request: Request) -> Response:
    """The cluster CA (PEM), what ``dcos cluster setup`` fetches before it trusts the cluster."""
    return text_response(tls.ca_pem(state.config.state_dir), content_type="application/x-x509-ca-cert")


#: Served to anyone, as Admin Router does (the UI and the CLI read them before logging in).
OPEN = RouteTable([
    (r"/ca/dcos-ca\.crt", {"GET": _ca_certificate}),
    (r"/dcos-metadata/dcos-version\.json", {"GET": _json(cluster_info.dcos_version)}),
    (r"/acs/api/v1/auth/providers", {"GET": _json(cluster_info.auth_providers)}),
])
#: Behind the token check.
PROTECTED = RouteTable([
    (r"/metadata", {"GET": _json(cluster_info.metadata)}),
    (r"/mesos_dns/v1/hosts/(?P<name>[^/]+)", {"GET": _json(cluster_info.dns_hosts)}),
    (r"/system/health/v1/nodes", {"GET": _json(cluster_info.health_nodes)}),
])
PROTECTED_PREFIXES = ("/metadata", "/mesos_dns/", "/system/health/")


def _routed(table: RouteTable, state, request: Request, path: str) -> Response | None:
    routed = table.find(request.method, path)
    if routed is None:
        return None
    if routed.handler is None:
        return nginx_html(405, "Not Allowed")
    return routed.handler(state, request, **routed.params)


def handle_open(state, request: Request, path: str) -> Response | None:
    """The answer for an open cluster endpoint, or None when ``path`` is not one."""
    return _routed(OPEN, state, request, path)


def handle(state, request: Request, path: str) -> Response:
    """A protected cluster endpoint (the token check has passed)."""
    return _routed(PROTECTED, state, request, path) or nginx_html(404, "Not Found")
