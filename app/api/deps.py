"""What routes get from the app: the services built in the lifespan, and who is asking.

The order of a write's checks is the order of its dependencies: the token (401), what it may do
(403, before any lookup, so a token learns nothing about liveblogs outside its scope), the rate
limit (429), then the request's own headers (Idempotency-Key, If-Match: 400/428).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import WithJsonSchema

from app.api.schemas import SlugPath
from app.auth.principal import Principal
from app.auth.tokens import TokenCheck
from app.domain.preconditions import IfMatch
from app.errors import PreconditionRequired, Unauthorized
from app.ratelimit import RateLimit
from app.services.entries import EntryService
from app.services.idempotency import KEY_PATTERN, Once, Reply, checked_key, fingerprint
from app.services.liveblogs import LiveblogService
from app.services.writes import parse_if_match
from app.settings import Settings

T = TypeVar("T")

# For the OpenAPI document: `*`, or entity tags separated by commas (RFC 9110 §8.8.3).
IF_MATCH_PATTERN = r'^(\*|(W/)?"[\x21\x23-\x7e]*"( *, *(W/)?"[\x21\x23-\x7e]*")*)$'

_bearer = HTTPBearer(auto_error=False, description="A token from `liveblog token create`.")


# Plain lookups, but `async def`: FastAPI runs a sync dependency in its thread pool, which costs
# a thread hop on every request.


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_tokens(request: Request) -> TokenCheck:
    tokens: TokenCheck = request.app.state.tokens
    return tokens


async def get_limiter(request: Request) -> RateLimit:
    limiter: RateLimit = request.app.state.write_limiter
    return limiter


async def get_liveblogs(request: Request) -> LiveblogService:
    service: LiveblogService = request.app.state.liveblogs
    return service


async def get_entries(request: Request) -> EntryService:
    service: EntryService = request.app.state.entries
    return service


async def authenticated(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    tokens: Annotated[TokenCheck, Depends(get_tokens)],
) -> Principal:
    """The token's holder; raises 401 if the token is missing, unknown, revoked or expired."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Missing bearer token: send 'Authorization: Bearer <token>'.")
    return await tokens.principal(credentials.credentials)


Caller = Annotated[Principal, Depends(authenticated)]
Limiter = Annotated[RateLimit, Depends(get_limiter)]


def admin_writer(action: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: an admin token, within its write rate, for `action` ("creating …")."""

    async def dependency(caller: Caller, limiter: Limiter) -> Principal:
        caller.require_admin(action)
        await limiter.check(caller.key)
        return caller

    return dependency


async def publisher(slug: SlugPath, caller: Caller, limiter: Limiter) -> Principal:
    """A token that may write entries of liveblog `slug`, within its write rate."""
    caller.require_liveblog(slug)
    await limiter.check(caller.key)
    return caller


async def liveblog_reader(slug: SlugPath, caller: Caller) -> Principal:
    """A token that may see the newsroom's side (revisions) of liveblog `slug`."""
    caller.require_liveblog(slug)
    return caller


Publisher = Annotated[Principal, Depends(publisher)]
NewsroomReader = Annotated[Principal, Depends(liveblog_reader)]


async def if_match(
    settings: Annotated[Settings, Depends(get_settings)],
    header: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description='Apply only if the object is still at this version: its ETag, e.g. `"3"`, '
            "or `*`. Otherwise 412 with the current version.",
        ),
        WithJsonSchema({"type": "string", "pattern": IF_MATCH_PATTERN}),
    ] = None,
) -> IfMatch | None:
    if header is None:
        if settings.require_if_match:
            raise PreconditionRequired(
                "This server requires If-Match on every change: GET the object, then send its "
                'ETag, e.g. If-Match: "3" (LIVEBLOG_REQUIRE_IF_MATCH).'
            )
        return None
    return parse_if_match(header)


Precondition = Annotated[IfMatch | None, Depends(if_match)]


class IdempotencyKey:
    """A request's Idempotency-Key, bound to its caller and fingerprint; `guard` arms it."""

    def __init__(self, caller: Principal, key: str, fingerprint: str, ttl: float) -> None:
        self.caller = caller
        self.key = key
        self.fingerprint = fingerprint
        self.ttl = ttl

    def guard(self, render: Callable[[T], Reply]) -> Once[T]:
        """The key, armed for a write whose success `render` turns into the stored reply."""
        return Once(self.caller.key, self.key, self.fingerprint, self.ttl, render)


async def idempotency_key(
    request: Request,
    caller: Caller,
    settings: Annotated[Settings, Depends(get_settings)],
    header: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Makes a retry safe: the same key with the same request replays the "
            "first response (`Idempotent-Replayed: true`) instead of writing again. 1–255 "
            "printable ASCII characters, unique per request; kept "
            "LIVEBLOG_IDEMPOTENCY_TTL_SECONDS (24 h).",
        ),
        WithJsonSchema({"type": "string", "pattern": KEY_PATTERN}),
    ] = None,
) -> IdempotencyKey | None:
    if header is None:
        return None
    checked_key(header)
    # The body was read for validation already; Starlette keeps it, so this is no second read.
    body = await request.body()
    return IdempotencyKey(
        caller,
        header,
        fingerprint(request.method, request.url.path, body),
        settings.idempotency_ttl_seconds,
    )


OptionalIdempotencyKey = Annotated[IdempotencyKey | None, Depends(idempotency_key)]
Liveblogs = Annotated[LiveblogService, Depends(get_liveblogs)]
Entries = Annotated[EntryService, Depends(get_entries)]
