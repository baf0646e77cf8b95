"""REST: entries of a liveblog, and their revisions."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import Path, Query, Request
from starlette.responses import Response

from app.api.deps import (
    JsonBody,
    OptionalIdempotencyKey,
    Precondition,
    TokenHolder,
    TokenWriter,
)
from app.api.responses import json_response, problems, reply_response, versioned
from app.api.schemas import (
    EntryCreate,
    EntryList,
    EntryOut,
    EntryPatch,
    EntrySearchResults,
    RevisionList,
    SlugPath,
)
from app.domain.model import EPOCH_MAX, MAX_ID, Entry
from app.domain.preconditions import etag
from app.domain.search import QUERY_MAX
from app.errors import Gone
from app.routing import Router
from app.services.idempotency import Reply
from app.state import entries_of

router = Router(prefix="/api/liveblogs/{slug}/entries", tags=["entries"])
# A resource of its own rather than `q` on the entry list: that list also serves the `since`
# feed, which a search cannot be combined with, so here every well-formed search is answered
# (200, or 404 for an unknown liveblog) instead of refusing some combinations of parameters.
search_router = Router(prefix="/api/liveblogs/{slug}/search", tags=["entries"])

PAGE_LIMIT_MAX = 100

# Out of range or not a number: 404, like any id that does not exist (errors.py).
EntryId = Annotated[int, Path(ge=1, le=MAX_ID, description="The entry's `id`.")]


def _created(slug: str, entry: Entry) -> Reply:
    return versioned(
        entry.as_json(), entry.epoch, 201, Location=f"/api/liveblogs/{slug}/entries/{entry.id}"
    )


@router.post(
    "",
    status_code=201,
    response_model=EntryOut,
    responses=problems(400, 401, 403, 404, 409, 410, 413, 415, 422, 429, 503),
)
async def create_entry(
    request: Request,
    slug: SlugPath,
    body: EntryCreate,
    caller: TokenWriter,
    _sent_as_json: JsonBody,
    key: OptionalIdempotencyKey,
) -> Response:
    entry = await entries_of(request).create(
        slug,
        title=body.title,
        body=body.body,
        author=body.author,
        pinned=body.pinned,
        key_event=body.key_event,
        by=caller,
        once=key.guard(caller, partial(_created, slug)) if key else None,
    )
    return reply_response(_created(slug, entry))


@router.get("", response_model=EntryList, responses=problems(404, 409, 422))
async def list_entries(
    request: Request,
    slug: SlugPath,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = 20,
    before: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="`next_before` of the previous page.")
    ] = None,
    since: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_ID,
            description="Every entry changed after this seq, tombstones included, oldest "
            "change first (instead of the newest-first page).",
        ),
    ] = None,
    epoch: Annotated[
        str | None,
        Query(
            max_length=EPOCH_MAX,
            description="With `since`: the `epoch` that seq was read in. If the liveblog's "
            "history has been replaced since (a restore, a copy), the answer is 409 with "
            '`reason: "epoch_changed"` and the current `epoch` and `seq`: reload the entries '
            "instead. Without it, `since` is taken to be of the current epoch.",
        ),
    ] = None,
    pinned: Annotated[bool | None, Query(description="Only pinned (or unpinned) entries.")] = None,
    key_event: Annotated[bool | None, Query(description="Only key events (or others).")] = None,
) -> Response:
    service = entries_of(request)
    if since is not None:
        changed = await service.since(slug, since=since, limit=limit, epoch=epoch)
        return json_response(
            {
                "seq": changed.head,
                "epoch": changed.epoch,
                "entries": [entry.as_json() for entry in changed.entries],
                "next_since": changed.next_since,
            }
        )
    page = await service.page(slug, before=before, limit=limit, pinned=pinned, key_event=key_event)
    return json_response(
        {
            "seq": page.head,
            "epoch": page.epoch,
            "entries": [entry.as_json() for entry in page.entries],
            "next_before": page.next_before,
        }
    )


@router.get("/{entry_id}", response_model=EntryOut, responses=problems(404, 410))
async def get_entry(request: Request, slug: SlugPath, entry_id: EntryId) -> Response:
    """The entry, with its version as `ETag` (send it back in If-Match to edit safely).

    A deleted entry is 410 Gone, with its tombstone as `entry` (the `since` feed lists
    tombstones as entries, so readers catching up learn of deletions)."""
    entry = await entries_of(request).get(slug, entry_id)
    if entry.deleted:
        raise Gone(
            f"Entry {entry_id} of liveblog {slug!r} was deleted.",
            headers={"ETag": etag(entry.version, entry.epoch)},
            extra={"entry": entry.as_json()},
        )
    return reply_response(versioned(entry.as_json(), entry.epoch))


@router.patch(
    "/{entry_id}",
    response_model=EntryOut,
    responses=problems(400, 401, 403, 404, 409, 412, 413, 415, 422, 428, 429, 503),
)
async def update_entry(
    request: Request,
    slug: SlugPath,
    entry_id: EntryId,
    body: EntryPatch,
    caller: TokenWriter,
    _sent_as_json: JsonBody,
    if_match: Precondition,
) -> Response:
    """Change some fields. With If-Match, only if nobody changed the entry since (else 412)."""
    entry = await entries_of(request).update(
        slug, entry_id, body.model_dump(exclude_unset=True), by=caller, if_match=if_match
    )
    return reply_response(versioned(entry.as_json(), entry.epoch))


@router.delete(
    "/{entry_id}",
    response_model=EntryOut,
    responses=problems(400, 401, 403, 404, 412, 422, 428, 429, 503),
)
async def delete_entry(
    request: Request,
    slug: SlugPath,
    entry_id: EntryId,
    caller: TokenWriter,
    if_match: Precondition,
    purge: Annotated[
        bool,
        Query(
            description="Also erase the entry's revisions (a legal takedown; admin tokens only). "
            "One `purged` revision records who did it and when."
        ),
    ] = False,
) -> Response:
    """Replace the entry by a tombstone (readers get `entry.deleted`); revisions are kept."""
    entry = await entries_of(request).delete(
        slug, entry_id, by=caller, if_match=if_match, purge=purge
    )
    return reply_response(versioned(entry.as_json(), entry.epoch))


@router.get(
    "/{entry_id}/revisions",
    response_model=RevisionList,
    responses=problems(401, 403, 404, 422),
)
async def list_revisions(
    request: Request, slug: SlugPath, entry_id: EntryId, caller: TokenHolder
) -> Response:
    """Who changed the entry, when, and what: every stored change, oldest first."""
    entry, revisions = await entries_of(request).revisions(slug, entry_id, by=caller)
    return json_response(
        {"entry_id": entry.id, "revisions": [revision.as_json() for revision in revisions]}
    )


@search_router.get("", response_model=EntrySearchResults, responses=problems(404, 422))
async def search_entries(
    request: Request,
    slug: SlugPath,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=QUERY_MAX,
            description="Words to find in entry titles and bodies (their text, not their "
            "markup). Every word must occur; the last one may be the beginning of a word "
            '("evac" finds "evacuation"). Case and accents are ignored; there are no '
            "operators (quotes, `AND`, `-`, `*` are only separators). A query without words "
            "finds nothing.",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = 20,
    before: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="`next_before` of the previous page.")
    ] = None,
) -> Response:
    """Search the liveblog's published entries, newest first, paged like the entry list."""
    page = await entries_of(request).search(slug, q, before=before, limit=limit)
    return json_response(
        {
            "seq": page.head,
            "epoch": page.epoch,
            "entries": [entry.as_json() for entry in page.entries],
            "next_before": page.next_before,
        }
    )
