"""REST: uploading media (photos) for entries. The service decides what an upload becomes."""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Form, Path, Request, UploadFile
from starlette.responses import Response

from app.api.deps import TokenHolder
from app.api.responses import json_response, problems
from app.api.schemas import MediaOut
from app.domain.media import ALT_MAX, CAPTION_MAX, CREDIT_MAX
from app.routing import Router
from app.services.media import Uploaded
from app.state import media_of
from app.uploads import FormBody, read_upload, uploaded_json

router = Router(prefix="/api/media", tags=["media"])


@router.post(
    "",
    status_code=201,
    response_model=MediaOut,
    responses=problems(
        400,
        401,
        403,
        413,
        415,
        422,
        429,
        503,
        meaning={
            400: "The body is not well-formed multipart/form-data.",
            413: "The file is over LIVEBLOG_MAX_UPLOAD_BYTES, or the image over "
            "LIVEBLOG_MAX_UPLOAD_PIXELS.",
            415: "Not sent as `multipart/form-data`, or the file is not an image taken "
            "(judged by content): JPEG, PNG, WebP, GIF, HEIC.",
            422: "A damaged image, or alt text, caption or credit too long.",
            429: "Over LIVEBLOG_UPLOADS_PER_MINUTE: wait `Retry-After` seconds.",
            503: "Image workers or the media store busy or unreachable: nothing was stored; "
            "retry after `Retry-After` seconds.",
        },
    ),
)
async def upload_media(
    request: Request,
    caller: TokenHolder,
    _sent_as_form: FormBody,
    file: Annotated[UploadFile, File(description="The image: JPEG, PNG, WebP, GIF or HEIC.")],
    alt: Annotated[
        str,
        Form(
            max_length=ALT_MAX,
            description="What the photo shows, for readers who "
            "cannot see it (needed before an entry showing it is published).",
        ),
    ] = "",
    caption: Annotated[str, Form(max_length=CAPTION_MAX)] = "",
    credit: Annotated[
        str, Form(max_length=CREDIT_MAX, description='Who took it, e.g. "Photo: Reuters".')
    ] = "",
) -> Response:
    """Upload an image (`publish` scope or higher). It is judged by its content, stripped of
    its metadata (GPS too), turned upright and stored at several sizes; the same file uploaded
    twice is stored once. Use `html` in an entry's body, or `url` in Markdown."""
    data = await read_upload(request, file)
    uploaded = await media_of(request).upload(
        data, by=caller, alt=alt, caption=caption, credit=credit
    )
    media_id = uploaded.media.id
    return json_response(
        uploaded_json(request, uploaded), 201, headers={"Location": f"/api/media/{media_id}"}
    )


@router.get("/{media_id}", response_model=MediaOut, responses=problems(404))
async def get_media(
    request: Request,
    media_id: Annotated[str, Path(pattern="^[0-9a-f]{32}$", description="The media's `id`.")],
) -> Response:
    """An uploaded image's files (public, like the entries that show it); `html` is a figure
    without alt text or caption, which an entry needs before it is published."""
    service = media_of(request)
    media = await service.get(media_id)
    uploaded = Uploaded(media, service.figure(media))
    return json_response(uploaded_json(request, uploaded))
