"""The Secrets API over HTTP: ``/secrets/v1/secret/{store}/{path}`` (only the ``default`` store).

``PUT`` creates (201; 409 if it exists), ``PATCH`` updates (204), ``GET`` reads (``{"value"}``;
``?list=true`` lists keys under the path as ``{"array": [...]}``), ``DELETE`` removes (204).
Errors are ``{"code": "ER_…", "message": "…"}``. Admin Router has checked the token before.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response

from kexpose_sim.adminrouter.responses import request_token
from kexpose_sim.http import json_response
from kexpose_sim.secrets.exceptions import SecretsError, invalid
from kexpose_sim.secrets.models import normalize_path

PREFIX = "/secrets/v1/secret/"


def _body(request: Request) -> Any:
    try:
        return json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        raise invalid("The request body is not valid JSON") from None


def _operate(state, request: Request, uid: str | None, path: str) -> Response:
    secrets = state.secrets
    listing = request.args.get("list", "").lower() == "true"
    if request.method == "GET" and listing:
        with state.lock:
            return json_response({"array": secrets.list(uid, path.strip("/") and normalize_path(path))})
    path = normalize_path(path)
    if request.method == "GET":
        with state.lock:
            return json_response(secrets.read(uid, path))
    if request.method not in ("PUT", "PATCH", "DELETE"):
        return json_response({"code": "ER_METHOD_NOT_ALLOWED", "message": f"{request.method} is not allowed"}, 405)
    body = _body(request) if request.method != "DELETE" else None
    with state.lock:
        if request.method == "PUT":
            secrets.create(uid, path, body)
        elif request.method == "PATCH":
            secrets.update(uid, path, body)
        else:
            secrets.delete(uid, path)
    state.save()
    return Response(status=201 if request.method == "PUT" else 204)


def _uid(state, request: Request) -> str | None:
    """Who asks: the token's uid (Admin Router has verified it); None on an open cluster."""
    token = request_token(request)
    return state.auth.verify(token) if token and state.config.auth != "none" else None


def handle(state, request: Request, path: str) -> Response:
    """One Secrets API request; ``path`` is the full request path."""
    uid = _uid(state, request)
    store, _, inner = path[len(PREFIX):].partition("/")
    try:
        if store != "default":
            raise SecretsError(404, "ER_STORE_NOT_FOUND", f"Store {store!r} not found")
        return _operate(state, request, uid, inner)
    except SecretsError as exc:
        return json_response({"code": exc.code, "message": exc.message}, exc.status)
