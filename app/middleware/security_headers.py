"""Security headers on every response, and a Content-Security-Policy on every HTML page.

The sanitizer is the first line of defence against a hostile entry body; the CSP is the second:
even markup that slipped through could run no script (only our own files), load images only
from where the sanitizer allows them (absolute http(s)), and open connections only to us.

The reader page satisfies the policy as it is: no inline script (its JSON-LD block is data, not
script), no inline style, its WebSocket on its own origin (CSP 3 lets 'self' match ws:/wss: of
the same host). The API docs (/docs, app/web/api_docs.py) serve Swagger UI from this machine
and start it from a file of ours; they get a policy of their own only because Swagger UI's
stylesheet draws its icons with data: images (docs/operations.md, "Security headers").
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.domain import embeds

# What entries may load: the sanitizer (domain/sanitize.py) keeps absolute http(s) image URLs.
ENTRY_IMAGES = "http: https:"
FRAME_SOURCES = " ".join(embeds.frame_sources())
DOCS_PATH = "/docs"  # the page and its assets under /docs/assets/


def page_policy(frame_ancestors: str) -> str:
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' {ENTRY_IMAGES}",
            "connect-src 'self'",
            # Players and posts, loaded only when a reader asks (static/embeds.js): exactly the
            # provider table's hosts.
            f"frame-src {FRAME_SOURCES}",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def docs_policy(frame_ancestors: str) -> str:
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            # swagger-ui.css draws its icons (arrows, locks, copy buttons) as data: SVG images.
            "img-src 'self' data:",
            "connect-src 'self'",  # the OpenAPI document, and "Try it out" against this API
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


# Features no page of ours uses; denied so that injected markup cannot ask for them either.
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, frame_ancestors: str = "'self'") -> None:
        self.app = app
        self._page = page_policy(frame_ancestors)
        self._docs = docs_policy(frame_ancestors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        docs = path == DOCS_PATH or path.startswith(DOCS_PATH + "/")
        policy = self._docs if docs else self._page

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", policy)
                    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
            await send(message)

        await self.app(scope, receive, send_with_headers)
