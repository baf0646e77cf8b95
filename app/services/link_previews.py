"""Link cards worth clicking: a link's page title and image, fetched once, when a journalist
composes, and kept with the link (domain/link_previews.py).

The fetch goes through app/outbound.py, which refuses the newsroom's own network (loopback,
private, link-local addresses, after DNS and on every redirect), reads little and gives up fast.
The page's image is stored as our own media, so readers' browsers load nothing from the linked
site: readers never cause a fetch, of ours or of theirs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from app.domain import embeds
from app.domain.link_previews import URL_MAX, LinkPreview, ShownPreview, summarize
from app.domain.media import Media
from app.domain.policy import Action
from app.domain.principal import Principal
from app.errors import BadGateway, LiveblogError, Unprocessable
from app.outbound import Outbound, OutboundFailed, OutboundRefused
from app.services.media import MediaService
from app.services.permissions import require
from app.services.writes import utcnow
from app.storage import link_previews as rows, media as media_rows
from app.storage.db import Database

log = logging.getLogger(__name__)

PAGE_BYTES = 512 * 1024  # the head of a page is in its first bytes; a preview needs no more
IMAGE_BYTES = 5 * 1024 * 1024
HTML_TYPES = ("text/html", "application/xhtml+xml")


class LinkPreviewService:
    def __init__(self, db: Database, outbound: Outbound, media: MediaService) -> None:
        self._db = db
        self._outbound = outbound
        self._media = media

    async def fetch(self, url: str, *, by: Principal) -> ShownPreview:
        """Fetch `url`'s title and image now and keep them for its link card.

        Raises Unprocessable (a URL that may not be fetched: not http(s), or an address of the
        newsroom's own network) or BadGateway (the page could not be read)."""
        require(by, Action.FETCH_LINK_PREVIEW)
        url = url.strip()
        if len(url) > URL_MAX:
            raise Unprocessable(f"The URL is over {URL_MAX} characters.")
        if embeds.match(url) is not None:
            # Footage and posts get the provider's player, not a card: nothing to fetch.
            return ShownPreview(LinkPreview(url, None, None, None, utcnow()), None)
        try:
            page = await self._outbound.get(url, max_bytes=PAGE_BYTES, accept="text/html")
        except OutboundRefused as refused:
            raise Unprocessable(f"This link is not fetched: {refused}.") from None
        except OutboundFailed as failed:
            raise BadGateway(f"The page could not be read: {failed}.") from None
        kind, _, parameters = page.content_type.partition(";")
        if kind.strip().lower() not in HTML_TYPES:
            raise BadGateway(f"The link is not a web page (it is {kind.strip() or 'untyped'}).")
        charset = parameters.partition("charset=")[2].strip().strip('"') or "utf-8"
        summary = summarize(page.body, page.url, charset)
        image = await self._image(summary.image_url, by) if summary.image_url else None
        kept = image.id if image else None
        preview = LinkPreview(url, summary.title, summary.site_name, kept, utcnow())
        async with self._db.write() as conn:
            await rows.put(conn, preview)
        return ShownPreview(preview, image)

    async def _image(self, url: str, by: Principal) -> Media | None:
        """The page's image, stored as media; None when it cannot be had (the card shows the
        title alone rather than fail)."""
        try:
            fetched = await self._outbound.get(url, max_bytes=IMAGE_BYTES, accept="image/*")
            return await self._media.store(fetched.body, by=by)
        except (OutboundRefused, OutboundFailed, LiveblogError) as error:
            log.info("link preview image %s not kept: %s", url[:200], error)
            return None

    async def shown_for(self, urls: set[str]) -> Mapping[str, ShownPreview]:
        """The previews kept for `urls` (what a body's bare links are), with their images."""
        if not urls:
            return {}
        async with self._db.snapshot() as conn:
            previews = await rows.of_urls(conn, urls)
            shown = {}
            for url, preview in previews.items():
                image = await media_rows.get(conn, preview.media_id) if preview.media_id else None
                shown[url] = ShownPreview(preview, image)
        return shown
