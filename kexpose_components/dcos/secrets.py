"""The DC/OS Secrets API (Enterprise): secrets in the ``default`` store, by path.

``PUT`` creates (201; 409 when the path exists), ``PATCH`` updates (204), ``GET`` reads
(``{"value"}``), ``DELETE`` removes (204); 404 is "no such secret", 403 "this uid may not".
Values are handed in and out as they are; nothing here logs or formats one.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote

from kexpose_components.dcos.client import DcosSession

#: One segment of a secret path, as the Secrets API accepts it.
SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")
MAX_VALUE_BYTES = 1024 * 1024


def path_problem(path: object) -> str | None:
    """Why ``path`` is not a secret path (``kexpose/elb/devkubernetes01``), or None."""
    if not isinstance(path, str) or not path.strip("/"):
        return "must be a secret path like 'kexpose/elb/devkubernetes01'"
    bad = [s for s in path.strip("/").split("/") if not SEGMENT.match(s)]
    if bad:
        return f"segment {bad[0]!r} may only hold letters, digits, '.', '_' and '-'"
    return None


def digest(value: str) -> str:
    """What the state keeps of a value to see drift: its SHA-256, never the value."""
    return hashlib.sha256(value.encode()).hexdigest()


class SecretsClient:
    def __init__(self, session: DcosSession):
        self.session = session

    @staticmethod
    def _path(path: str) -> str:
        return "/secrets/v1/secret/default/" + quote(path.strip("/"))

    def read(self, path: str) -> str | None:
        response = self.session.request("GET", self._path(path), expect=(200, 404))
        return None if response.status_code == 404 else response.json()["value"]

    def create(self, path: str, value: str) -> bool:
        """PUT; False when the path exists already (409)."""
        response = self.session.request("PUT", self._path(path), json={"value": value, "description": "kexpose"},
                                        expect=(201, 409))
        return response.status_code == 201

    def update(self, path: str, value: str) -> None:
        self.session.request("PATCH", self._path(path), json={"value": value}, expect=(204,))

    def delete(self, path: str) -> bool:
        """DELETE; False when it was gone already."""
        return self.session.request("DELETE", self._path(path), expect=(204, 404)).status_code == 204
