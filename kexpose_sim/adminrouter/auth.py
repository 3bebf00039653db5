"""Admin Router's accounts and tokens (state only: ``responses`` speaks HTTP).

Login takes ``{uid, password}`` or ``{uid, token}`` where the token is an RS256 JWT the service
account signed with its private key. The answer is a DC/OS auth token (an RS256 JWT with ``uid``
and ``exp``, signed with the simulator's own key, which is kept in the state dir so tokens
survive a restart).
"""

from __future__ import annotations

import enum
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kexpose_sim.adminrouter.exceptions import LoginRefused
from kexpose_sim.config import SimConfig

DEFAULT_TOKEN_LIFETIME = 5 * 24 * 3600  # DC/OS default: 5 days


class Access(enum.Enum):
    """What Admin Router does with a request, given its token."""

    ALLOW = "allow"
    UNAUTHORIZED = "unauthorized"  # no token, or one the simulator did not sign (401)
    FORBIDDEN = "forbidden"  # a valid token of a uid that may not pass (403)


class AuthBackend:
    """Local users, service accounts and uids refused with 403; issues and verifies tokens."""

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

    # -- login and access ---------------------------------------------------------------------------
    def login(self, body: Any) -> str:
        """A DC/OS token for a login request body; raises ``LoginRefused`` with the IAM's reason."""
        if not isinstance(body, dict) or not isinstance(body.get("uid"), str):
            raise LoginRefused("Request data is not valid: 'uid' is required", 400, "ERR_INVALID_DATA")
        uid = body["uid"]
        if "password" in body:
            if self.users.get(uid) != body["password"]:
                raise LoginRefused("Invalid credentials")
        elif "token" in body:
            if not self._valid_service_login(uid, body["token"]):
                raise LoginRefused("Invalid authentication token")
        else:
            raise LoginRefused("Request data is not valid: 'password' or 'token' is required", 400, "ERR_INVALID_DATA")
        return self.issue(uid, body.get("exp"))

    def _valid_service_login(self, uid: str, token: str) -> bool:
        public_pem = self.service_accounts.get(uid)
        if not public_pem:
            return False
        try:
            claims = jwt.decode(token, public_pem, algorithms=["RS256"], options={"require": ["exp", "uid"]})
        except jwt.PyJWTError:
            return False
        return claims.get("uid") == uid

    def access(self, token: str | None) -> Access:
        """Whether a request carrying ``token`` (None: no token) may pass."""
        if self.config.auth == "none":
            return Access.ALLOW
        uid = self.verify(token) if token else None
        if uid is None:
            return Access.UNAUTHORIZED
        return Access.FORBIDDEN if uid in self.forbidden else Access.ALLOW
