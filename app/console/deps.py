"""Who is asking, and may they: the console's session, CSRF and role checks as dependencies.

Pages (GET) only need a session; a page asked for without one redirects to sign-in. Every
write also passes both CSRF checks (auth/csrf.py) before its handler runs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.requests import HTTPConnection

from app.auth.csrf import CSRF_HEADER, check_origin, check_token
from app.auth.sessions import ConsoleSession
from app.domain.principal import Principal
from app.errors import Unauthorized
from app.state import sessions_of, settings_of, write_limiter_of

COOKIE = "liveblog_session"
# With https the cookie takes the __Host- prefix: the browser then insists on Secure, Path=/
# and no Domain, so no other host (a sibling subdomain) can plant or overwrite it.
SECURE_COOKIE = "__Host-liveblog_session"


class SignInNeeded(Exception):
    """A console page was asked for without a live session: the page handler redirects."""


def _scheme(request: HTTPConnection) -> str:
    """http or https, for pages and sockets alike (a socket's URL says ws or wss)."""
    return {"ws": "http", "wss": "https"}.get(request.url.scheme, request.url.scheme)


def is_secure(request: HTTPConnection) -> bool:
    """https, as the public URL says or (behind a trusted proxy) X-Forwarded-Proto does."""
    public = settings_of(request).public_url
    return public.startswith("https://") if public else _scheme(request) == "https"


def cookie_name(request: HTTPConnection) -> str:
    return SECURE_COOKIE if is_secure(request) else COOKIE


def console_origin(request: HTTPConnection) -> str:
    """The origin console pages are served from: LIVEBLOG_PUBLIC_URL, else this request's."""
    public = settings_of(request).public_url
    if public:
        return public
    host = request.headers.get("host", "")
    return f"{_scheme(request)}://{host}".lower()


async def current_session(request: Request) -> ConsoleSession | None:
    return await sessions_of(request).resolve(request.cookies.get(cookie_name(request)))


async def page_session(request: Request) -> ConsoleSession:
    session = await current_session(request)
    if session is None:
        raise SignInNeeded
    return session


async def writer_session(
    request: Request,
    csrf_token: Annotated[str | None, Header(alias=CSRF_HEADER)] = None,
) -> ConsoleSession:
    """The session behind a write, once the write has proved it comes from the console."""
    check_origin(
        request.headers.get("origin"),
        request.headers.get("sec-fetch-site"),
        console_origin(request),
    )
    session = await current_session(request)
    if session is None:
        raise Unauthorized(
            "You are signed out (the session ended or expired); sign in again.", challenge=None
        )
    check_token(csrf_token, session.csrf_token)
    return session


PageSession = Annotated[ConsoleSession, Depends(page_session)]
WriterSession = Annotated[ConsoleSession, Depends(writer_session)]


async def writer(request: Request, session: WriterSession) -> Principal:
    """The writer, counted against the same per-caller write limit as API tokens."""
    await write_limiter_of(request).check(session.principal.key)
    return session.principal


def reader(session: WriterSession) -> Principal:
    """Who reads a draft or an entry's Markdown through console.js: private, so the same
    checks as a write, but no write is counted."""
    return session.principal


Writer = Annotated[Principal, Depends(writer)]
Reader = Annotated[Principal, Depends(reader)]
