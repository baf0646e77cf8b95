"""What a linked page says of itself, for its link card: its title, its site's name and its
image, from Open Graph tags (`og:title`, `og:site_name`, `og:image`) or else its `<title>`.

Read from the first bytes of the page with the standard library's tolerant HTML parser: a page is
someone else's markup, so anything it holds is only text here, trimmed to the lengths kept.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from app.domain.media import Media

TITLE_MAX = 300
SITE_MAX = 200
URL_MAX = 2048


@dataclass(frozen=True, slots=True)
class PageSummary:
    title: str | None
    site_name: str | None
    image_url: str | None  # absolute http(s)


@dataclass(frozen=True, slots=True)
class LinkPreview:
    url: str
    title: str | None
    site_name: str | None
    media_id: str | None  # the page's image, stored as our own media
    fetched_at: datetime


@dataclass(frozen=True, slots=True)
class ShownPreview:
    """A preview as a link card shows it: the page's words, and its image if it had one."""

    preview: LinkPreview
    image: Media | None


def preview_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:32]


class _Head(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag == "meta":
            found = {name: value or "" for name, value in attrs}
            key = (found.get("property") or found.get("name") or "").strip().lower()
            if key and key not in self.meta and "content" in found:
                self.meta[key] = found["content"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title and len(self.title) < 4 * TITLE_MAX:
            self.title += data


def _text(value: str | None, limit: int) -> str | None:
    text = " ".join((value or "").split())
    if len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0] + "…"
    return text or None


def summarize(page: bytes, url: str, charset: str = "utf-8") -> PageSummary:
    """The title, site name and image URL `page` (the start of an HTML document at `url`)
    gives; None for each it does not."""
    head = _Head()
    try:
        head.feed(page.decode(charset or "utf-8", errors="replace"))
        head.close()
    except (LookupError, AssertionError):  # an unknown charset; the parser's own limits
        pass
    image = head.meta.get("og:image") or head.meta.get("twitter:image")
    image_url = None
    if image:
        absolute = urljoin(url, image.strip())
        if urlsplit(absolute).scheme in ("http", "https") and len(absolute) <= URL_MAX:
            image_url = absolute
    return PageSummary(
        title=_text(
            head.meta.get("og:title") or head.meta.get("twitter:title") or head.title, TITLE_MAX
        ),
        site_name=_text(head.meta.get("og:site_name"), SITE_MAX),
        image_url=image_url,
    )
