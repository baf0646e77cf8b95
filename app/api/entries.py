"""REST: entries of a liveblog."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from app.api.deps import Entries, Writer
from app.api.responses import json_response
from app.api.schemas import EntryCreate, EntryList, EntryOut, EntryPatch

router = APIRouter(prefix="/api/liveblogs/{slug}/entries", tags=["entries"])

PAGE_LIMIT_MAX = 100


@router.post("", status_code=201, response_model=EntryOut)
async def create_entry(slug: str, body: EntryCreate, _writer: Writer, service: Entries) -> Response:
    entry = await service.create(
        slug,
        title=body.title,
        body=body.body,
        author=body.author,
        pinned=body.pinned,
        key_event=body.key_event,
    )
    return json_response(
        entry.as_json(), 201, headers={"Location": f"/api/liveblogs/{slug}/entries/{entry.id}"}
    )


@router.get("", response_model=EntryList)
async def list_entries(
    slug: str,
    service: Entries,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = 20,
    before: Annotated[
        int | None, Query(ge=0, description="`next_before` of the previous page.")
    ] = None,
    since: Annotated[
        int | None,
        Query(
            ge=0,
            description="Every entry changed after this seq, tombstones included, oldest "
            "change first (instead of the newest-first page).",
        ),
    ] = None,
    pinned: Annotated[bool | None, Query(description="Only pinned (or unpinned) entries.")] = None,
    key_event: Annotated[bool | None, Query(description="Only key events (or others).")] = None,
) -> Response:
    if since is not None:
        changed = await service.since(slug, since=since, limit=limit)
        return json_response(
            {
                "seq": changed.head,
                "entries": [entry.as_json() for entry in changed.entries],
                "next_since": changed.next_since,
            }
        )
    page = await service.page(slug, before=before, limit=limit, pinned=pinned, key_event=key_event)
    return json_response(
        {
            "seq": page.head,
            "entries": [entry.as_json() for entry in page.entries],
            "next_before": page.next_before,
        }
    )


@router.get("/{entry_id}", response_model=EntryOut)
async def get_entry(slug: str, entry_id: int, service: Entries) -> Response:
    return json_response((await service.get(slug, entry_id)).as_json())


@router.patch("/{entry_id}", response_model=EntryOut)
async def update_entry(
    slug: str, entry_id: int, body: EntryPatch, _writer: Writer, service: Entries
) -> Response:
    entry = await service.update(slug, entry_id, body.model_dump(exclude_unset=True))
    return json_response(entry.as_json())


@router.delete("/{entry_id}", response_model=EntryOut)
async def delete_entry(slug: str, entry_id: int, _writer: Writer, service: Entries) -> Response:
    return json_response((await service.delete(slug, entry_id)).as_json())
