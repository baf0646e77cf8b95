"""Media files, as readers' browsers fetch them: `/media/<name>`, from whichever store holds
them (a directory, or a bucket when no CDN serves it).

A name is the hash of the file's bytes, so a file never changes: it is cached for a year,
everywhere, and revalidating it is answered 304 without reading the store. Its type comes from
its name (one of four, set at upload), never sniffed (nosniff is on every response).
"""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from app.domain.media import NAME, content_type_of
from app.errors import NotFound
from app.routing import Router
from app.state import media_of

router = Router(include_in_schema=False)

IMMUTABLE = "public, max-age=31536000, immutable"


@router.api_route("/media/{name}", methods=["GET", "HEAD"])
async def media_file(request: Request, name: str) -> Response:
    if not NAME.fullmatch(name):
        raise NotFound(f"No media file {name[:80]!r}.")
    headers = {"Cache-Control": IMMUTABLE, "ETag": f'"{name}"'}
    if request.headers.get("if-none-match") in (f'"{name}"', f'W/"{name}"', "*"):
        return Response(status_code=304, headers=headers)
    data = await media_of(request).file(name)
    if data is None:
        raise NotFound(f"No media file {name!r}.")
    return Response(data, media_type=content_type_of(name), headers=headers)
