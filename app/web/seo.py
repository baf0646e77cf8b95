"""What search engines and social previews read: schema.org JSON-LD and page summaries."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

import orjson

from app.domain.model import Entry, Liveblog, iso_utc
from app.domain.sanitize import plain_text
from app.render import headline

DESCRIPTION_CHARS = 200
_IMG_SRC = re.compile(r'<img[^>]*\ssrc="(https?://[^"]+)"')


class Social(NamedTuple):
    """What a shared link previews as (Open Graph / Twitter card), and the canonical URL."""

    title: str
    description: str
    url: str
    image: str | None


def summary(liveblog: Liveblog, entries: list[Entry]) -> str:
    if liveblog.description:
        return plain_text(liveblog.description, DESCRIPTION_CHARS)
    for entry in entries:
        text = plain_text(entry.body, DESCRIPTION_CHARS)
        if text:
            return text
    return liveblog.title


def first_image(entries: list[Entry]) -> str | None:
    for entry in entries:
        found = _IMG_SRC.search(entry.body)
        if found:
            return found.group(1)
    return None


def live_blog_posting(
    liveblog: Liveblog, entries: list[Entry], url: str, entry_url: Callable[[Entry], str]
) -> dict[str, Any]:
    """schema.org LiveBlogPosting with one BlogPosting per update shown."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "LiveBlogPosting",
        "@id": url,
        "url": url,
        "headline": liveblog.title,
        "description": summary(liveblog, entries),
        "datePublished": iso_utc(liveblog.created_at),
        "dateModified": iso_utc(liveblog.updated_at),
        "coverageStartTime": iso_utc(liveblog.created_at),
        "liveBlogUpdate": [
            {
                "@type": "BlogPosting",
                "@id": entry_url(entry),
                "url": entry_url(entry),
                "headline": headline(entry),
                "articleBody": plain_text(entry.body),
                "datePublished": iso_utc(entry.created_at),
                "dateModified": iso_utc(entry.updated_at),
                **({"author": {"@type": "Person", "name": entry.author}} if entry.author else {}),
            }
            for entry in entries
        ],
    }
    if entries:
        data["dateModified"] = max(
            data["dateModified"], *(u["dateModified"] for u in data["liveBlogUpdate"])
        )
    if liveblog.ended_at is not None:
        data["coverageEndTime"] = iso_utc(liveblog.ended_at)
    return data


def script_json(data: Any) -> str:
    """JSON safe inside <script>: no '</script>' or HTML comment can close it early."""
    text = orjson.dumps(data).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
