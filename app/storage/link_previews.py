"""Named queries over link previews (domain/link_previews.py)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Row, delete, insert as insert_into, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.link_previews import LinkPreview, preview_id
from app.storage.models import LinkPreviewRow


def _preview(row: Row[Any]) -> LinkPreview:
    return LinkPreview(row.url, row.title, row.site_name, row.media_id, row.fetched_at)


async def of_urls(conn: AsyncConnection, urls: Collection[str]) -> dict[str, LinkPreview]:
    """The stored previews of `urls`, by URL."""
    if not urls:
        return {}
    ids = {preview_id(url): url for url in urls}
    rows = await conn.execute(select(LinkPreviewRow).where(LinkPreviewRow.id.in_(ids)))
    return {row.url: _preview(row) for row in rows if row.url in urls}


async def put(conn: AsyncConnection, preview: LinkPreview) -> None:
    """Store `preview`, replacing an earlier one of the same URL."""
    key = preview_id(preview.url)
    await conn.execute(delete(LinkPreviewRow).where(LinkPreviewRow.id == key))
    await conn.execute(
        insert_into(LinkPreviewRow).values(
            id=key,
            url=preview.url,
            title=preview.title,
            site_name=preview.site_name,
            media_id=preview.media_id,
            fetched_at=preview.fetched_at,
        )
    )
