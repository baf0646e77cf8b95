"""Reader pages: `/`, `/liveblogs/{slug}` and entry permalinks, rendered with Jinja2.

Every page is complete without JavaScript. The liveblog page carries the seq it was rendered at
(`data-seq`), so even a copy served from a cache is correct: the client resumes from that seq.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from app.domain.model import SLUG_RE, Entry, Liveblog, iso_utc, parse_id
from app.errors import NotFound
from app.services.pages import read_entry_page, read_reader_page
from app.web import seo

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
PAGE_SIZE = 20
# Pages are correct from cache (the client catches up from their seq), so a short public cache
# lets a CDN absorb a rush of readers arriving at once.
PAGE_CACHE = "public, max-age=5, stale-while-revalidate=30"

router = APIRouter(include_in_schema=False)


def _clock(moment: datetime) -> str:
    """Server-side fallback for readers without JavaScript; the client shows local times."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment.date() == datetime.now(UTC).date():
        return moment.strftime("%H:%M UTC")
    return moment.strftime("%-d %b %Y, %H:%M UTC")


def _asset_versions() -> dict[str, str]:
    """Content hashes, so browsers cache assets until they change."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in STATIC_DIR.iterdir()
        if path.is_file()
    }


def page_path(liveblog: Liveblog) -> str:
    return f"/liveblogs/{liveblog.slug}"


def entry_path(liveblog: Liveblog, entry: Entry) -> str:
    return f"/liveblogs/{liveblog.slug}/entries/{entry.id}"


def build_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=WEB_DIR / "templates")
    versions = _asset_versions()
    env = templates.env
    env.filters["iso"] = iso_utc
    env.filters["clock"] = _clock
    env.filters["headline"] = seo.headline
    env.globals["static"] = lambda name: f"/static/{name}?v={versions.get(name, '0')}"
    env.globals["page_path"] = page_path
    env.globals["entry_path"] = entry_path
    return templates


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    response = templates.TemplateResponse(request, name, context, status_code=status)
    if status == 200:
        response.headers["Cache-Control"] = PAGE_CACHE
    return response


def _absolute(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + path


@router.get("/")
async def index(request: Request) -> Response:
    return _render(request, "index.html", {"liveblogs": await request.app.state.liveblogs.list()})


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
        view = await read_reader_page(request.app.state.db, slug, before=cursor, limit=PAGE_SIZE)
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
        view = await read_entry_page(request.app.state.db, slug, number)
    except NotFound as error:
        return _not_found(request, error.detail)
    lb, entry = view.liveblog, view.entry
    context = {
        "view": view,
        "social": seo.Social(
            seo.headline(entry),
            seo.summary(lb, [entry]),
            _absolute(request, entry_path(lb, entry)),
            seo.first_image([entry]),
        ),
    }
    return _render(request, "entry.html", context)
