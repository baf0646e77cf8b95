"""REST: liveblogs."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from app.api.deps import (
    JsonBody,
    OptionalIdempotencyKey,
    Precondition,
    TokenWriter,
)
from app.api.responses import json_response, problems, reply_response, versioned
from app.api.schemas import LiveblogCreate, LiveblogList, LiveblogOut, LiveblogPatch, SlugPath
from app.domain.model import Liveblog
from app.routing import Router
from app.services.idempotency import Reply
from app.state import liveblogs_of

router = Router(prefix="/api/liveblogs", tags=["liveblogs"])


def _created(liveblog: Liveblog) -> Reply:
    return versioned(
        liveblog.as_json(), liveblog.epoch, 201, Location=f"/api/liveblogs/{liveblog.slug}"
    )


@router.post(
    "",
    status_code=201,
    response_model=LiveblogOut,
    responses=problems(400, 401, 403, 409, 413, 415, 422, 429, 503),
)
async def create_liveblog(
    request: Request,
    body: LiveblogCreate,
    caller: TokenWriter,
    _sent_as_json: JsonBody,
    key: OptionalIdempotencyKey,
) -> Response:
    liveblog = await liveblogs_of(request).create(
        slug=body.slug,
        title=body.title,
        description=body.description,
        by=caller,
        once=key.guard(caller, _created) if key else None,
    )
    return reply_response(_created(liveblog))


@router.get("", response_model=LiveblogList)
async def list_liveblogs(request: Request) -> Response:
    liveblogs = await liveblogs_of(request).list()
    return json_response({"liveblogs": [liveblog.as_json() for liveblog in liveblogs]})


@router.get("/{slug}", response_model=LiveblogOut, responses=problems(404))
async def get_liveblog(request: Request, slug: SlugPath) -> Response:
    """The liveblog, with the version of its own fields as `ETag` (for If-Match)."""
    liveblog = await liveblogs_of(request).get(slug)
    return reply_response(versioned(liveblog.as_json(), liveblog.epoch))


@router.patch(
    "/{slug}",
    response_model=LiveblogOut,
    responses=problems(400, 401, 403, 404, 412, 413, 415, 422, 428, 429, 503),
)
async def update_liveblog(
    request: Request,
    slug: SlugPath,
    body: LiveblogPatch,
    caller: TokenWriter,
    _sent_as_json: JsonBody,
    if_match: Precondition,
) -> Response:
    liveblog = await liveblogs_of(request).update(
        slug, body.model_dump(exclude_unset=True), by=caller, if_match=if_match
    )
    return reply_response(versioned(liveblog.as_json(), liveblog.epoch))
