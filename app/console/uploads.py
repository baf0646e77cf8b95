"""The console's upload: a journalist's photo, dropped, pasted or picked (on a phone, taken),
through the same service as the API's (services/media.py). console.js puts the answer into
the entry's Markdown as `![alt](url "caption | credit")`."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import File, Form, Request, UploadFile
from starlette.responses import Response

from app.console.deps import Reader
from app.domain.media import ALT_MAX, CAPTION_MAX, CREDIT_MAX
from app.routing import Router
from app.state import media_of
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
