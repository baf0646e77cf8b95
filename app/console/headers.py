"""The console's own response policy: never cached, never framed, its own CSP.

Applied to every response under /console (pages, fragments, JSON, static files). The CSP is
stricter than the reader page's in one way (no framing at all: a console in a frame invites
clickjacking) and as strict in every other: no inline script or style, connections only to us.
Images may come from anywhere http(s) because a preview shows the entry's pictures.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.middleware.security_headers import FRAME_SOURCES

PREFIX = "/console"

CONSOLE_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' http: https:",
        "connect-src 'self'",
        f"frame-src {FRAME_SOURCES}",  # the preview's embeds, as on the reader page
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ConsoleHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        static = path.startswith(PREFIX + "/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if not static:  # versioned files (?v=hash) may be cached; nothing else
                    headers["Cache-Control"] = "no-store, private"
                headers["X-Frame-Options"] = "DENY"
                headers["Content-Security-Policy"] = CONSOLE_POLICY
                headers.setdefault("Referrer-Policy", "same-origin")
            await send(message)

        await self.app(scope, receive, send_with_headers)
