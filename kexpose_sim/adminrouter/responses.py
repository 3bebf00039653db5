"""Admin Router over HTTP: the login endpoint and the 401/403 pages in front of every service."""

from __future__ import annotations

import base64
import json

from werkzeug.wrappers import Request, Response

from kexpose_sim.adminrouter.auth import Access
from kexpose_sim.adminrouter.exceptions import LoginRefused
from kexpose_sim.http import json_response, nginx_html

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
