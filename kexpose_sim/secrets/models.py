"""The secret store (moto's ``models``: the state behind the Secrets API; ``responses`` speaks HTTP).

Values are kept encrypted with AES-GCM under a key of the state dir (``secrets.key``, mode 0600),
so the JSON snapshot (and ``/_sim/state``) holds ciphertext only, and nothing here logs a value.
Each write bumps the secret's ``version``: Edge-LB pools compare it to decide on a reload.

Permissions model the DC/OS ACL ``dcos:secrets:default:/<prefix>/* full``: a uid with grants may
read and write only under those path prefixes (403 elsewhere); a uid without grants may do
everything (like the bootstrap superuser), as may every request on an open cluster.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kexpose_sim.secrets.exceptions import exists, forbidden, invalid, not_found

MAX_VALUE_BYTES = 1024 * 1024  # the Secrets API refuses values beyond ~1 MB
_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass
class StoredSecret:
    """One secret as persisted: its value encrypted (nonce + ciphertext, base64)."""

    sealed: str
    version: int = 1
    author: str = ""
    description: str = ""


def normalize_path(path: str) -> str:
    """``/a/b/`` and ``a/b`` are one path; segments are letters, digits, ``.``, ``_`` and ``-``."""
    clean = path.strip("/")
    if not clean or not all(_SEGMENT.match(s) for s in clean.split("/")):
        raise invalid(f"Invalid secret path {path!r}: segments of letters, digits, '.', '_' and '-'")
    return clean


class SecretsBackend:
    """The ``default`` store. Callers hold ``state.lock`` and ``save()`` after changes."""

    def __init__(self, state_dir: Path) -> None:
        self.secrets: dict[str, StoredSecret] = {}
        self.grants: dict[str, list[str]] = {}  # uid -> path prefixes it may use
        self._cipher = AESGCM(self._load_or_create_key(Path(state_dir) / "secrets.key"))

    @staticmethod
    def _load_or_create_key(path: Path) -> bytes:
        if path.exists():
            return path.read_bytes()
        key = AESGCM.generate_key(bit_length=256)
        path.write_bytes(key)
        path.chmod(0o600)
        return key

    # -- persistence ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"secrets": {p: asdict(s) for p, s in self.secrets.items()}, "grants": self.grants}

    def load_dict(self, data: dict[str, Any]) -> None:
        self.secrets = {p: StoredSecret(**s) for p, s in data.get("secrets", {}).items()}
        self.grants = data.get("grants", {})

    # -- permissions ----------------------------------------------------------------------------
    def check(self, uid: str | None, action: str, path: str) -> None:
        """Raise 403 unless ``uid`` may ``action`` (``read``/``full``) at ``path``."""
        prefixes = self.grants.get(uid or "")
        if prefixes is None:
            return
        if not any(path == p.strip("/") or path.startswith(p.strip("/") + "/") for p in prefixes):
            raise forbidden(uid, action, path)

    # -- values ---------------------------------------------------------------------------------
    def _seal(self, value: str) -> str:
        nonce = os.urandom(12)
        return base64.b64encode(nonce + self._cipher.encrypt(nonce, value.encode(), None)).decode()

    def _unseal(self, sealed: str) -> str:
        raw = base64.b64decode(sealed)
        return self._cipher.decrypt(raw[:12], raw[12:], None).decode()

    @staticmethod
    def _value(body: Any) -> str:
        if not isinstance(body, dict) or not isinstance(body.get("value"), str):
            raise invalid("The request body must be a JSON object with a string 'value'")
        if len(body["value"].encode()) > MAX_VALUE_BYTES:
            raise invalid(f"The secret value exceeds the maximum size of {MAX_VALUE_BYTES} bytes")
        return body["value"]

    # -- the API's operations -------------------------------------------------------------------
    def create(self, uid: str | None, path: str, body: Any) -> None:
        self.check(uid, "full", path)
        if path in self.secrets:
            raise exists(path)
        value = self._value(body)
        self.secrets[path] = StoredSecret(self._seal(value), author=uid or "",
                                          description=str(body.get("description", "")))

    def update(self, uid: str | None, path: str, body: Any) -> None:
        self.check(uid, "full", path)
        stored = self._stored(path)
        stored.sealed = self._seal(self._value(body))
        stored.version += 1

    def read(self, uid: str | None, path: str) -> dict[str, str]:
        self.check(uid, "read", path)
        stored = self._stored(path)
        return {"value": self._unseal(stored.sealed), "author": stored.author, "description": stored.description}

    def list(self, uid: str | None, path: str) -> list[str]:
        """Keys under ``path`` (``""``: the store's root), relative to it."""
        if path:
            self.check(uid, "read", path)
        prefix = f"{path}/" if path else ""
        return sorted(p[len(prefix):] for p in self.secrets if p.startswith(prefix))

    def delete(self, uid: str | None, path: str) -> None:
        self.check(uid, "full", path)
        self._stored(path)
        del self.secrets[path]

    def _stored(self, path: str) -> StoredSecret:
        stored = self.secrets.get(path)
        if stored is None:
            raise not_found(path)
        return stored

    # -- for other services (Edge-LB pools), no permission check: they run as their own principal --
    def version(self, path: str) -> int | None:
        stored = self.secrets.get(path.strip("/"))
        return None if stored is None else stored.version

    def value(self, path: str) -> str | None:
        stored = self.secrets.get(path.strip("/"))
        return None if stored is None else self._unseal(stored.sealed)
