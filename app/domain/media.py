"""Uploaded media as entries show it: what a stored image is, where its files are found, and the
`<figure>` markup that shows it at the right size on every screen.

An upload is kept as a few files (app/domain/images.py): WebP renditions at several widths, for
`srcset`, and one fallback (JPEG, or PNG for transparency) at the largest width, for `src`. Each
file is named by the hash of its bytes, so a name is a file's identity for ever: the files are
served as immutable, and the same photo uploaded twice is stored once.

A body refers to media by URL: `/media/<name>` on this origin, or under
LIVEBLOG_MEDIA_PUBLIC_URL when a CDN serves them. The sanitizer (domain/sanitize.py) keeps an
`<img>`'s `srcset` only when every candidate is such a URL or another absolute http(s) one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from html import escape as _escape
from typing import Any

# What every stored file is called: 32 hex digits of its SHA-256, then its type's extension.
NAME = re.compile(r"[0-9a-f]{32}\.(?:webp|jpg|png|gif)")
CONTENT_TYPES = {
    "webp": "image/webp",
    "jpg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
}
LOCAL_PREFIX = "/media/"  # where this origin serves them (app/web/media.py)

# How wide an entry's image is drawn (static/liveblog.css): on a wide screen the column (42rem)
# less the time beside it (6.5rem and a 1.25rem gap), else the screen less the page's margins.
# The browser picks from `srcset` by it before layout.
SIZES = "(min-width: 48rem) 34.25rem, calc(100vw - 2rem)"

# A caption's credit, as the console writes it into Markdown: `"Caption | Photo: Reuters"`.
CREDIT_SEPARATOR = " | "

CARD_IMAGE = "embed-card__image"  # a link card's picture (domain/markdown.py): decorative

ALT_MAX = 1000
CAPTION_MAX = 1000
CREDIT_MAX = 200


@dataclass(frozen=True, slots=True)
class MediaFile:
    name: str
    width: int
    height: int
    content_type: str
    size: int  # bytes

    @property
    def is_rendition(self) -> bool:
        """One of the `srcset` sizes (WebP); the other file is the fallback."""
        return self.content_type == "image/webp"


@dataclass(frozen=True, slots=True)
class Media:
    id: str  # the upload's own hash: the same bytes uploaded again are this media again
    source_type: str  # what was uploaded, judged by content
    width: int
    height: int
    animated: bool
    files: tuple[MediaFile, ...]
    created_at: datetime
    created_by: str

    @property
    def fallback(self) -> MediaFile:
        return next(f for f in reversed(self.files) if not f.is_rendition)

    @property
    def renditions(self) -> tuple[MediaFile, ...]:
        return tuple(sorted((f for f in self.files if f.is_rendition), key=lambda f: f.width))


def escape(text: str) -> str:
    """Escaped as the sanitizer writes it (`'` left alone), so markup made here is stored as is."""
    return _escape(text, quote=False).replace('"', "&quot;")


def content_type_of(name: str) -> str:
    return CONTENT_TYPES[name.rsplit(".", 1)[1]]


class MediaUrls:
    """Turns stored names into the URLs bodies carry, and finds the name in such a URL."""

    def __init__(self, public_url: str | None = None) -> None:
        # With a CDN in front, bodies carry its absolute URLs; otherwise this origin's path.
        self.prefix = public_url.rstrip("/") + "/" if public_url else LOCAL_PREFIX

    def url(self, name: str) -> str:
        return self.prefix + name

    def name_in(self, url: str) -> str | None:
        """The stored name `url` points to, or None when it is no media of ours. Both forms are
        recognised whatever the setting is now: bodies keep the URLs they were written with."""
        for prefix in (self.prefix, LOCAL_PREFIX):
            if url.startswith(prefix) and NAME.fullmatch(name := url[len(prefix) :]):
                return name
        return None

    def names_in(self, text: str) -> set[str]:
        """Every stored name `text` mentions (Markdown or HTML): the candidates to look up."""
        return {match[0] for match in NAME.finditer(text)}


def srcset(media: Media, url: Callable[[str], str]) -> str:
    return ", ".join(f"{url(f.name)} {f.width}w" for f in media.renditions)


def split_caption(title: str) -> tuple[str, str]:
    """A Markdown image title as (caption, credit): `"Smoke over the port | Photo: Reuters"`."""
    caption, _, credit = title.partition(CREDIT_SEPARATOR.strip())
    return " ".join(caption.split()), " ".join(credit.split())


def figure_html(
    media: Media, url: Callable[[str], str], *, alt: str, caption: str = "", credit: str = ""
) -> str:
    """The `<figure>` that shows `media`: the fallback as `src`, the WebP sizes as `srcset`, its
    size in pixels so the page reserves its box before it loads (no layout shift), and the
    caption with the credit in small print. Exactly what the sanitizer keeps, byte for byte."""
    image = media.fallback
    attributes = (
        f'src="{escape(url(image.name))}" srcset="{escape(srcset(media, url))}" '
        f'sizes="{SIZES}" width="{media.width}" height="{media.height}" '
        f'alt="{escape(alt)}" decoding="async" loading="lazy"'
    )
    figcaption = caption_html(caption, credit)
    return f"<figure><img {attributes}>{figcaption}</figure>"


def caption_html(caption: str, credit: str) -> str:
    parts = [escape(caption)] if caption else []
    if credit:
        parts.append(f"<small>{escape(credit)}</small>")
    return f"<figcaption>{' '.join(parts)}</figcaption>" if parts else ""


def as_json(media: Media, url: Callable[[str], str]) -> dict[str, Any]:
    return {
        "id": media.id,
        "url": url(media.fallback.name),
        "srcset": srcset(media, url),
        "sizes": SIZES,
        "width": media.width,
        "height": media.height,
        "content_type": media.fallback.content_type,
        "source_type": media.source_type,
        "animated": media.animated,
        "files": [
            {
                "url": url(f.name),
                "width": f.width,
                "height": f.height,
                "content_type": f.content_type,
                "bytes": f.size,
            }
            for f in media.files
        ],
        "created_at": media.created_at.isoformat(),
    }


# A tag of sanitized HTML: its attribute values are in double quotes, and may hold ">".
_IMG = re.compile(r'<img\b(?:[^>"]|"[^"]*")*>', re.IGNORECASE)
_ATTRIBUTE = re.compile(r'\s([a-z-]+)="([^"]*)"')


def images_without_alt(html: str, urls: MediaUrls) -> Iterable[str]:
    """The URLs of our media that `html` (sanitized: nh3 quotes every attribute with `"` and
    escapes `"` inside) shows without alt text. A reader who cannot see the photo must be told
    what it shows, so such a body is not published."""
    for tag in _IMG.findall(html):
        attributes = dict(_ATTRIBUTE.findall(tag))
        if attributes.get("class") == CARD_IMAGE:
            continue  # a link card's picture: the card's title says what it is
        src = attributes.get("src", "")
        if urls.name_in(src) is not None and not attributes.get("alt", "").strip():
            yield src
