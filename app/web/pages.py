"""Reader pages: `/`, `/liveblogs/{slug}` and entry permalinks, rendered with Jinja2.

Every page is complete without JavaScript. The liveblog page carries the seq it was rendered at
(`data-seq`), so even a copy served from a cache is correct: the client resumes from that seq.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from app import render
from app.domain.model import SLUG_RE, parse_id
from app.errors import NotFound
from app.render import entry_path, page_path
from app.routing import Router
from app.services.pages import read_entry_page, read_reader_page
from app.state import db_of, liveblogs_of, templates_of
from app.web import seo

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
PAGE_SIZE = 20
# Pages are correct from cache (the client catches up from their seq), so a short public cache
# lets a CDN absorb a rush of readers arriving at once.
PAGE_CACHE = "public, max-age=5, stale-while-revalidate=30"

router = Router(include_in_schema=False)


def build_templates() -> Jinja2Templates:
    return render.build_templates(WEB_DIR / "templates", render.static_url("/static", STATIC_DIR))


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    templates = templates_of(request)
    response = templates.TemplateResponse(request, name, context, status_code=status)
    if status == 200:
        response.headers["Cache-Control"] = PAGE_CACHE
    return response


def _absolute(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + path


@router.get("/")
async def index(request: Request) -> Response:
    return _render(request, "index.html", {"liveblogs": await liveblogs_of(request).list()})


def _not_found(request: Request, detail: str) -> Response:
    return _render(request, "not_found.html", {"detail": detail}, 404)


@router.get("/liveblogs/{slug}")
async def liveblog_page(request: Request, slug: str, before: str | None = None) -> Response:
    # Parsed here, not by FastAPI: a reader following a mangled link gets the page's 404, not
    # a JSON error.
    if not SLUG_RE.match(slug):
        return _not_found(request, f"No liveblog with slug {slug!r}.")
    cursor = parse_id(before)
    if before is not None and cursor is None:
        return _not_found(request, f"No page of liveblog {slug!r} starts before {before!r}.")
    try:
        view = await read_reader_page(db_of(request), slug, before=cursor, limit=PAGE_SIZE)
    except NotFound as error:
        return _not_found(request, error.detail)
    lb = view.liveblog
    shown = ([view.pinned] if view.pinned else []) + view.stream.entries
    canonical = _absolute(request, page_path(lb))
    posting = seo.live_blog_posting(
        lb, view.stream.entries, canonical, lambda e: _absolute(request, entry_path(lb, e))
    )
    context = {
        "view": view,
        "before": cursor,
        "live": cursor is None,
        "on_page": {entry.id for entry in view.stream.entries},
        "social": seo.Social(lb.title, seo.summary(lb, shown), canonical, seo.first_image(shown)),
        "json_ld": seo.script_json(posting),
    }
    return _render(request, "liveblog.html", context)


@router.get("/liveblogs/{slug}/entries/{entry_id}")
async def entry_page(request: Request, slug: str, entry_id: str) -> Response:
    number = parse_id(entry_id)
    if number is None or not SLUG_RE.match(slug):
        return _not_found(request, f"No entry {entry_id!r} in liveblog {slug!r}.")
    try:
        view = await read_entry_page(db_of(request), slug, number)
    except NotFound as error:
        return _not_found(request, error.detail)
    lb, entry = view.liveblog, view.entry
    context = {
        "view": view,
        "social": seo.Social(
            render.headline(entry),
            seo.summary(lb, [entry]),
            _absolute(request, entry_path(lb, entry)),
            seo.first_image([entry]),
        ),
    }
    return _render(request, "entry.html", context)
