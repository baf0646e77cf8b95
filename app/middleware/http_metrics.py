"""Counts and times every HTTP request by route template, method and status (app/metrics.py).

The route is the matched path template (`/api/liveblogs/{slug}/entries`), never the raw path,
so the number of series stays bounded; a request no route matched (a 404) is `unmatched`, and
static files are their mount (`/static`). WebSockets are counted by the realtime metrics.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics

UNMATCHED = "unmatched"
MOUNTS = ("/console/static", "/static")


def route_of(scope: Scope, status: int) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    raw: str = scope.get("path", "")
    for mount in MOUNTS:
        if raw.startswith(mount + "/") and status != 404:
            return mount
    return UNMATCHED


class HttpMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # if the app fails before it answers

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = route_of(scope, status)
            method = scope["method"]
            metrics.HTTP_REQUESTS.labels(route, method, str(status)).inc()
            metrics.HTTP_DURATION.labels(route, method).observe(time.perf_counter() - started)
