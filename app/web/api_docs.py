"""The API's documentation at /docs: Swagger UI, served entirely from this machine.

FastAPI's own /docs page loads Swagger UI from a CDN and starts it with an inline script: it is
blank without internet, and it needs a loose Content-Security-Policy. This page is ours instead:

- Swagger UI's built files (`swagger-ui-bundle.js`, `swagger-ui.css`, the favicon) come from the
  `fastapi-offline` package, which ships swagger-ui-dist's files (Swagger UI is Apache-2.0), and
  are served under /docs/assets/ with a content hash in their URL.
- The start-up code is a static file of ours (`static/api-docs.js`), not an inline script.

So the page satisfies the docs policy in `app/middleware/security_headers.py`: scripts, styles
and connections from our own origin only. ReDoc (/redoc) is turned off (docs/operations.md,
"Security headers"): one browsable UI is enough, and ReDoc would need inline styles and blob:
workers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache
from html import escape
from importlib import resources
from pathlib import Path

import fastapi_offline
from fastapi import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from app import render
from app.errors import NotFound
from app.routing import Router
from app.web.pages import STATIC_DIR

DOCS_PATH = "/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
SWAGGER_UI_DIR = Path(str(resources.files(fastapi_offline) / "static"))
# The files the page uses, with their types; nothing else in the package's folder is served.
ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}
# The page is small and names its assets by content hash: revalidated on every visit, so an
# upgrade shows at once.
PAGE_CACHE = "no-cache"
# An asset asked for by its current hash never changes at that URL. Asked for otherwise (no
# `v`, an old one), it is revalidated like the page.
ASSET_CACHE = "public, max-age=31536000, immutable"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="{favicon}">
<link rel="stylesheet" href="{css}">
<script src="{bundle}" defer></script>
<script src="{start}" defer></script>
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}">
<noscript><p>This page needs JavaScript. The OpenAPI document is
<a href="{openapi}">{openapi}</a>.</p></noscript>
</div>
</body>
</html>
"""

router = Router(include_in_schema=False)


@cache
def _asset_versions() -> dict[str, str]:
    return {
        name: hashlib.sha256((SWAGGER_UI_DIR / name).read_bytes()).hexdigest()[:12]
        for name in ASSET_TYPES
    }


@cache
def _static() -> Callable[[str], str]:
    return render.static_url("/static", STATIC_DIR)


@router.get(DOCS_PATH)
async def swagger_ui(request: Request) -> Response:
    root = request.scope.get("root_path", "")
    versions = _asset_versions()

    def asset(name: str) -> str:
        return escape(f"{root}{ASSETS_PATH}/{name}?v={versions[name]}")

    page = PAGE.format(
        title=escape(f"{request.app.title} API – Swagger UI"),
        favicon=asset("favicon.png"),
        css=asset("swagger-ui.css"),
        bundle=asset("swagger-ui-bundle.js"),
        start=escape(root + _static()("api-docs.js")),
        openapi=escape(f"{root}{request.app.openapi_url}"),
    )
    return HTMLResponse(page, headers={"Cache-Control": PAGE_CACHE})


@router.get(f"{ASSETS_PATH}/{{name}}")
async def swagger_ui_asset(name: str, v: str | None = None) -> Response:
    media_type = ASSET_TYPES.get(name)
    if media_type is None:
        raise NotFound(f"No documentation asset {name!r}.")
    cache_control = ASSET_CACHE if v == _asset_versions()[name] else PAGE_CACHE
    return FileResponse(
        SWAGGER_UI_DIR / name, media_type=media_type, headers={"Cache-Control": cache_control}
    )
