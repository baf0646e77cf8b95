"""What the API and the console share about uploads: a form body, the file read within its
limit, and the answer both give."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, UploadFile

from app.domain.media import as_json
from app.errors import PayloadTooLarge, UnsupportedMediaType
from app.services.media import Uploaded
from app.state import media_of, settings_of

MULTIPART = "multipart/form-data"


async def multipart_body(request: Request) -> None:
    """Refuses an upload not sent as a form with 415 naming the type to send (FastAPI would
    answer that the field `file` is missing, which does not say what to change)."""
    sent = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if sent == MULTIPART:
        return
    told = f"The body was sent as {sent[:80]!r}." if sent else "The request has no Content-Type."
    raise UnsupportedMediaType(
        f"{told} Send the image as a form, Content-Type: {MULTIPART}, in the field `file`.",
        method=request.method,
        accepted=MULTIPART,
    )


def uploaded_json(request: Request, uploaded: Uploaded) -> dict[str, Any]:
    """The upload as both edges answer it (the console's upload too)."""
    return {**as_json(uploaded.media, media_of(request).urls.url), "html": uploaded.html}


async def read_upload(request: Request, file: UploadFile) -> bytes:
    """The file's bytes, within LIVEBLOG_MAX_UPLOAD_BYTES (the request as a whole was held to
    it before it was read: middleware/body_limit.py)."""
    limit = settings_of(request).max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"The file is over {limit} bytes (LIVEBLOG_MAX_UPLOAD_BYTES).")
    return data


FormBody = Annotated[None, Depends(multipart_body)]
