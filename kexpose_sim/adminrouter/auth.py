"""Admin Router: DC/OS login and the token check in front of every service.

Login (``POST /acs/api/v1/auth/login``) takes ``{uid, password}`` or ``{uid, token}`` where the
token is an RS256 JWT the service account signed with its private key. The answer is a DC/OS
auth token (an RS256 JWT with ``uid`` and ``exp``, signed with the simulator's own key, which is
kept in the state dir so tokens survive a restart) and the two ``dcos-acs-*`` cookies.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.wrappers import Request, Response

from kexpose_sim.config import SimConfig
from kexpose_sim.http import json_response, nginx_html

AUTH_COOKIE = "dcos-acs-auth-cookie"
INFO_COOKIE = "dcos-acs-info-cookie"
DEFAULT_TOKEN_LIFETIME = 5 * 24 * 3600  # DC/OS default: 5 days


def _unauthorized() -> Response:
    return nginx_html(401, "Authorization Required", {"WWW-Authenticate": "acsjwt"})


def _login_failure(description: str, status: int = 401, code: str = "ERR_INVALID_CREDENTIALS") -> Response:
    headers = {"WWW-Authenticate": "acsjwt"} if status == 401 else None
    return json_response({"title": "Unauthorized" if status == 401 else "Bad Request",
                          "description": description, "code": code}, status, headers)


class AuthBackend:
    def __init__(self, config: SimConfig, token_lifetime: float = DEFAULT_TOKEN_LIFETIME):
        self.config = config
        self.token_lifetime = token_lifetime
        self.users = dict(config.users)
        self.service_accounts = dict(config.service_accounts)
        self.forbidden = set(config.forbidden_uids)
        self._key = self._load_or_create_key(Path(config.state_dir) / "adminrouter-key.pem")
        self._public = self._key.public_key()

    @staticmethod
    def _load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
        if path.exists():
            return serialization.load_pem_private_key(path.read_bytes(), password=None)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path.write_bytes(
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        path.chmod(0o600)
        return key

    # -- persistence of accounts changed at runtime ---------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"users": self.users, "service_accounts": self.service_accounts, "forbidden": sorted(self.forbidden),
                "token_lifetime": self.token_lifetime}

    def load_dict(self, data: dict[str, Any]) -> None:
        self.users = data["users"]
        self.service_accounts = data["service_accounts"]
        self.forbidden = set(data["forbidden"])
        self.token_lifetime = data.get("token_lifetime", self.token_lifetime)

    # -- tokens -----------------------------------------------------------------------------------
    def issue(self, uid: str, exp: float | None = None) -> str:
        expiry = exp if exp and exp > time.time() else time.time() + self.token_lifetime
        return jwt.encode({"uid": uid, "exp": int(expiry)}, self._key, algorithm="RS256")

    def verify(self, token: str) -> str | None:
        try:
            claims = jwt.decode(token, self._public, algorithms=["RS256"], options={"require": ["exp", "uid"]})
        except jwt.PyJWTError:
            return None
        return claims["uid"]

    # -- HTTP -------------------------------------------------------------------------------------
    def login(self, request: Request) -> Response:
        if request.method != "POST":
            return _login_failure("Missing query parameters", 400, "ERR_MISSING_QUERY_PARAMETERS")
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            return _login_failure("Request has bad Content-Type or lacks JSON data", 400, "ERR_MALFORMED_DATA")
        if not isinstance(body, dict) or not isinstance(body.get("uid"), str):
            return _login_failure("Request data is not valid: 'uid' is required", 400, "ERR_INVALID_DATA")
        uid = body["uid"]
        if "password" in body:
            if self.users.get(uid) != body["password"]:
                return _login_failure("Invalid credentials")
        elif "token" in body:
            if not self._valid_service_login(uid, body["token"]):
                return _login_failure("Invalid authentication token")
        else:
            return _login_failure("Request data is not valid: 'password' or 'token' is required", 400, "ERR_INVALID_DATA")
        token = self.issue(uid, body.get("exp"))
        response = json_response({"token": token})
        info = base64.b64encode(json.dumps({"uid": uid, "description": uid, "is_remote": False}).encode()).decode()
        response.set_cookie(AUTH_COOKIE, token, path="/", httponly=True)
        response.set_cookie(INFO_COOKIE, info, path="/")
        return response

    def _valid_service_login(self, uid: str, token: str) -> bool:
        public_pem = self.service_accounts.get(uid)
        if not public_pem:
            return False
        try:
            claims = jwt.decode(token, public_pem, algorithms=["RS256"], options={"require": ["exp", "uid"]})
        except jwt.PyJWTError:
            return False
        return claims.get("uid") == uid

    def check(self, request: Request) -> Response | None:
        """None when the request may pass; else Admin Router's 401 or 403 page."""
        if self.config.auth == "none":
            return None
        token = None
        header = request.headers.get("Authorization", "")
        if header.startswith("token="):
            token = header[len("token="):]
        elif header.lower().startswith("bearer "):
            token = header[len("bearer "):]
        elif AUTH_COOKIE in request.cookies:
            token = request.cookies[AUTH_COOKIE]
        uid = self.verify(token) if token else None
        if uid is None:
            return _unauthorized()
        if uid in self.forbidden:
            return nginx_html(403, "Forbidden")
        return None
