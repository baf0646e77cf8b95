"""What routes get from the app: the services built in the lifespan, and who is asking.

The order of a write's checks is the order of its dependencies: the token (401), the rate limit
(429), then the request's own headers (Content-Type: 415; Idempotency-Key, If-Match: 400).
FastAPI solves a route's dependencies in the order of its parameters, so a route lists its
caller first. What the token may do (403), and whether If-Match is required (428), the services
decide (domain/policy.py), before they look anything up.

Few dependencies, each reading its part of the app itself (app/state.py), and services looked up by
plain functions (`entries_of`): FastAPI solves every dependency anew on each request, and the
chain of small ones (token check, write limit, settings, service, each its own dependency) cost
an entry's POST about 13% of its CPU.
"""

from __future__ import annotations

import email.message
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import WithJsonSchema

from app.api.responses import JSON
from app.auth.tokens import TokenCheck
from app.domain.preconditions import IfMatch
from app.domain.principal import Principal
from app.errors import Unauthorized, UnsupportedMediaType
from app.ratelimit import RateLimit
from app.services.idempotency import KEY_PATTERN, Once, Reply, checked_key, fingerprint
from app.services.writes import parse_if_match
from app.state import settings_of, tokens_of, write_limiter_of

T = TypeVar("T")

# For the OpenAPI document: `*`, or entity tags separated by commas (RFC 9110 §8.8.3).
IF_MATCH_PATTERN = r'^(\*|(W/)?"[\x21\x23-\x7e]*"( *, *(W/)?"[\x21\x23-\x7e]*")*)$'

_bearer = HTTPBearer(auto_error=False, description="A token from `liveblog token create`.")
BearerToken = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def token_holder(request: Request, token: BearerToken) -> Principal:
    """The token's holder; raises 401 if the token is missing, unknown, revoked or expired."""
    if token is None or token.scheme.lower() != "bearer":
        raise Unauthorized("Missing bearer token: send 'Authorization: Bearer <token>'.")
    tokens: TokenCheck = tokens_of(request)
    return await tokens.principal(token.credentials)


async def token_writer(request: Request, token: BearerToken) -> Principal:
    """The token's holder, within its write rate (429 past it)."""
    caller = await token_holder(request, token)
    limiter: RateLimit = write_limiter_of(request)
    await limiter.check(caller.key)
    return caller


def _is_json(content_type: str) -> bool:
    """Whether FastAPI reads a body sent with this Content-Type as JSON: application/json or
    application/*+json, with any parameters. The same test as its own (fastapi/routing.py),
    so that what passes `json_body` is never read as raw bytes."""
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


async def json_body(request: Request) -> None:
    """Refuses a write whose body is not sent as JSON with 415 naming the type to send: FastAPI
    would otherwise hand the raw bytes to validation, and answer "Input should be a valid
    dictionary", which does not say what to change."""
    sent = (request.headers.get("content-type") or "").split(";", 1)[0].strip()
    if sent and _is_json(request.headers["content-type"]):
        return
    told = f"The body was sent as {sent[:80]!r}." if sent else "The request has no Content-Type."
    raise UnsupportedMediaType(
        f"{told} Send the body as JSON, with Content-Type: application/json.",
        method=request.method,
        accepted=JSON,
    )


# After the caller's dependency: a token is checked before what it sent (see the docstring).
JsonBody = Annotated[None, Depends(json_body)]

TokenWriter = Annotated[Principal, Depends(token_writer)]
TokenHolder = Annotated[Principal, Depends(token_holder)]


async def if_match(
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
    return parse_if_match(header)


Precondition = Annotated[IfMatch | None, Depends(if_match)]


class IdempotencyKey:
    """A request's Idempotency-Key and fingerprint; `guard` binds them to the caller."""

    def __init__(self, key: str, fingerprint: str, ttl: float) -> None:
        self.key = key
        self.fingerprint = fingerprint
        self.ttl = ttl

    def guard(self, caller: Principal, render: Callable[[T], Reply]) -> Once[T]:
        """The key of `caller` (keys are per caller), armed for a write whose success `render`
        turns into the stored reply."""
        return Once(caller.key, self.key, self.fingerprint, self.ttl, render)


async def idempotency_key(
    request: Request,
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
        header,
        fingerprint(request.method, request.url.path, body),
        settings_of(request).idempotency_ttl_seconds,
    )


OptionalIdempotencyKey = Annotated[IdempotencyKey | None, Depends(idempotency_key)]
