"""REST: liveblogs."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from app.api.deps import Liveblogs, Writer
from app.api.responses import json_response
from app.api.schemas import LiveblogCreate, LiveblogList, LiveblogOut, LiveblogPatch

router = APIRouter(prefix="/api/liveblogs", tags=["liveblogs"])


@router.post("", status_code=201, response_model=LiveblogOut)
async def create_liveblog(body: LiveblogCreate, _writer: Writer, service: Liveblogs) -> Response:
    liveblog = await service.create(slug=body.slug, title=body.title, description=body.description)
    return json_response(
        liveblog.as_json(), 201, headers={"Location": f"/api/liveblogs/{liveblog.slug}"}
    )


@router.get("", response_model=LiveblogList)
async def list_liveblogs(service: Liveblogs) -> Response:
    return json_response({"liveblogs": [liveblog.as_json() for liveblog in await service.list()]})


@router.get("/{slug}", response_model=LiveblogOut)
async def get_liveblog(slug: str, service: Liveblogs) -> Response:
    return json_response((await service.get(slug)).as_json())


@router.patch("/{slug}", response_model=LiveblogOut)
async def update_liveblog(
    slug: str, body: LiveblogPatch, _writer: Writer, service: Liveblogs
) -> Response:
    liveblog = await service.update(slug, body.model_dump(exclude_unset=True))
    return json_response(liveblog.as_json())
