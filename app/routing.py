"""The router every edge declares its routes on: FastAPI's, with HEAD wherever GET is served.

RFC 9110 (9.3.2) has HEAD answer as GET does, without the content. Starlette's own routes do
(the OpenAPI document, the static files); FastAPI's answer 405, so `curl -I`, a link checker or
an uptime monitor is told that a page cannot be had. `Router` registers each GET route a second
time for HEAD, with the same endpoint and dependencies: uvicorn sends a HEAD response's status
and headers, Content-Length included, and drops the body. The twin stays out of the OpenAPI
document, where HEAD goes without saying (and where it would repeat the GET's operation id).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter


class Router(APIRouter):
    """An APIRouter whose every GET route also answers HEAD (see the module's docstring)."""

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        super().add_api_route(path, endpoint, **options)
        methods = {method.upper() for method in options.get("methods") or ["GET"]}
        if "GET" in methods and "HEAD" not in methods:
            twin = {**options, "methods": ["HEAD"], "include_in_schema": False}
            super().add_api_route(path, endpoint, **twin)
