"""Edge-LB's API errors: the HTTP status and the ``{"code", "message"}`` body its go-openapi server sends."""

from __future__ import annotations


class EdgeLBError(Exception):
    """An API error: HTTP ``status`` and the ``{"code", "message"}`` body Edge-LB sends."""

    def __init__(self, status: int, message: str, code: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = status if code is None else code


def parse_error(reason: str) -> EdgeLBError:
    """go-openapi's answer when the body does not decode into the Go pool type."""
    return EdgeLBError(400, f'parsing pool body from "" failed, because {reason}')


def invalid(message: str) -> EdgeLBError:
    """A ``V2CheckPool`` rejection (400)."""
    return EdgeLBError(400, message)


def empty(what: str) -> EdgeLBError:
    """``V2CheckPool``'s wording for a required string left empty."""
    return invalid(f"{what} cannot be empty or the empty string")
