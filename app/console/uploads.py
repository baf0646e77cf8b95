"""The console's media: a journalist's photo, dropped, pasted or picked (on a phone, taken),
through the same service as the API's (services/media.py), which console.js puts into the
entry's Markdown as `![alt](url "caption | credit")`; and a link's preview for its card."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import File, Form, Request, UploadFile
from pydantic import BaseModel, Field
from starlette.responses import Response

from app.console.deps import Reader, Writer
from app.domain.link_previews import URL_MAX
from app.domain.media import ALT_MAX, CAPTION_MAX, CREDIT_MAX
from app.routing import Router
from app.state import link_previews_of, media_of
from app.uploads import FormBody, read_upload, uploaded_json

router = Router(prefix="/console", include_in_schema=False)


@router.post("/media")
async def upload(
    request: Request,
    by: Reader,  # the upload limit is the service's own (LIVEBLOG_UPLOADS_PER_MINUTE)
    _sent_as_form: FormBody,
    file: Annotated[UploadFile, File()],
    alt: Annotated[str, Form(max_length=ALT_MAX)] = "",
    caption: Annotated[str, Form(max_length=CAPTION_MAX)] = "",
    credit: Annotated[str, Form(max_length=CREDIT_MAX)] = "",
) -> Response:
    data = await read_upload(request, file)
    uploaded = await media_of(request).upload(data, by=by, alt=alt, caption=caption, credit=credit)
    body = orjson.dumps(uploaded_json(request, uploaded))
    return Response(body, status_code=201, media_type="application/json")


class LinkPreviewForm(BaseModel):
    url: str = Field(min_length=1, max_length=URL_MAX)


@router.post("/link-previews")
async def link_preview(request: Request, form: LinkPreviewForm, by: Writer) -> Response:
    """Fetch a link's title and image for its card, now, while the journalist composes; the
    preview then shows the card as readers will (and as the entry stores it)."""
    shown = await link_previews_of(request).fetch(form.url, by=by)
    preview = shown.preview
    body = {
        "url": preview.url,
        "title": preview.title,
        "site_name": preview.site_name,
        "image": media_of(request).urls.url(shown.image.fallback.name) if shown.image else None,
    }
    return Response(orjson.dumps(body), media_type="application/json")
