"""Marathon's 4xx answers: ``{"message", "details"}`` bodies, details grouped by path as Play renders them."""

from __future__ import annotations

from typing import Any


class ValidationFailure(Exception):
    """A 4xx Marathon answer: ``status``, ``message`` and ``details`` (a list or a string)."""

    def __init__(self, status: int, message: str, details: Any = None, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.status, self.message, self.details, self.extra = status, message, details, extra or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return {**body, **self.extra}


class Errors:
    """Collects (path, error) pairs and renders Marathon's grouped ``details``."""

    def __init__(self) -> None:
        self.items: dict[str, list[str]] = {}

    def add(self, path: str, error: str) -> None:
        self.items.setdefault(path or "/", []).append(error)

    def raise_if_any(self, message: str) -> None:
        if self.items:
            raise ValidationFailure(422, message, [{"path": p, "errors": e} for p, e in self.items.items()])
