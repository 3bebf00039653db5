"""Why Admin Router refuses a login, as the IAM's error body names it."""

from __future__ import annotations


class LoginRefused(Exception):
    """A refused login: HTTP ``status`` and the ``{title, description, code}`` the IAM answers."""

    def __init__(self, description: str, status: int = 401, code: str = "ERR_INVALID_CREDENTIALS"):
        super().__init__(description)
        self.description, self.status, self.code = description, status, code
