"""HTTP helpers shared by the simulated services: response builders and the route table."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from werkzeug.wrappers import Response


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


def text_response(body: str, status: int = 200, content_type: str = "text/plain") -> Response:
    return Response(body, status=status, content_type=content_type)


def nginx_html(status: int, title: str, headers: dict[str, str] | None = None) -> Response:
    """An error page the way Admin Router (nginx) renders one."""
    body = (
        f"<html>\r\n<head><title>{status} {title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {title}</h1></center>\r\n<hr><center>openresty</center>\r\n</body>\r\n</html>\r\n"
    )
    return Response(body, status=status, headers=headers, content_type="text/html; charset=UTF-8")


Handler = Callable[..., Response]


@dataclass(frozen=True)
class Routed:
    """What a route table says about a request: its handler and path parameters, or, for a
    known path with another method, the methods it allows (``handler`` None, ``allowed`` set)."""

    handler: Handler | None = None
    params: dict[str, str] = field(default_factory=dict)
    allowed: tuple[str, ...] = ()


class RouteTable:
    """Path patterns (full matches, tried in order) and their handlers per HTTP method: the one
    routing style of the simulated services, each rendering 404 and 405 in its own way."""

    def __init__(self, routes: list[tuple[str, dict[str, Handler]]]):
        self.routes = [(re.compile(pattern), methods) for pattern, methods in routes]

    def find(self, method: str, path: str) -> Routed | None:
        """The route for ``method`` on ``path``; None when no pattern matches the path."""
        for pattern, methods in self.routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            handler = methods.get(method)
            if handler is None:
                return Routed(allowed=tuple(sorted(methods)))
            return Routed(handler, match.groupdict())
        return None
