"""The console's pages: sign-in, the list of liveblogs, a liveblog's workspace and its list (the
users and account pages are in accounts.py).

Pages are rendered on the server (the same entry template as the reader page, from app/render);
console.js then makes the workspace live. Sign-in and sign-out are plain forms, so they work
before any script has loaded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from app import render
from app.auth.csrf import CSRF_FIELD, check_origin, check_token
from app.auth.passwords import PasswordChecksBusy
from app.auth.sessions import ConsoleSession, Sessions
from app.console.deps import (
    PageSession,
    SignInNeeded,
    console_origin,
    cookie_name,
    current_session,
    is_secure,
)
from app.domain.drafts import Draft, DraftState
from app.domain.model import MAX_ID, SLUG_RE, Liveblog
from app.domain.principal import Role
from app.domain.search import QUERY_MAX
from app.errors import Forbidden, NotFound, TooManyRequests, Unauthorized
from app.ratelimit import client_address
from app.routing import Router
from app.services.drafts import DraftService
from app.services.entries import EntryService
from app.services.liveblogs import LiveblogService
from app.services.paging import Page
from app.state import (
    console_sockets_of,
    console_templates_of,
    liveblogs_of,
    parts_of,
    sessions_of,
    settings_of,
)

CONSOLE_DIR = Path(__file__).parent
STATIC_DIR = CONSOLE_DIR / "static"
LIST_SIZE = 50  # published entries per page of the workspace's list ("Load older" for more)
LIST_MAX = 1000  # what a refresh reloads at most, however far back the journalist has paged

router = Router(prefix="/console", include_in_schema=False)


def build_templates() -> Jinja2Templates:
    return render.build_templates(
        CONSOLE_DIR / "templates", render.static_url("/console/static", STATIC_DIR)
    )


def render_page(
    request: Request,
    name: str,
    context: dict[str, Any],
    status: int = 200,
    session: ConsoleSession | None = None,
) -> Response:
    templates: Jinja2Templates = console_templates_of(request)
    context = {
        "session": session,
        "user": session.user if session else None,
        "csrf_token": session.csrf_token if session else "",
        "Role": Role,
        **context,
    }
    return templates.TemplateResponse(request, name, context, status_code=status)


def _not_found(request: Request, session: ConsoleSession, detail: str) -> Response:
    return render_page(request, "not_found.html", {"detail": detail}, 404, session)


def _sign_in_page(
    request: Request, error: str | None = None, status: int = 200, username: str = ""
) -> Response:
    return render_page(request, "sign_in.html", {"error": error, "username": username}, status)


def redirect_to_sign_in(request: Request, exc: SignInNeeded) -> Response:
    """Handler for SignInNeeded: back to the sign-in page, then to where the user was going."""
    return RedirectResponse("/console", status_code=303)


@router.get("")
async def home(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return _sign_in_page(request)
    liveblogs: LiveblogService = liveblogs_of(request)
    return render_page(request, "home.html", {"liveblogs": await liveblogs.list()}, session=session)


@router.post("/sign-in")
async def sign_in(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        # Login CSRF: a page elsewhere must not sign a journalist into another account.
        check_origin(
            request.headers.get("origin"),
            request.headers.get("sec-fetch-site"),
            console_origin(request),
        )
    except Forbidden as error:
        return _sign_in_page(request, error.detail, 403, username)
    if not username or not password:
        return _sign_in_page(request, "Enter your username and password.", 422, username)
    sessions: Sessions = sessions_of(request)
    address = client_address(request.client.host if request.client else None)
    try:
        cookie, _ = await sessions.sign_in(username, password, address)
    except (Unauthorized, TooManyRequests, PasswordChecksBusy) as error:
        response = _sign_in_page(request, error.detail, error.status, username)
        response.headers.update(error.headers or {})
        return response
    settings = settings_of(request)
    response = RedirectResponse("/console", status_code=303)
    response.set_cookie(
        cookie_name(request),
        cookie,
        max_age=int(settings.session_max_days * 86400),
        path="/",
        secure=is_secure(request),
        httponly=True,
        samesite="lax",
    )
    return response


@router.post("/sign-out")
async def sign_out(
    request: Request, session: PageSession, csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = ""
) -> Response:
    check_origin(
        request.headers.get("origin"),
        request.headers.get("sec-fetch-site"),
        console_origin(request),
    )
    check_token(csrf_token, session.csrf_token)
    sessions: Sessions = sessions_of(request)
    await sessions.sign_out(session)
    response = RedirectResponse("/console", status_code=303)
    response.delete_cookie(cookie_name(request), path="/", secure=is_secure(request))
    return response


class Workspace:
    """What a liveblog's workspace and its live list show."""

    def __init__(
        self,
        liveblog: Liveblog,
        page: Page,
        drafts: list[Draft],
        query: str | None = None,
    ) -> None:
        self.liveblog = liveblog
        self.entries = page.entries
        self.next_before = page.next_before  # "Load older" asks for the page after this
        self.query = query  # the search the published list shows, if any
        self.scheduled = sorted(
            (d for d in drafts if d.state is DraftState.SCHEDULED),
            key=lambda d: d.publish_at or datetime.max.replace(tzinfo=UTC),
        )
        self.review = [d for d in drafts if d.state is DraftState.REVIEW]
        self.drafts = [d for d in drafts if d.state is DraftState.DRAFT]


async def read_workspace(
    request: Request,
    session: ConsoleSession,
    slug: str,
    *,
    query: str | None = None,
    before: int | None = None,
    limit: int = LIST_SIZE,
) -> Workspace:
    state = parts_of(request)
    liveblogs: LiveblogService = state.liveblogs
    entries: EntryService = state.entries
    drafts: DraftService = state.drafts
    liveblog = await liveblogs.get(slug)
    if query:
        page = await entries.search(slug, query, before=before, limit=limit)
    else:
        page = await entries.page(slug, before=before, limit=limit)
    return Workspace(liveblog, page, await drafts.list(slug, session.principal), query)


@router.get("/liveblogs/{slug}")
async def workspace(request: Request, slug: str, session: PageSession) -> Response:
    if not SLUG_RE.match(slug):
        return _not_found(request, session, f"No liveblog with slug {slug!r}.")
    try:
        view = await read_workspace(request, session, slug)
    except NotFound as error:
        return _not_found(request, session, error.detail)
    readers = console_sockets_of(request).readers(slug)
    return render_page(
        request, "workspace.html", {"view": view, "readers": readers}, session=session
    )


@router.get("/liveblogs/{slug}/items")
async def items(
    request: Request,
    slug: str,
    session: PageSession,
    q: Annotated[str | None, Query(max_length=QUERY_MAX)] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    shown: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> Response:
    """The workspace's list alone, for console.js to swap in when something changed: as many
    published entries as the journalist had loaded (`shown`), or the search `q`'s matches.
    With `before`, only the next page of entries (for "Load older")."""
    if not SLUG_RE.match(slug):
        raise NotFound(f"No liveblog with slug {slug!r}.")
    limit = LIST_SIZE if before else min(max(shown, LIST_SIZE), LIST_MAX)
    view = await read_workspace(
        request, session, slug, query=(q or "").strip() or None, before=before, limit=limit
    )
    return render_page(
        request, "_items.html", {"view": view, "only_older": before is not None}, session=session
    )
