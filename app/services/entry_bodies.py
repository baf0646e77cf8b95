"""An entry's body: the HTML it is stored as (sanitized, within the size limit), made from the
console's Markdown or sent as HTML by a tool. Refusals name the field, as request validation
does, so a form shows them beside it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

from app.domain import entries as rules, markdown
from app.domain.link_previews import ShownPreview
from app.domain.media import Media, MediaUrls
from app.errors import PayloadTooLarge, Unprocessable


def _about(field: str, message: str) -> dict[str, Any]:
    return {"errors": [{"field": field, "in": "body", "message": message}]}


def clean_body(raw: str, limit: int) -> str:
    """The sanitized body; raises PayloadTooLarge (413) or Unprocessable (empty, 422)."""
    try:
        return rules.clean_body(raw, limit)
    except rules.BodyTooLarge as error:
        raise PayloadTooLarge(str(error), extra=_about("body", str(error))) from None
    except rules.BodyEmpty as error:
        raise Unprocessable(str(error), extra=_about("body", str(error))) from None


async def from_markdown(
    source: str,
    limit: int,
    *,
    media: Mapping[str, Media] | None = None,
    urls: MediaUrls | None = None,
    link_previews: Mapping[str, ShownPreview] | None = None,
) -> str:
    """The HTML of a journalist's Markdown `source`, refused (413) past `limit` bytes; made off
    the event loop: a long or pathological text takes a while, and the loop serves every
    reader. The HTML is sanitized where it is stored (clean_body), like any other."""
    size = len(source.encode())
    if size > limit:
        raise PayloadTooLarge(
            f"Entry body is {size} bytes; the limit is {limit} bytes.",
            extra=_about("source", f"is over {limit} bytes"),
        )
    return await asyncio.to_thread(markdown.to_html, source, media, urls, link_previews)


# A line that is one http(s) URL: what Markdown makes a link card of (domain/markdown.py).
_BARE_URL_LINE = re.compile(r"^[ \t]*<?(https?://[^\s<>]+?)>?[ \t]*$", re.MULTILINE | re.IGNORECASE)


def bare_urls(source: str) -> set[str]:
    """The URLs on lines of their own in `source`: the links whose previews a card may show."""
    return set(_BARE_URL_LINE.findall(source[:1_000_000]))
