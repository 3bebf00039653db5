"""The Secrets API's errors: the HTTP status and the ``{"code", "message"}`` body it answers."""

from __future__ import annotations


class SecretsError(Exception):
    """An API error: HTTP ``status``, an ``ER_*`` ``code`` and a human ``message``."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def not_found(path: str) -> SecretsError:
    return SecretsError(404, "ER_SECRET_NOT_FOUND", f"Secret {path!r} not found")


def exists(path: str) -> SecretsError:
    return SecretsError(409, "ER_SECRET_EXISTS", f"Secret {path!r} already exists")


def forbidden(uid: str | None, action: str, path: str) -> SecretsError:
    return SecretsError(403, "ER_FORBIDDEN",
                        f"uid {uid!r} lacks permission dcos:secrets:default:/{path} {action}")


def invalid(message: str) -> SecretsError:
    return SecretsError(400, "ER_INVALID_REQUEST", message)
