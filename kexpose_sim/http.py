"""Response helpers shared by the simulated services."""

from __future__ import annotations

import json
from typing import Any

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
